/** The router without sockets: a fake sink with a settable buffer limit stands in for a connection. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Engine } from '../../src/engine/engine.js';
import { EngramError } from '../../src/basics/errors.js';
import type { Frame } from '../../src/streams/frames.js';
import { Router, type StreamSink, type Subscription, type WriteResult } from '../../src/streams/router.js';
import { MemoryLog } from '../../src/storage/log-memory.js';
import { Latch, WAIT_MS } from '../helpers/wait.js';

const C = 'client';

class FakeSink implements StreamSink {
  received: Frame[] = [];
  buffered = 0;
  full = false;
  subs: Subscription[] = [];
  failed: string | undefined;
  private waiters: Array<{ seq: number; latch: Latch }> = [];

  constructor(public limit = Infinity) {}

  write(frame: Frame): WriteResult {
    this.received.push(frame);
    this.buffered++;
    for (const w of this.waiters) if (frame.seq !== undefined && frame.seq >= w.seq) w.latch.countDown();
    this.waiters = this.waiters.filter((w) => frame.seq === undefined || frame.seq < w.seq);
    if (this.buffered > this.limit) {
      this.full = true;
      return 'full';
    }
    return 'ok';
  }

  cork(fn: () => void): void {
    fn();
  }

  /** Subscriptions the server ended (their context was deleted). */
  endedSubs: Subscription[] = [];
  ended(sub: Subscription): void {
    this.endedSubs.push(sub);
  }

  fail(reason: string): void {
    this.failed = reason;
  }

  /** The reader caught up: empty the buffer and resume paused subscriptions. */
  drain(): void {
    this.buffered = 0;
    this.full = false;
    for (const s of this.subs) s.resume();
  }

  seqs(): number[] {
    return this.received.filter((f) => f.event === 'workunit').map((f) => f.seq!);
  }

  events(): string[] {
    return this.received.map((f) => f.event);
  }

  /** Resolves once a unit frame with seq ≥ `seq` arrived. */
  until(seq: number, ms = WAIT_MS): Promise<void> {
    if (this.seqs().some((s) => s >= seq)) return Promise.resolve();
    const latch = new Latch(1);
    this.waiters.push({ seq, latch });
    return latch.wait(ms, `unit seq ${seq}`);
  }
}

async function setup(tailUnits = 256, log = new MemoryLog(), parts: ConstructorParameters<typeof Router>[1] = {}) {
  const engine = new Engine(log, { idempotencyTtlMs: 60_000, maxBatchUnits: 64, tailUnits, maxCachedContexts: 100, maxTailBytes: 1 << 24 });
  await engine.open();
  return { engine, router: new Router(engine, parts), log };
}

const unit = (contextId: string, payload: unknown = 'x') => ({ contextId, agentId: 'a', type: 'MESSAGE', payload });
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('router', () => {
  test('a resume from another epoch is refused with the current one, and nothing is subscribed', async () => {
    const { engine, router } = await setup();
    await engine.append(C, unit('epochs'));
    const sink = new FakeSink();
    await assert.rejects(
      router.subscribe(C, 'epochs', sink, { since: 1, epoch: 'an0ther' }),
      (err: EngramError) => err.code === 'EPOCH_MISMATCH' && err.details?.epoch === engine.epoch,
    );
    assert.equal(sink.received.length, 0);
    assert.equal(router.stats().subscriptions, 0);
    const ok = await router.subscribe(C, 'epochs', sink, { since: 1, epoch: engine.epoch });
    assert.equal(ok.state, 'live');
    ok.close();
    await engine.close();
  });

  test('a live subscriber gets each new unit once, in order, after a subscribed frame with the head', async () => {
    const { engine, router } = await setup();
    await engine.append(C, unit('live'));
    const sink = new FakeSink();
    await router.subscribe(C, 'live', sink, { ref: 'r1' });
    assert.equal(sink.received[0]!.json, `{"event":"subscribed","ref":"r1","contextId":"live","headSeq":1,"epoch":"${engine.epoch}"}`);
    await Promise.all(range(1, 50).map((i) => engine.append(C, unit('live', i))));
    await sink.until(51);
    assert.deepEqual(sink.seqs(), range(2, 51));
    const frame = JSON.parse(sink.received[1]!.json);
    assert.equal(frame.event, 'workunit');
    assert.equal(frame.workUnit.seq, 2);
    await engine.close();
  });

  test('resume from since while 10 writers append: every unit after since, once, in order', async () => {
    for (const tailUnits of [1000, 8]) {
      const { engine, router } = await setup(tailUnits);
      for (let i = 0; i < 300; i++) await engine.append(C, unit('resume', i));
      const sink = new FakeSink();
      const writers = Promise.all(
        range(1, 10).map(async (w) => {
          for (let i = 0; i < 30; i++) await engine.append(C, unit('resume', `${w}-${i}`));
        }),
      );
      await router.subscribe(C, 'resume', sink, { since: 41 });
      await writers;
      await sink.until(600);
      assert.deepEqual(sink.seqs(), range(42, 600), `tail of ${tailUnits}`);
      await engine.close();
    }
  });

  test('since beyond the head is refused; since equal to the head goes live at once', async () => {
    const { engine, router } = await setup();
    await engine.append(C, unit('ahead'));
    await assert.rejects(router.subscribe(C, 'ahead', new FakeSink(), { since: 5 }), (e: unknown) => e instanceof EngramError && e.code === 'INVALID_QUERY');
    const sink = new FakeSink();
    const sub = await router.subscribe(C, 'ahead', sink, { since: 1 });
    assert.equal(sub.state, 'live');
    assert.equal(router.stats().topics, 1);
    await engine.close();
  });

  test('a slow subscriber pauses without holding back the writer or another subscriber, then catches up from the log', async () => {
    const { engine, router } = await setup(16);
    const slow = new FakeSink(10);
    const fast = new FakeSink();
    slow.subs.push(await router.subscribe(C, 'slow', slow));
    fast.subs.push(await router.subscribe(C, 'slow', fast));
    for (let i = 0; i < 200; i++) await engine.append(C, unit('slow', i)); // each write is answered while the slow sink is full
    assert.deepEqual(fast.seqs(), range(1, 200));
    assert.equal(slow.subs[0]!.state, 'paused');
    assert.ok(slow.seqs().length < 15, 'the slow sink stopped receiving once full');
    // The reader catches up: drain repeatedly until everything arrived, in order, without gaps or repeats.
    for (let round = 0; round < 100 && slow.seqs().length < 200; round++) {
      slow.drain();
      await new Promise((r) => setImmediate(r));
    }
    assert.deepEqual(slow.seqs(), range(1, 200));
    await engine.append(C, unit('slow', 'after'));
    slow.drain();
    await slow.until(201);
    assert.deepEqual(slow.seqs().slice(-1), [201]);
    await engine.close();
  });

  test('a reader that takes one unit per drain is not sent the same log page again and again: reads stay near what it took', async () => {
    const { engine, router, log } = await setup(4); // a short tail: the catch-up reads the log
    for (let i = 0; i < 300; i++) await engine.append(C, unit('trickle', i));
    let unitsRead = 0;
    const readUnits = log.readUnits.bind(log);
    log.readUnits = async (...args: Parameters<MemoryLog['readUnits']>) => {
      const units = await readUnits(...args);
      unitsRead += units.length;
      return units;
    };
    const sink = new FakeSink(0); // full after every frame
    sink.subs.push(await router.subscribe(C, 'trickle', sink, { since: 0 }));
    for (let round = 0; round < 2000 && sink.seqs().length < 300; round++) {
      const next = sink.seqs().length + 1;
      sink.drain(); // from the cached tail this delivers at once; from the log a moment later
      await sink.until(next);
    }
    assert.deepEqual(sink.seqs(), range(1, 300));
    // A fixed 256-unit page re-read per unit taken would read ~50,000; adaptive pages read about twice what was taken.
    assert.ok(unitsRead <= 3 * 300, `${unitsRead} units read from the log to deliver 300`);
    await engine.close();
  });

  test('context changes reach live subscribers; a paused one gets the latest record once when it is live again', async () => {
    const { engine, router } = await setup();
    await engine.append(C, unit('ctx'));
    const live = new FakeSink();
    const paused = new FakeSink(0);
    await router.subscribe(C, 'ctx', live);
    paused.subs.push(await router.subscribe(C, 'ctx', paused)); // the subscribed frame fills it
    await engine.patchContext(C, 'ctx', { displayName: 'one' });
    await engine.patchContext(C, 'ctx', { displayName: 'two' });
    const names = (s: FakeSink) => s.received.filter((f) => f.event === 'context').map((f) => JSON.parse(f.json).context.displayName);
    assert.deepEqual(names(live), ['one', 'two']);
    assert.deepEqual(names(paused), []);
    await engine.append(C, unit('ctx'));
    paused.limit = Infinity;
    paused.drain();
    await paused.until(2);
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(names(paused), ['two']);
    await engine.close();
  });

  test('a catch-up that cannot read the log ends the subscription and tells the transport, instead of stalling', async () => {
    const { engine, router, log } = await setup(4);
    for (let i = 0; i < 20; i++) await engine.append(C, unit('broken', i));
    log.failReads = new Error('disk unreadable');
    const sink = new FakeSink();
    const sub = await router.subscribe(C, 'broken', sink, { since: 2 });
    await new Promise((r) => setImmediate(r));
    assert.match(sink.failed ?? '', /disk unreadable/);
    assert.equal(sub.state, 'closed');
    assert.deepEqual(router.stats(), { topics: 0, subscriptions: 0 });
    await engine.close();
  });

  test('a sink that throws is failed; the other subscribers still get the unit', async () => {
    const { engine, router } = await setup();
    const broken = new FakeSink();
    broken.write = () => {
      throw new Error('socket gone');
    };
    const healthy = new FakeSink();
    await router.subscribe(C, 'throws', healthy);
    const brokenSub = await router
      .subscribe(C, 'throws', Object.assign(new FakeSink(), { write: broken.write, fail: (r: string) => (broken.failed = r) }))
      .catch((e: unknown) => e);
    assert.ok(brokenSub instanceof Error, 'writing the subscribed frame already throws');
    assert.equal(router.stats().subscriptions, 1, 'and that subscription is not left behind');
    const sub2 = new FakeSink();
    const s2 = await router.subscribe(C, 'throws', sub2);
    sub2.write = () => {
      throw new Error('socket gone');
    };
    await engine.append(C, unit('throws'));
    await healthy.until(1);
    assert.equal(s2.state, 'closed');
    assert.match(sub2.failed ?? '', /socket gone/);
    await engine.close();
  });

  test('lock followers get every lock event; one that missed some while full gets a snapshot when it drains', async () => {
    const { engine, router } = await setup(256, new MemoryLog(), {
      lockSnapshot: () => [{ resource: 'held-now', agentId: 'a', lockId: 'L', token: 9, expiresAt: 'x', ttlMs: 1, acquiredAt: 'x' }],
    });
    const record = (resource: string, token: number) => ({ resource, agentId: 'a', lockId: 'L', token, expiresAt: Date.now() + 60_000, acquiredAt: Date.now(), contextId: 'ctx' });
    const live = new FakeSink();
    const slow = new FakeSink(1);
    router.subscribeLocks([C], live);
    const slowSub = router.subscribeLocks([C], slow);
    const ctxSink = new FakeSink();
    await router.subscribe(C, 'ctx', ctxSink);
    router.publishLocks([{ clientId: C, action: 'acquired', record: record('r1', 1) }]);
    router.publishLocks([
      { clientId: C, action: 'released', record: record('r1', 1) },
      { clientId: 'other-client', action: 'acquired', record: record('r2', 2) },
    ]);
    const actions = (s: FakeSink) => s.received.filter((f) => f.event === 'lock').map((f) => JSON.parse(f.json).action);
    assert.deepEqual(actions(live), ['snapshot', 'acquired', 'released'], "the locks held when it subscribed, then only this client's events");
    assert.deepEqual(
      JSON.parse(live.received[1]!.json).locks.map((l: { resource: string }) => l.resource),
      ['held-now'],
    );
    assert.deepEqual(actions(ctxSink), ['acquired', 'released'], "the named context's subscribers see them too");
    assert.equal(slowSub.state, 'paused');
    slow.limit = Infinity;
    slow.buffered = 0;
    slow.full = false;
    slowSub.resume();
    const last = JSON.parse(slow.received[slow.received.length - 1]!.json);
    assert.deepEqual([last.action, last.locks[0].resource], ['snapshot', 'held-now']);
    await engine.close();
  });

  test('closing the last subscription releases the context', async () => {
    const { engine, router } = await setup();
    const a = await router.subscribe(C, 'rel', new FakeSink());
    const b = await router.subscribe(C, 'rel', new FakeSink());
    assert.deepEqual(router.stats(), { topics: 1, subscriptions: 2 });
    a.close();
    b.close();
    assert.deepEqual(router.stats(), { topics: 0, subscriptions: 0 });
    await engine.close();
  });
});
