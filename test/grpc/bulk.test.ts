/**
 * CreateWorkUnits: a bulk stream of 100,000 units across several contexts, written with
 * backpressure; acks in request order with gap-free per-context seqs; a refused unit in the
 * middle gets an error ack and the stream goes on; the log holds exactly the accepted units.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { status } from '@grpc/grpc-js';
import { BULK_CHANNEL_OPTIONS, EngramGrpc, grpcServerPerFile, rejectsWith, unitRequest, type Msg } from '../helpers/grpc.js';
import { WAIT_MS, withTimeout } from '../helpers/wait.js';

const env = grpcServerPerFile();

/** Units in the stream: 10,000 in make test (enough to make the client wait for drain many times and to fill the server's group commits), ENGRAM_BULK_UNITS (make soak: 100,000) otherwise. */
const TOTAL = Number(process.env.ENGRAM_BULK_UNITS ?? 10_000);

test(`${TOTAL.toLocaleString('en')} units in one stream: ordered acks, gap-free seqs, a refused unit in the middle`, async () => {
  const total = TOTAL;
  const contexts = ['bulk/a', 'bulk/b', 'bulk/c', 'bulk/d'];
  const refusedAt = new Set([Math.floor(total * 0.31337), Math.floor(total * 0.77777)]);
  const contextOf = (i: number) => contexts[i % contexts.length]!;

  const client = new EngramGrpc(env.server.grpcAddr, BULK_CHANNEL_OPTIONS);
  const stream = client.CreateWorkUnits();
  const acks: Msg[] = [];
  stream.on('data', (a: Msg) => acks.push(a));
  const ended = new Promise<void>((resolve, reject) => {
    stream.on('end', resolve);
    stream.on('error', reject);
  });
  let waits = 0;
  for (let i = 0; i < total; i++) {
    const req = unitRequest(contextOf(i), { agentId: refusedAt.has(i) ? '' : `agent-${i % 7}`, payload: { json: `{"i":${i}}` } });
    if (!stream.write(req)) {
      waits++;
      await new Promise((resolve) => stream.once('drain', resolve));
    }
  }
  stream.end();
  await withTimeout(ended, WAIT_MS, 'every ack').finally(() => client.close());
  assert.ok(waits > 0, 'the client was made to wait for drain at least once');

  assert.equal(acks.length, total);
  const nextSeq = new Map(contexts.map((c) => [c, 1]));
  const idsBySeq = new Map(contexts.map((c) => [c, [] as string[]]));
  for (let i = 0; i < total; i++) {
    const a = acks[i];
    assert.equal(a.index, i, `ack ${i} in request order`);
    if (refusedAt.has(i)) {
      assert.equal(a.error?.code, 'MISSING_FIELD', `ack ${i}: ${JSON.stringify(a)}`);
      assert.match(a.error.message, /agentId/);
      assert.deepEqual([a.id, a.contextId, a.seq], ['', '', 0]);
      continue;
    }
    const ctx = contextOf(i);
    assert.equal(a.error, null, `ack ${i}: ${JSON.stringify(a.error)}`);
    assert.equal(a.contextId, ctx);
    assert.equal(a.seq, nextSeq.get(ctx), `ack ${i}: seq in ${ctx}`);
    assert.equal(a.replayed, false);
    nextSeq.set(ctx, a.seq + 1);
    idsBySeq.get(ctx)!.push(a.id);
  }

  // The log holds exactly the accepted units, in ack order, over gRPC and HTTP.
  for (const ctx of contexts) {
    const accepted = idsBySeq.get(ctx)!;
    assert.equal((await env.grpc.GetContext({ contextId: ctx })).headSeq, accepted.length);
    assert.equal((await env.http.get(`/contexts/${encodeURIComponent(ctx)}`)).json.headSeq, accepted.length);
    const stored: Msg[] = [];
    let after = 0;
    for (;;) {
      const page = await env.grpc.ListWorkUnits({ contextId: ctx, limit: 1000, after });
      stored.push(...page.workUnits);
      if (page.nextCursor === undefined) break;
      after = page.nextCursor;
    }
    assert.deepEqual(
      stored.map((u) => u.id),
      accepted,
    );
    const indexes = stored.map((u) => JSON.parse(u.payload.json).i as number);
    assert.ok(
      indexes.every((i, k) => k === 0 || i > indexes[k - 1]!),
      `${ctx}: units in request order`,
    );
    assert.ok(
      indexes.every((i) => !refusedAt.has(i)),
      `${ctx}: nothing of a refused unit`,
    );
    const lastPage = await env.http.get(`/workunits/${encodeURIComponent(ctx)}?reverse=true&limit=1`);
    assert.equal(lastPage.json.workUnits[0].id, accepted.at(-1));
  }
  assert.equal(
    [...idsBySeq.values()].reduce((n, ids) => n + ids.length, 0),
    total - refusedAt.size,
  );
});

test('idempotency keys, fences and size limits work per unit in a stream', async () => {
  const [lock] = (await env.grpc.AcquireLock({ resources: ['bulk/lock'], agentId: 'holder' })).locks;
  const requests = [
    unitRequest('bulk/mixed', { idempotencyKey: 'k1' }),
    unitRequest('bulk/mixed', { idempotencyKey: 'k1' }),
    unitRequest('bulk/mixed', { fence: { resource: 'bulk/lock', token: lock.token } }),
    unitRequest('bulk/mixed', { fence: { resource: 'bulk/lock', token: lock.token + 1 } }),
    unitRequest('bulk/mixed', { type: 99 }),
    unitRequest('bulk/mixed', { payload: { json: 'not json' } }),
    unitRequest('bulk/mixed', { payload: { json: JSON.stringify('x'.repeat(1024 * 1024 + 1)) } }),
    unitRequest('bulk/mixed'),
  ];
  const stream = env.grpc.CreateWorkUnits();
  const acks: Msg[] = [];
  stream.on('data', (a: Msg) => acks.push(a));
  const ended = new Promise<void>((resolve, reject) => {
    stream.on('end', resolve);
    stream.on('error', reject);
  });
  for (const r of requests) stream.write(r);
  stream.end();
  await withTimeout(ended, WAIT_MS, 'the acks');
  // A unit with an idempotency key is looked up before it is queued, so units behind it in the
  // stream may take lower seqs: compare codes here, and the seqs as a set.
  assert.deepEqual(
    acks.map((a) => [a.index, a.replayed, a.error?.code ?? null]),
    [
      [0, false, null],
      [1, true, null],
      [2, false, null],
      [3, false, 'FENCE_REJECTED'],
      [4, false, 'INVALID_FIELD'],
      [5, false, 'MALFORMED_JSON'],
      [6, false, 'PAYLOAD_TOO_LARGE'],
      [7, false, null],
    ],
  );
  assert.deepEqual([0, 2, 7].map((i) => acks[i].seq).sort(), [1, 2, 3]);
  for (const i of [3, 4, 5, 6]) assert.deepEqual([acks[i].id, acks[i].contextId, acks[i].seq], ['', '', 0]);
  assert.equal(acks[1].seq, acks[0].seq);
  assert.equal(acks[1].id, acks[0].id);
  assert.equal((await env.grpc.GetContext({ contextId: 'bulk/mixed' })).headSeq, 3);
});

test('an empty stream ends with no acks; a cancelled one leaves the server serving', async () => {
  const empty = env.grpc.CreateWorkUnits();
  const acks: Msg[] = [];
  empty.on('data', (a: Msg) => acks.push(a));
  await withTimeout(
    new Promise<void>((resolve, reject) => {
      empty.on('end', resolve);
      empty.on('error', reject);
      empty.end();
    }),
    WAIT_MS,
    'the empty stream to end',
  );
  assert.equal(acks.length, 0);

  const cancelled = env.grpc.CreateWorkUnits();
  const first = new Promise<Msg>((resolve) => cancelled.once('data', resolve));
  const error = new Promise<Msg>((resolve) => cancelled.on('error', resolve));
  for (let i = 0; i < 100; i++) cancelled.write(unitRequest('bulk/cancelled'));
  await withTimeout(first, WAIT_MS, 'a first ack');
  cancelled.cancel();
  assert.equal((await withTimeout(error, WAIT_MS, 'the cancel')).code, status.CANCELLED);
  // What was stored (units in flight at the cancel may still commit) is gap-free; the server goes on.
  const last = (await env.grpc.CreateWorkUnit(unitRequest('bulk/cancelled'))).workUnit.seq;
  assert.ok(last >= 2 && last <= 101, `seq ${last}`);
  const listed = await env.grpc.ListWorkUnits({ contextId: 'bulk/cancelled', limit: 1000, before: last + 1 });
  assert.deepEqual(
    listed.workUnits.map((u: Msg) => u.seq),
    Array.from({ length: last }, (_, i) => i + 1),
  );
  await rejectsWith(env.grpc.GetWorkUnit({ id: '01ARZ3NDEKTSV4RRFFQ69G5FAV' }), status.NOT_FOUND, 'WORKUNIT_NOT_FOUND');
});
