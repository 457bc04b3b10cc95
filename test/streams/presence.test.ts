/**
 * Presence without sockets: the table (joins and leaves by member, other nodes' counts), the sync
 * between nodes over an in-memory channel (state rounds, lost parts, hello, bye, expiry), and the
 * router's presence frames for a subscriber whose sink was full.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Engine } from '../../src/engine/engine.js';
import type { Frame } from '../../src/streams/frames.js';
import { Presence, type PresenceChange } from '../../src/streams/presence.js';
import { PresenceSync, type PresenceChannel } from '../../src/streams/presence-sync.js';
import { Router, type StreamSink, type WriteResult } from '../../src/streams/router.js';
import { MemoryLog } from '../../src/storage/log-memory.js';
import { WAIT_MS, Watcher } from '../helpers/wait.js';

const who = (p: Presence, space = 's', ctx = 'c') => p.members(space, ctx).map((m) => `${m.clientId}/${m.agentId ?? '-'}×${m.connections}`);
const changes = (p: Presence) => {
  const out: string[] = [];
  p.onChange((c: PresenceChange) => out.push(`${c.action} ${c.contextId} ${c.member.clientId}/${c.member.agentId ?? '-'}`));
  return out;
};

describe('the presence table', () => {
  test('a member joins with its first connection and leaves with its last; leaves are idempotent', () => {
    const p = new Presence();
    const seen = changes(p);
    const l1 = p.join('s', 'c', { clientId: 'alice', agentId: 'planner' });
    const l2 = p.join('s', 'c', { clientId: 'alice', agentId: 'planner' });
    const l3 = p.join('s', 'c', { clientId: 'alice', agentId: null });
    assert.deepEqual(who(p), ['alice/-×1', 'alice/planner×2']);
    l1();
    l1();
    assert.deepEqual(who(p), ['alice/-×1', 'alice/planner×1']);
    l2();
    l3();
    assert.deepEqual(who(p), []);
    assert.deepEqual(seen, ['join c alice/planner', 'join c alice/-', 'leave c alice/planner', 'leave c alice/-']);
    assert.deepEqual(p.stats(), { contexts: 0, members: 0, localConnections: 0, remoteConnections: 0 });
  });

  test('spaces and contexts are apart', () => {
    const p = new Presence();
    p.join('alice', 'c', { clientId: 'alice', agentId: 'x' });
    p.join('~team', 'c', { clientId: 'bob', agentId: 'y' });
    assert.deepEqual(who(p, 'alice', 'c'), ['alice/x×1']);
    assert.deepEqual(who(p, '~team', 'c'), ['bob/y×1']);
    assert.deepEqual(who(p, 'bob', 'c'), []);
  });

  test("other nodes' counts add to this node's; membership changes only at zero", () => {
    const p = new Presence();
    const seen = changes(p);
    const leave = p.join('s', 'c', { clientId: 'a', agentId: 'x' });
    p.setRemote('n2', { space: 's', contextId: 'c', clientId: 'a', agentId: 'x', connections: 3, since: 1 });
    assert.deepEqual(who(p), ['a/x×4']);
    assert.equal(p.members('s', 'c')[0]!.since, 1, 'since is the earliest');
    leave();
    assert.deepEqual(who(p), ['a/x×3']);
    p.setRemote('n2', { space: 's', contextId: 'c', clientId: 'a', agentId: 'x', connections: 0, since: 1 });
    assert.deepEqual(who(p), []);
    assert.deepEqual(seen, ['join c a/x', 'leave c a/x']);
    // A zero for an entry never reported is nothing.
    p.setRemote('n3', { space: 's', contextId: 'c', clientId: 'z', agentId: null, connections: 0, since: 1 });
    assert.deepEqual(seen, ['join c a/x', 'leave c a/x']);
  });
});

/** An in-memory channel between nodes: a message reaches every listener in the order sent (or is dropped when `drop` says so). */
class Bus {
  private readonly listeners = new Set<(d: Uint8Array) => void>();
  drop: (m: { kind: string; part?: number }) => boolean = () => false;
  readonly watcher = new Watcher();

  channel(): PresenceChannel & { closed: boolean } {
    let mine: ((d: Uint8Array) => void) | undefined;
    const ch = {
      closed: false,
      publishChange: (_s: string, _c: string, d: Uint8Array) => this.send(d),
      publishNode: (_n: string, d: Uint8Array) => this.send(d),
      listen: (h: (d: Uint8Array) => void) => {
        mine = h;
        this.listeners.add(h);
      },
      close: async () => {
        ch.closed = true;
        if (mine !== undefined) this.listeners.delete(mine);
      },
    };
    return ch;
  }

  private send(d: Uint8Array): void {
    if (this.drop(JSON.parse(new TextDecoder().decode(d)) as { kind: string; part?: number })) return;
    // Delivered on a later turn, like a network.
    setImmediate(() => {
      for (const l of [...this.listeners]) l(d);
      this.watcher.notify();
    });
  }
}

describe('presence between nodes', () => {
  test('changes reach the other node; a state round removes what it no longer lists', async () => {
    const bus = new Bus();
    const [p1, p2] = [new Presence(), new Presence()];
    const s1 = new PresenceSync(p1, bus.channel(), { intervalMs: 60_000, nodeId: 'n1' });
    const s2 = new PresenceSync(p2, bus.channel(), { intervalMs: 60_000, nodeId: 'n2' });
    s1.start();
    s2.start();
    const leave = p1.join('s', 'c', { clientId: 'a', agentId: 'x' });
    await bus.watcher.until(() => who(p2).join() === 'a/x×1', WAIT_MS, 'n1’s member on n2');
    assert.deepEqual(p2.stats().remoteConnections, 1);
    // Its leave is lost; the next state round (forced here with a hello from a third node) repairs it.
    bus.drop = (m) => m.kind === 'change';
    leave();
    bus.drop = () => false;
    assert.deepEqual(who(p2), ['a/x×1']);
    const s3 = new PresenceSync(new Presence(), bus.channel(), { intervalMs: 60_000, nodeId: 'n3' });
    s3.start();
    await bus.watcher.until(() => who(p2).length === 0, WAIT_MS, 'the state round to remove the entry');
    await Promise.all([s1.stop(), s2.stop(), s3.stop()]);
  });

  test('a round with a lost part removes nothing; bye removes a node at once', async () => {
    const bus = new Bus();
    const [p1, p2] = [new Presence(), new Presence()];
    const s1 = new PresenceSync(p1, bus.channel(), { intervalMs: 60_000, nodeId: 'n1' });
    const s2 = new PresenceSync(p2, bus.channel(), { intervalMs: 60_000, nodeId: 'n2' });
    // 2001 entries: a state of two parts.
    for (let i = 0; i <= 2000; i++) p1.join('s', `c${i}`, { clientId: 'a', agentId: null });
    s2.start();
    s1.start();
    await bus.watcher.until(() => p2.stats().remoteConnections === 2001, WAIT_MS, 'the whole state on n2');
    // The first part of the next round is lost: the second alone must not remove the first's entries.
    bus.drop = (m) => m.kind === 'state' && m.part === 0;
    const p3 = new Presence();
    const s3 = new PresenceSync(p3, bus.channel(), { intervalMs: 60_000, nodeId: 'n3' });
    s3.start(); // its hello makes n1 publish a state round
    // Every listener gets each message in the same turn: once n3 holds the second part, so does n2.
    await bus.watcher.until(() => p3.stats().remoteConnections === 1, WAIT_MS, 'n3 to hold the second part');
    bus.drop = () => false;
    assert.equal(p2.stats().remoteConnections, 2001, 'the entries of the lost part are still there');
    await s1.stop();
    await bus.watcher.until(() => p2.stats().remoteConnections === 0, WAIT_MS, 'bye to remove n1’s entries');
    await s2.stop();
    await s3.stop();
  });

  test('state parts stay small with long ids, and a round of several parts arrives whole', async () => {
    const bus = new Bus();
    const sizes: number[] = [];
    const ch = bus.channel();
    const measured: PresenceChannel = { ...ch, publishNode: (n, d) => (sizes.push(d.length), ch.publishNode(n, d)) };
    const [p1, p2] = [new Presence(), new Presence()];
    // 400 entries of ~1.1 KB each: more than one part's bytes, fewer than one part's entries.
    for (let i = 0; i < 400; i++) p1.join('s', `${'x'.repeat(1000)}${i}`, { clientId: 'a', agentId: null });
    const s2 = new PresenceSync(p2, bus.channel(), { intervalMs: 60_000, nodeId: 'n2' });
    const s1 = new PresenceSync(p1, measured, { intervalMs: 60_000, nodeId: 'n1' });
    s2.start();
    s1.start();
    await bus.watcher.until(() => p2.stats().remoteConnections === 400, WAIT_MS, 'every entry on n2');
    const stateSizes = sizes.filter((n) => n > 1000);
    assert.ok(stateSizes.length >= 2, `a state of ${stateSizes.length} part(s)`);
    for (const n of stateSizes) assert.ok(n <= 256 * 1024 + 2048, `a part of ${n} bytes`);
    await Promise.all([s1.stop(), s2.stop()]);
  });

  test('a node that falls silent expires after three intervals', async () => {
    const bus = new Bus();
    const [p1, p2] = [new Presence(), new Presence()];
    const ch1 = bus.channel();
    const s1 = new PresenceSync(p1, ch1, { intervalMs: 50, nodeId: 'n1' });
    const s2 = new PresenceSync(p2, bus.channel(), { intervalMs: 50, nodeId: 'n2' });
    const seen = changes(p2);
    p1.join('s', 'c', { clientId: 'a', agentId: 'x' });
    s2.start();
    s1.start();
    await bus.watcher.until(() => who(p2).length === 1, WAIT_MS, 'n1’s member on n2');
    // n1 goes silent without a bye (killed): everything it sends is lost from now on.
    bus.drop = () => true;
    const expired = new Watcher();
    p2.onChange(() => expired.notify());
    await expired.until(() => who(p2).length === 0, WAIT_MS, 'n1 to expire on n2');
    assert.deepEqual(seen, ['join c a/x', 'leave c a/x']);
    assert.deepEqual(s2.peerIds(), []);
    await Promise.all([s1.stop(), s2.stop()]);
  });
});

class Sink implements StreamSink {
  received: Frame[] = [];
  full = false;
  write(frame: Frame): WriteResult {
    if (this.full) return 'dropped';
    this.received.push(frame);
    return 'ok';
  }
  cork(fn: () => void): void {
    fn();
  }
  fail(): void {}
  ended(): void {}
  presence(): Array<Record<string, unknown>> {
    return this.received.filter((f) => f.event === 'presence').map((f) => JSON.parse(f.json) as Record<string, unknown>);
  }
}

describe('presence frames of the router', () => {
  test('a subscriber that missed presence events while full gets a snapshot when it is live again', async () => {
    const engine = new Engine(new MemoryLog(), { idempotencyTtlMs: 60_000, maxBatchUnits: 64, tailUnits: 16, maxCachedContexts: 10, maxTailBytes: 1 << 20 });
    await engine.open();
    const router = new Router(engine);
    const watcherSink = new Sink();
    const watcher = await router.subscribe('s', 'c', watcherSink, { identity: { clientId: 'w', agentId: 'watch' }, presence: true });
    assert.deepEqual(
      watcherSink.received.map((f) => f.event),
      ['subscribed', 'presence'],
    );
    assert.equal(watcherSink.presence()[0]!.action, 'snapshot');
    const other = await router.subscribe('s', 'c', new Sink(), { identity: { clientId: 'o', agentId: 'one' } });
    assert.deepEqual(
      watcherSink.presence().map((f) => f.action),
      ['snapshot', 'join'],
    );
    // Full: the leave is missed; once it drains and catches up, a snapshot says who is there.
    watcherSink.full = true;
    other.close();
    assert.equal(watcherSink.presence().length, 2);
    assert.equal(watcher.state, 'paused', 'a live subscription that missed a presence event pauses, so its drain resumes it');
    watcherSink.full = false;
    watcher.resume(); // at the head already: live again in this step
    assert.equal(watcher.state, 'live');
    const last = watcherSink.presence().at(-1)!;
    assert.equal(last.action, 'snapshot');
    assert.deepEqual(
      (last.members as Array<{ clientId: string }>).map((m) => m.clientId),
      ['w'],
    );
    watcher.close();
    assert.deepEqual(router.presence.stats().members, 0);
    router.close();
    await engine.close();
  });
});
