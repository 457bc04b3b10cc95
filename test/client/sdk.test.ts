/** The TypeScript SDK against a real server: EngramClient (HTTP + WebSocket) and GrpcEngramClient. */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { binaryPayload, EngramClient, EngramClientError, GrpcEngramClient, type NewWorkUnit, type WorkUnit } from '../../src/client/index.js';
import { removeDir, startOnFixedPort, startServer, tempDir, type RunningServer } from '../helpers/server.js';
import { eventually, WAIT_MS, withTimeout } from '../helpers/wait.js';

const range = (a: number, b: number) => Array.from({ length: b - a + 1 }, (_, i) => a + i);
const unit = (contextId: string, payload: unknown, agentId = 'agent-a'): NewWorkUnit => ({ contextId, agentId, type: 'MESSAGE', payload });
const FAST_BACKOFF = { initialMs: 20, maxMs: 300 };

/** Takes `n` units from an iterator, with a timeout. */
async function take(it: AsyncIterator<WorkUnit>, n: number, ms = WAIT_MS): Promise<WorkUnit[]> {
  const out: WorkUnit[] = [];
  await withTimeout(
    (async () => {
      while (out.length < n) {
        const r = await it.next();
        if (r.done) throw new Error(`the subscription ended after ${out.length} units`);
        out.push(r.value);
      }
    })(),
    ms,
    `${n} units`,
  );
  return out;
}

/** A server on fixed ports (below the ephemeral range, so a restart can bind them again). */
async function startOnFixedPorts(dataDir: string): Promise<{ server: RunningServer; args: string[] }> {
  const args = (port: number) => ['--addr', `127.0.0.1:${port}`, '--grpc-addr', `127.0.0.1:${port + 1}`];
  const { server, port } = await startOnFixedPort((p) => ({ dataDir, args: args(p) }));
  return { server, args: args(port) };
}

for (const kind of ['http', 'grpc'] as const) {
  describe(`SDK over ${kind}`, () => {
    let server: RunningServer;
    let client: EngramClient | GrpcEngramClient;
    before(async () => {
      server = await startServer();
      client = kind === 'http' ? new EngramClient(server.url, { backoff: FAST_BACKOFF }) : new GrpcEngramClient(server.grpcAddr, { backoff: FAST_BACKOFF });
    });
    after(async () => {
      if (client instanceof GrpcEngramClient) client.close();
      await server.stop();
      removeDir(server.dataDir);
    });

    test('write, get, list, contexts: the same shapes on both wires', async () => {
      const ctx = `sdk-${kind}`;
      const a = await client.write({ ...unit(ctx, { text: 'plan the retry policy' }), meta: { topic: 'retries' }, idempotencyKey: 'k1' });
      assert.equal(a.replayed, false);
      assert.equal(a.workUnit.seq, 1);
      assert.deepEqual(a.workUnit.payload, { text: 'plan the retry policy' });
      const again = await client.write({ ...unit(ctx, { text: 'plan the retry policy' }), idempotencyKey: 'k1' });
      assert.equal(again.replayed, true);
      assert.equal(again.workUnit.id, a.workUnit.id);
      const bytes = new Uint8Array([0, 1, 2, 250, 255]);
      const b = await client.write({
        ...unit(ctx, binaryPayload(bytes, 'application/octet-stream'), 'agent-b'),
        type: 'FILE_CHANGE',
        relationships: [{ targetId: a.workUnit.id, type: 'RESPONDS_TO' }],
      });
      assert.deepEqual(await client.get(b.workUnit.id), b.workUnit);
      assert.deepEqual(Buffer.from((b.workUnit.payload as { $binary: string }).$binary, 'base64'), Buffer.from(bytes));
      assert.deepEqual(b.workUnit.relationships, [{ targetId: a.workUnit.id, type: 'RESPONDS_TO', meta: {} }]);
      const page = await client.list(ctx, { limit: 1, reverse: true });
      assert.deepEqual(
        page.workUnits.map((u) => u.seq),
        [2],
      );
      assert.equal(page.nextCursor, 2);
      const ctxView = await client.getContext(ctx);
      assert.equal(ctxView.headSeq, 2);
      assert.deepEqual(ctxView.agentIds, ['agent-a', 'agent-b']);
      const patched = await client.updateContext(ctx, { displayName: 'Retries', meta: { team: 'core' } }, { ifVersion: ctxView.version });
      assert.equal(patched.displayName, 'Retries');
      assert.deepEqual(patched.meta, { team: 'core' });
      await assert.rejects(client.updateContext(ctx, { displayName: 'x' }, { ifVersion: 999 }), (e: EngramClientError) => e.code === 'VERSION_MISMATCH');
      // A context made before its first unit; made again, what is given applies to the one that exists.
      const made = await client.createContext(`made-${kind}`, { displayName: 'Made', addAgents: ['planner'], meta: { stage: 'draft' } });
      assert.deepEqual([made.id, made.displayName, made.agentIds, made.meta, made.version, made.headSeq], [`made-${kind}`, 'Made', ['planner'], { stage: 'draft' }, 1, 0]);
      assert.equal((await client.createContext(`made-${kind}`, { meta: { stage: 'ready' } })).version, 2);
      const contexts = await client.listContexts({ prefix: 'sdk-' });
      assert.deepEqual(
        contexts.contexts.map((c) => c.id),
        [ctx],
      );
      await assert.rejects(client.get('missing'), (e: EngramClientError) => e instanceof EngramClientError && e.code === 'WORKUNIT_NOT_FOUND');
      await assert.rejects(client.write({ ...unit(ctx, 1), agentId: '' }), (e: EngramClientError) => e.code === 'MISSING_FIELD' || e.code === 'INVALID_ID');
    });

    test('withLock renews the lease while the work runs, fences writes, and releases after', async () => {
      const resource = `file-${kind}.ts`;
      const other = kind === 'http' ? new EngramClient(server.url) : new GrpcEngramClient(server.grpcAddr);
      try {
        // A 6 s lease renewed every third of it: a renewal may come 4 s late (a loaded 2-core machine, the whole
        // suite running two files at once) and still land in time; outliving the lease costs the test 6 s.
        const result = await client.withLock(resource, { agentId: 'editor', ttlMs: 6000 }, async (lock) => {
          const first = await client.getLock(resource);
          // Outlive the lease: only renewals keep the lock. (Waiting for a moment on the clock, not for an event.)
          await new Promise((r) => setTimeout(r, Date.parse(first.expiresAt) + 500 - Date.now()));
          const held = await client.getLock(resource);
          assert.ok(Date.parse(held.expiresAt) > Date.parse(first.expiresAt), 'renewed');
          assert.equal(held.lockId, lock.lockId);
          assert.equal(held.token, lock.token);
          await assert.rejects(other.acquire(resource, { agentId: 'intruder' }), (e: EngramClientError) => e.code === 'LOCK_HELD');
          const w = await client.write({ ...unit(`locked-${kind}`, 'edit', 'editor'), fence: { resource, token: lock.token } });
          assert.equal(lock.signal.aborted, false);
          return w.workUnit.seq;
        });
        assert.equal(result, 1);
        await assert.rejects(client.getLock(resource), (e: EngramClientError) => e.code === 'LOCK_NOT_HELD');
        // A failing task still releases.
        await assert.rejects(
          client.withLock(resource, { agentId: 'editor' }, async () => Promise.reject(new Error('boom'))),
          /boom/,
        );
        await assert.rejects(client.getLock(resource), (e: EngramClientError) => e.code === 'LOCK_NOT_HELD');
      } finally {
        if (other instanceof GrpcEngramClient) other.close();
      }
    });

    test('search finds a unit by its words', async () => {
      const ctx = `search-${kind}`;
      const w = await client.write(unit(ctx, 'we settled on exponential backoff with jitter'));
      await client.write(unit(ctx, 'the dashboard needs a dark theme'));
      let found: string[] = [];
      await eventually(
        async () => {
          found = (await client.search({ query: 'exponential backoff', contextId: ctx, mode: 'keyword' })).results.map((r) => r.workUnit.id);
          return found.length > 0;
        },
        WAIT_MS,
        'the unit to be searchable',
      );
      assert.deepEqual(found, [w.workUnit.id]);
      await assert.rejects(client.search({ mode: 'keyword' }), (e: EngramClientError) => e.code === 'MISSING_FIELD');
    });

    test('subscribe: catch-up then live, and a bad since is an error, not a retry loop', async () => {
      const ctx = `live-${kind}`;
      for (let i = 1; i <= 3; i++) await client.write(unit(ctx, i));
      const it = client.subscribe(ctx, { since: 1 });
      const firstTwo = take(it, 4);
      await client.write(unit(ctx, 4));
      await client.write(unit(ctx, 5));
      assert.deepEqual(
        (await firstTwo).map((u) => u.seq),
        [2, 3, 4, 5],
      );
      await it.return!();
      const bad = client.subscribe(ctx, { since: 99 });
      await assert.rejects(withTimeout(bad.next(), WAIT_MS, 'the error'), (e: EngramClientError) => e.code === 'INVALID_QUERY');
    });

    test('deleteContext: the units go, a subscription ends with CONTEXT_DELETED after what it had, and a second delete is CONTEXT_NOT_FOUND', async () => {
      const ctx = `gone-${kind}`;
      for (let i = 1; i <= 3; i++) await client.write(unit(ctx, i));
      const it = client.subscribe(ctx, { since: 0 });
      assert.deepEqual(
        (await take(it, 3)).map((u) => u.seq),
        [1, 2, 3],
      );
      const d = await client.deleteContext(ctx);
      assert.deepEqual([d.contextId, d.deleted, d.units], [ctx, true, 3]);
      assert.ok(d.bytes > 0);
      await assert.rejects(withTimeout(it.next(), WAIT_MS, 'the end of the subscription'), (e: EngramClientError) => e.code === 'CONTEXT_DELETED');
      assert.deepEqual(await it.next(), { value: undefined, done: true });
      await assert.rejects(client.getContext(ctx), (e: EngramClientError) => e.code === 'CONTEXT_NOT_FOUND');
      await assert.rejects(client.deleteContext(ctx), (e: EngramClientError) => e.code === 'CONTEXT_NOT_FOUND');
      // The id again: a new history from seq 1.
      assert.equal((await client.write(unit(ctx, 'again'))).workUnit.seq, 1);
    });
  });
}

for (const kind of ['http', 'grpc'] as const) {
  test(`subscribe over ${kind} reconnects across a server restart with no gap and no duplicate`, async () => {
    const dataDir = tempDir();
    const started = await startOnFixedPorts(dataDir);
    const args = started.args;
    let server = started.server;
    const makeClient = () => (kind === 'http' ? new EngramClient(server.url, { backoff: FAST_BACKOFF }) : new GrpcEngramClient(server.grpcAddr, { backoff: FAST_BACKOFF }));
    const subscriber = makeClient();
    let writer = makeClient();
    const ctx = 'restart';
    let it: AsyncIterator<WorkUnit> | undefined;
    try {
      for (let i = 1; i <= 20; i++) await writer.write(unit(ctx, i));
      it = subscriber.subscribe(ctx, { since: 0 });
      const before = await take(it, 20);
      assert.deepEqual(
        before.map((u) => u.seq),
        range(1, 20),
      );

      // Units written after the last one delivered but before the server stops must not be missed.
      for (let i = 21; i <= 30; i++) await writer.write(unit(ctx, i));
      if (writer instanceof GrpcEngramClient) writer.close();
      assert.equal(await server.stop(), 0);
      server = await startServer({ dataDir, args });
      writer = makeClient();
      for (let i = 31; i <= 50; i++) await writer.write(unit(ctx, i));

      const afterRestart = await take(it, 30);
      assert.deepEqual(
        afterRestart.map((u) => u.seq),
        range(21, 50),
        'every unit once, in order',
      );
    } finally {
      await it?.return?.();
      if (subscriber instanceof GrpcEngramClient) subscriber.close();
      if (writer instanceof GrpcEngramClient) writer.close();
      await server.stop();
      removeDir(dataDir);
    }
  });
}

test('GrpcEngramClient.writeStream: ordered acks, a refused unit in the middle, the rest stored', async () => {
  const server = await startServer();
  const client = new GrpcEngramClient(server.grpcAddr);
  try {
    function* units(): Generator<NewWorkUnit> {
      for (let i = 0; i < 5000; i++) {
        if (i === 2500) yield { ...unit('bulk-a', i), agentId: '' };
        else yield unit(i % 2 === 0 ? 'bulk-a' : 'bulk-b', i);
      }
    }
    const acks = [];
    for await (const ack of client.writeStream(units())) acks.push(ack);
    assert.deepEqual(
      acks.map((a) => a.index),
      range(0, 4999),
    );
    assert.equal(acks[2500]!.error?.code, 'MISSING_FIELD');
    const seqs = { 'bulk-a': [] as number[], 'bulk-b': [] as number[] };
    for (const a of acks) if (!a.error) seqs[a.contextId as 'bulk-a' | 'bulk-b'].push(a.seq!);
    assert.deepEqual(seqs['bulk-a'], range(1, 2499));
    assert.deepEqual(seqs['bulk-b'], range(1, 2500));
    assert.equal((await client.getContext('bulk-a')).headSeq, 2499);
  } finally {
    client.close();
    await server.stop();
    removeDir(server.dataDir);
  }
});
