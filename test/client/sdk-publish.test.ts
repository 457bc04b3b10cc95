/**
 * EngramClient.publish: writes over the client's WebSocket (the stream's `publish` op) against a
 * real server: stored like write(), bad input refused with its code, API keys honoured, a server
 * restart seen as UNAVAILABLE and then a new socket, and an idle socket that does not keep the
 * process alive.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, test } from 'node:test';
import { EngramClient, EngramClientError } from '../../src/client/index.js';
import { removeDir, serverPerFile, startOnFixedPort, startServer, tempDir } from '../helpers/server.js';
import { eventually, WAIT_MS, withTimeout } from '../helpers/wait.js';

const env = serverPerFile();
const isCode = (code: string) => (e: unknown) => e instanceof EngramClientError && e.code === code;

describe('EngramClient.publish', () => {
  test('stores what write() would, in order, with idempotency keys; bad input is refused and stores nothing', async () => {
    const c = new EngramClient(env.server.url);
    try {
      const acks = await Promise.all(Array.from({ length: 50 }, (_, i) => c.publish({ contextId: 'pub', agentId: 'a', type: 'MESSAGE', payload: { i } })));
      assert.deepEqual(
        acks.map((a) => a.seq).sort((x, y) => x - y),
        Array.from({ length: 50 }, (_, i) => i + 1),
      );
      const page = await c.list('pub', { limit: 100 });
      assert.deepEqual(
        page.workUnits.map((u) => u.id),
        [...acks].sort((x, y) => x.seq - y.seq).map((a) => a.id),
      );
      const first = await c.publish({ contextId: 'pub', agentId: 'a', type: 'MESSAGE', payload: 'once', idempotencyKey: 'k1' });
      const again = await c.publish({ contextId: 'pub', agentId: 'a', type: 'MESSAGE', payload: 'once', idempotencyKey: 'k1' });
      assert.deepEqual([again.id, again.seq, again.replayed, first.replayed], [first.id, first.seq, true, false]);
      await assert.rejects(c.publish({ contextId: 'pub', agentId: 'a', type: 'NOPE' as 'MESSAGE', payload: 1 }), isCode('INVALID_FIELD'));
      await assert.rejects(c.publish({ contextId: 'pub', agentId: '', type: 'MESSAGE', payload: 1 }), isCode('INVALID_ID'));
      assert.equal((await c.getContext('pub')).headSeq, 51, 'nothing refused was stored');
    } finally {
      c.close();
    }
  });

  test('with API keys: refused without a key (its code, not a bare failure), stored with one', async () => {
    const dir = tempDir('engram-sdk-publish-');
    const key = `egk_${randomBytes(24).toString('base64url')}`;
    writeFileSync(
      join(dir, 'engram.yaml'),
      `auth:\n  mode: apikey\n  keys:\n    - {client: alice, hash: "sha256:${createHash('sha256').update(key).digest('hex')}", scopes: [read, write]}\n`,
    );
    const server = await startServer({ args: ['--config', join(dir, 'engram.yaml'), '--search-embedder', 'none'] });
    const anonymous = new EngramClient(server.url);
    const alice = new EngramClient(server.url, { token: key });
    try {
      await assert.rejects(anonymous.publish({ contextId: 'c', agentId: 'a', type: 'MESSAGE', payload: 1 }), isCode('UNAUTHENTICATED'));
      const ack = await alice.publish({ contextId: 'c', agentId: 'a', type: 'MESSAGE', payload: 1 });
      assert.equal((await alice.get(ack.id)).payload, 1);
    } finally {
      anonymous.close();
      alice.close();
      await server.stop();
      removeDir(server.dataDir);
      removeDir(dir);
    }
  });

  test('across a server restart: UNAVAILABLE while it is down, then a new socket', async () => {
    const dataDir = tempDir();
    const first = await startOnFixedPort((p) => ({ dataDir, args: ['--addr', `127.0.0.1:${p}`] }));
    const c = new EngramClient(first.server.url, { timeoutMs: 5_000 });
    let second;
    try {
      assert.equal((await c.publish({ contextId: 'r', agentId: 'a', type: 'MESSAGE', payload: 1 })).seq, 1);
      assert.equal(await first.server.stop(), 0);
      await assert.rejects(c.publish({ contextId: 'r', agentId: 'a', type: 'MESSAGE', payload: 2 }), isCode('UNAVAILABLE'));
      second = await startServer({ dataDir, args: ['--addr', `127.0.0.1:${first.port}`] });
      assert.equal((await c.publish({ contextId: 'r', agentId: 'a', type: 'MESSAGE', payload: 3 })).seq, 2);
    } finally {
      c.close();
      await second?.stop();
      removeDir(dataDir);
    }
  });

  test('a client used again after close(): every publish answered truly, no socket left open', async () => {
    const c = new EngramClient(env.server.url);
    const connections = async () => {
      const text = await (await fetch(`${env.server.url}/metrics`)).text();
      return Number(/^engram_stream_connections (\d+)/m.exec(text)?.[1]);
    };
    const before = await connections();
    let acked = 0;
    for (let round = 0; round < 10; round++) {
      const sent = [
        c.publish({ contextId: 'reuse', agentId: 'a', type: 'MESSAGE', payload: round }),
        c.publish({ contextId: 'reuse', agentId: 'a', type: 'MESSAGE', payload: -round }),
      ];
      acked += (await Promise.all(sent)).length;
      c.close();
    }
    // Closed while still connecting: nothing stays open either.
    const unanswered = c.publish({ contextId: 'reuse', agentId: 'a', type: 'MESSAGE', payload: 'last' });
    c.close();
    await unanswered.then(
      () => acked++,
      (e: unknown) => assert.ok(isCode('UNAVAILABLE')(e)),
    );
    assert.equal((await c.getContext('reuse')).headSeq, acked, 'each unit stored is a publish answered as stored');
    await eventually(async () => (await connections()) === before, WAIT_MS, 'the server to see every socket closed');
  });

  test('an idle socket does not keep the process alive', async () => {
    // A script that publishes once and never calls close(): it must end by itself.
    const script = `import { EngramClient } from ${JSON.stringify(resolve(import.meta.dirname, '../../src/client/index.js'))};
const c = new EngramClient(process.argv[1]);
const ack = await c.publish({ contextId: 'idle', agentId: 'a', type: 'MESSAGE', payload: 1 });
console.log('published', ack.seq);`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script, env.server.url], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const code = await withTimeout(new Promise<number | null>((r) => child.once('exit', r)), WAIT_MS, 'the script to exit by itself');
    assert.equal(code, 0);
    assert.match(out, /^published 1$/m);
  });
});
