#!/usr/bin/env bash
# Generates the static protobufjs code for proto/engram/v3/engram.proto into DIR (default
# src/generated): engram.js (encoders and decoders, ES module) and engram.d.ts (its types).
# `make proto` runs it; test/grpc/proto-fresh.test.ts fails when the committed files are stale.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="${1:-$root/src/generated}"
bin="$root/node_modules/.bin"
# Only what the server and clients use: no verify/fromObject/toObject, no delimited forms, no
# protobufjs RPC stubs (grpc-js service definitions are built from the message types).
flags=(-t static-module -w es6 --no-verify --no-convert --no-delimited --no-service -p "$root/proto")
mkdir -p "$out"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
# pbts reads the types from the JSDoc comments, so it gets a commented copy; the shipped code has none.
"$bin/pbjs" "${flags[@]}" -o "$tmp/engram.js" engram/v3/engram.proto
"$bin/pbts" -o "$out/engram.d.ts" "$tmp/engram.js"
"$bin/pbjs" "${flags[@]}" --no-comments -o "$out/engram.js" engram/v3/engram.proto
