/**
 * The log contract on the shared JetStream backend (one nats-server on loopback), and what only a
 * shared log does: refuse a part staged from a stale view, and rebuild a node's replica from the stream.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { JetStreamLog } from '../../src/storage/log-jetstream.js';
import { NatsLink, type NatsOptions } from '../../src/storage/nats.js';
import type { ContextRecord } from '../../src/basics/types.js';
import type { CommitBatch, CommittedContext, CommitPart } from '../../src/engine/log.js';
import { NatsCluster, natsMissing } from '../helpers/nats-cluster.js';
import { removeDir, tempDir } from '../helpers/server.js';
import { WAIT_MS } from '../helpers/wait.js';
import { runLogContract } from './log.suite.js';

const SKIP = natsMissing();
const dirs: string[] = [];
let nats: NatsCluster | undefined;
const links: NatsLink[] = [];
let streams = 0;

after(async () => {
  for (const l of links) await l.close();
  await nats?.stop();
  dirs.forEach(removeDir);
});

async function link(stream: string): Promise<NatsLink> {
  nats ??= await NatsCluster.start(1);
  const options: NatsOptions = { servers: nats.urls, credsFile: '', stream, replicas: 1, maxAgeMs: 0, duplicateWindowMs: 120_000, requestTimeoutMs: 30_000 };
  const l = new NatsLink(options);
  await l.open();
  links.push(l);
  return l;
}

async function freshLog(stream = `CONTRACT${++streams}`): Promise<JetStreamLog> {
  const dir = tempDir('engram-replica-');
  dirs.push(dir);
  return new JetStreamLog(await link(stream), { replicaDir: dir, verifyOnStart: true });
}

if (SKIP) {
  test('JetStream log contract', { skip: `skipped: ${SKIP}` }, () => undefined);
} else {
  runLogContract('jetstream', {
    create: () => freshLog(),
    reopen: async (log) => {
      const old = log as JetStreamLog;
      await old.close();
      const again = new JetStreamLog(await link(`CONTRACT${streams}`), { replicaDir: old.replica.location, verifyOnStart: true });
      await again.open();
      return again;
    },
  });

  const record = (id: string, headSeq: number, version = 1): ContextRecord => ({
    id,
    displayName: id,
    agentIds: ['a'],
    pinnedUnits: [],
    meta: {},
    createdAt: 1,
    updatedAt: 2,
    version,
    headSeq,
  });
  const unit = (client: string, context: string, seq: number) => ({ clientId: client, contextId: context, seq, id: `${context}-${seq}`, pos: 0, json: JSON.stringify({ seq }) });

  /** A batch of one part: unit `seq` of `context` (client c), a new context at seq 1. */
  const oneUnit = (context: string, seq: number, extra: Partial<CommitPart> = {}): CommitBatch => ({
    parts: [{ clientId: 'c', record: record(context, seq), changed: seq === 1, units: [unit('c', context, seq)], idempotency: [], ...extra }],
  });

  describe('JetStream log: what a shared log adds', () => {
    test('a part staged from a stale view is refused and stores nothing; the current view commits', async () => {
      const log = await freshLog();
      await log.open();
      const first = await log.commit(oneUnit('x', 1, { base: { headSeq: 0, version: 0 } }));
      assert.deepEqual(first, [{ status: 'committed' }]);
      // Another writer staged from the empty context too: refused.
      const stale = await log.commit(oneUnit('x', 1, { base: { headSeq: 0, version: 0 } }));
      assert.deepEqual(stale, [{ status: 'conflict' }]);
      const next = await log.commit(oneUnit('x', 2, { base: { headSeq: 1, version: 1 } }));
      assert.deepEqual(next, [{ status: 'committed' }]);
      assert.deepEqual(
        (await log.readUnits('c', 'x', 1, 10)).map((j) => JSON.parse(j).seq),
        [1, 2],
      );
      const stored = await log.readByPosition(1, 10);
      assert.deepEqual(
        stored.map((u) => u.seq),
        [1, 2],
        'the refused part holds no position',
      );
      assert.equal(await log.lastPosition(), stored[1]!.pos);
      await log.close();
    });

    test('two nodes on one stream: a stale node is refused, catches up, and both read the same log', async () => {
      const stream = `CONTRACT${++streams}`;
      const a = await freshLog(stream);
      const b = await freshLog(stream);
      await a.open();
      await b.open();
      const part = (seq: number, base: number) => oneUnit('race', seq, { base: { headSeq: base, version: base === 0 ? 0 : 1 } });
      assert.deepEqual(await a.commit(part(1, 0)), [{ status: 'committed' }]);
      // b may not have applied a's part yet; whether it has or not, seq 1 from b is refused.
      assert.deepEqual(await b.commit(part(1, 0)), [{ status: 'conflict' }]);
      assert.deepEqual(await b.commit(part(2, 1)), [{ status: 'committed' }]);
      const positions: number[][] = [];
      for (const log of [a, b]) {
        await waitFor(async () => (await log.readByPosition(1, 10)).length === 2);
        assert.deepEqual(
          (await log.readUnits('c', 'race', 1, 10)).map((j) => JSON.parse(j).seq),
          [1, 2],
        );
        assert.deepEqual(
          (await log.readByPosition(1, 10)).map((u) => u.seq),
          [1, 2],
        );
        positions.push((await log.readByPosition(1, 10)).map((u) => u.pos));
      }
      assert.deepEqual(positions[0], positions[1], 'a unit has the same position on every node');
      await a.close();
      await b.close();
    });

    test('after catchUp, a node reads every part another node had committed when it was called', async () => {
      const stream = `CONTRACT${++streams}`;
      const a = await freshLog(stream);
      const b = await freshLog(stream);
      await a.open();
      await b.open();
      for (let s = 1; s <= 30; s++) {
        assert.deepEqual(await a.commit(oneUnit('cu', s)), [{ status: 'committed' }]);
        // No waiting: b has applied a's part as soon as catchUp resolves.
        await b.catchUp();
        assert.equal((await b.getContext('c', 'cu'))?.headSeq, s, `b after a's commit ${s}`);
      }
      await a.close();
      await b.close();
    });

    test('an idempotency key sent through another node is found as a duplicate and replays the first unit', async () => {
      const stream = `CONTRACT${++streams}`;
      const a = await freshLog(stream);
      const b = await freshLog(stream);
      await a.open();
      await b.open();
      const keyed = (id: string) => ({
        parts: [
          {
            clientId: 'c',
            record: record('idem', 1),
            changed: true,
            units: [{ ...unit('c', 'idem', 1), id }],
            idempotency: [{ clientId: 'c', contextId: 'idem', key: 'k1', id, seq: 1, expiresAt: Date.now() + 60_000 }],
          },
        ],
      });
      assert.deepEqual(await a.commit(keyed('first')), [{ status: 'committed' }]);
      const again = await b.commit(keyed('second'));
      assert.deepEqual(again, [{ status: 'replayed', unit: { id: 'first', seq: 1, json: JSON.stringify({ seq: 1 }) } }]);
      assert.equal(await b.getUnit('c', 'second'), undefined);
      await a.close();
      await b.close();
    });

    test('a commit is answered before the replica has written it, yet every read after the answer sees it', async () => {
      // Writers are answered once their part is judged; the replica's write is still in flight, so reads must wait for it.
      const log = await freshLog();
      await log.open();
      for (let s = 1; s <= 200; s++) {
        const id = `x-${s}`;
        const keyed = oneUnit('ryw', s, { idempotency: [{ clientId: 'c', contextId: 'ryw', key: `k${s}`, id: `ryw-${s}`, seq: s, expiresAt: Date.now() + 60_000 }] });
        assert.deepEqual(await log.commit(keyed), [{ status: 'committed' }], id);
        const [units, one, context, key] = await Promise.all([
          log.readUnits('c', 'ryw', s, s),
          log.getUnit('c', `ryw-${s}`),
          log.getContext('c', 'ryw'),
          log.getIdempotency('c', 'ryw', `k${s}`),
        ]);
        assert.deepEqual(
          units.map((j) => JSON.parse(j).seq),
          [s],
          `readUnits after commit ${s}`,
        );
        assert.notEqual(one, undefined, `getUnit after commit ${s}`);
        assert.equal(context?.headSeq, s, `getContext after commit ${s}`);
        assert.equal(key?.seq, s, `getIdempotency after commit ${s}`);
      }
      assert.equal((await log.readByPosition(1, 500)).length, 200);
      await log.close();
    });

    test('a node whose replica is gone rebuilds it from the stream', async () => {
      const log = await freshLog();
      await log.open();
      for (let s = 1; s <= 20; s++) {
        await log.commit(oneUnit('r', s));
      }
      const positions = (await log.readByPosition(1, 100)).map((u) => u.pos);
      await log.close();
      removeDir(log.replica.location);
      const again = new JetStreamLog(await link(`CONTRACT${streams}`), { replicaDir: log.replica.location, verifyOnStart: true });
      await again.open();
      assert.equal((await again.readUnits('c', 'r', 1, 100)).length, 20);
      assert.equal((await again.getContext('c', 'r'))?.headSeq, 20);
      assert.deepEqual(
        (await again.readByPosition(1, 100)).map((u) => u.pos),
        positions,
      );
      assert.equal(await again.lastPosition(), positions[19]);
      await again.close();
    });

    test('a deletion is applied by every node and purged from the stream; a replica rebuilt after it gives every other unit its position again', async () => {
      const stream = `CONTRACT${++streams}`;
      const a = await freshLog(stream);
      const b = await freshLog(stream);
      await a.open();
      await b.open();
      const heard: CommittedContext[] = [];
      b.follow(async (parts) => void heard.push(...parts));
      const base = (seq: number) => ({ base: { headSeq: seq - 1, version: seq === 1 ? 0 : 1 } });
      await a.commit(oneUnit('keep', 1, base(1)));
      await a.commit(oneUnit('gone', 1, base(1)));
      await a.commit(oneUnit('gone', 2, base(2)));
      await a.commit(oneUnit('keep', 2, base(2)));
      await b.catchUp();
      const kept = async (log: JetStreamLog) => (await log.readByPosition(1, 100)).filter((u) => u.contextId === 'keep').map((u) => u.pos);
      const keptBefore = await kept(b);
      const d = await a.deleteContext('c', 'gone');
      assert.ok(d !== undefined);
      assert.equal(d.units, 2);
      await b.catchUp();
      for (const log of [a, b]) {
        assert.equal(await log.getContext('c', 'gone'), undefined);
        assert.deepEqual(await log.readUnits('c', 'gone', 1, 10), []);
        assert.equal(await log.incarnation('c', 'gone'), d.incarnation, 'every node names the same next incarnation');
      }
      assert.deepEqual(
        heard.filter((p) => p.deleted !== undefined).map((p) => [p.contextId, p.deleted!.incarnation, p.deleted!.positions.length]),
        [['gone', d.incarnation, 2]],
        'the other node reports the deletion',
      );
      // The stream keeps the two units of 'keep' and the deletion; the parts of 'gone' are purged.
      const nc = links[links.length - 1]!;
      await waitFor(async () => (await nc.jsm.streams.info(stream)).state.messages === 3);
      // A node that never saw the purged parts (a replica rebuilt now) agrees on everything else.
      await b.close();
      removeDir(b.replica.location);
      const c = new JetStreamLog(await link(stream), { replicaDir: b.replica.location, verifyOnStart: true });
      await c.open();
      assert.deepEqual(await kept(c), keptBefore);
      assert.equal(await c.getContext('c', 'gone'), undefined);
      assert.equal(await c.incarnation('c', 'gone'), d.incarnation);
      // A new history of the id commits on a node that saw the old one and on one that did not.
      assert.deepEqual(await a.commit(oneUnit('gone', 1, base(1))), [{ status: 'committed' }]);
      await c.catchUp();
      assert.deepEqual(
        (await c.readUnits('c', 'gone', 1, 10)).map((j) => JSON.parse(j).seq),
        [1],
      );
      assert.deepEqual(await c.commit(oneUnit('gone', 2, base(2))), [{ status: 'committed' }]);
      await a.close();
      await c.close();
    });
  });
}

async function waitFor(cond: () => Promise<boolean>, ms = WAIT_MS): Promise<void> {
  const until = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}
