/**
 * Raw HTTP/2 connections whose header block fails (an upper-case or connection-specific header, a
 * pseudo-header after a regular one, a bad SETTINGS value before the request) must not abort the
 * server. Node 20 aborts when a collection frees such a session before its failed stream
 * (src/transport/grpc/session-hold.ts); the server runs here with a 1 MiB young generation, so
 * collections are frequent, and without the hold it aborts within one or two thousand of these.
 */
import assert from 'node:assert/strict';
import { chmodSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { healthClient, unaryCall } from '../helpers/grpc.js';
import { removeDir, startServer, tempDir } from '../helpers/server.js';
import { WAIT_MS, withTimeout } from '../helpers/wait.js';
import { h2frame, hpack, PREFACE, u32 } from '../reliability/fuzz/grpc.js';

const REQUEST: Array<[string, string]> = [
  [':method', 'POST'],
  [':scheme', 'http'],
  [':path', '/engram.v3.EngramService/GetContext'],
  [':authority', 'x'],
  ['content-type', 'application/grpc'],
  ['te', 'trailers'],
];

/** A connection's bytes: preface, SETTINGS, a HEADERS that fails one way, DATA, GOAWAY. */
function connectionBytes(kind: number): Buffer {
  let headers = REQUEST;
  let settings = h2frame(4, 0, 0, Buffer.alloc(0));
  if (kind === 0) headers = [...REQUEST, ['Upper-Case', 'x']];
  if (kind === 1) headers = [...REQUEST, ['connection', 'keep-alive']];
  if (kind === 2) headers = [...REQUEST].reverse();
  // SETTINGS_INITIAL_WINDOW_SIZE above 2^31-1: a connection error while the request is read.
  if (kind === 3) settings = h2frame(4, 0, 0, Buffer.concat([Buffer.from([0, 4]), u32(0x80000000)]));
  const message = Buffer.from([0, 0, 0, 0, 2, 0x0a, 0x00]);
  return Buffer.concat([PREFACE, settings, h2frame(1, 4, 1, hpack(headers)), h2frame(0, 1, 1, message), h2frame(7, 0, 0, Buffer.concat([u32(0), u32(0)]))]);
}

/** Sends one connection's bytes, half-closes, and resolves when the server has closed it. */
function badConnection(port: number, kind: number): Promise<void> {
  return new Promise((done) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.on('error', () => {});
    socket.on('data', () => {});
    socket.on('close', () => done());
    socket.write(connectionBytes(kind), () => socket.end());
  });
}

test('hostile HTTP/2 header blocks on the gRPC port, with frequent collections: the server lives and serves', { timeout: 5 * WAIT_MS }, async () => {
  // The launcher, with a young generation of 1 MiB: a scavenge every few hundred connections.
  const dir = tempDir('engram-gc-');
  const bin = join(dir, 'engram');
  writeFileSync(bin, `#!/bin/sh\nexec node --max-semi-space-size=1 ${resolve(import.meta.dirname, '../../src/main.js')} "$@"\n`);
  chmodSync(bin, 0o755);
  const server = await startServer({ bin, args: ['--search-enabled', 'false'] });
  let stderr = '';
  server.proc.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  let exited: string | undefined;
  server.proc.once('exit', (code, signal) => (exited = `${code ?? signal}`));
  const port = Number(server.grpcAddr.slice(server.grpcAddr.lastIndexOf(':') + 1));
  try {
    const COUNT = 4000;
    let next = 0;
    const worker = async () => {
      while (next < COUNT && exited === undefined) await badConnection(port, next++ % 4);
    };
    await withTimeout(Promise.all(Array.from({ length: 16 }, worker)), 4 * WAIT_MS, 'the hostile connections');
    assert.equal(exited, undefined, `the server is alive after ${next} hostile connections; stderr: ${stderr}`);
    const health = healthClient(server.grpcAddr);
    try {
      assert.equal((await unaryCall(health, 'Check', { service: '' }).response).status, 'SERVING');
    } finally {
      health.close();
    }
  } finally {
    const code = await server.stop();
    removeDir(server.dataDir);
    removeDir(dir);
    assert.equal(code, 0, `the server exits cleanly; stderr: ${stderr}`);
  }
});
