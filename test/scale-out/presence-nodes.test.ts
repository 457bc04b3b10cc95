/**
 * Presence across two Engram nodes on one NATS server (real bin/engram processes, storage.backend
 * nats): a subscriber on one node is present on the other, joins and leaves reach watchers on
 * both, a killed node's members expire, and a node that (re)starts learns who is there at once.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { NatsCluster, natsMissing } from '../helpers/nats-cluster.js';
import { HttpClient } from '../helpers/http.js';
import { removeDir, startServer, tempDir, type RunningServer } from '../helpers/server.js';
import { eventually, WAIT_MS, Watcher } from '../helpers/wait.js';
import { WsClient, type ServerFrame } from '../helpers/ws.js';

const SKIP = natsMissing();

interface Node {
  server: RunningServer;
  http: HttpClient;
  dataDir: string;
}

interface Member {
  clientId: string;
  agentId: string | null;
  connections: number;
}

describe('presence across two nodes', { skip: SKIP ? `skipped: ${SKIP}` : false, timeout: 300_000 }, () => {
  let nats: NatsCluster;
  let a: Node;
  let b: Node;
  const dirs: string[] = [];
  const clients: WsClient[] = [];

  // State every second: a killed node is forgotten after 3 s of silence, long enough that a busy
  // machine's pauses do not make a live node look dead (which would show as a spurious leave).
  async function startNode(dataDir = tempDir('engram-presence-node-')): Promise<Node> {
    if (!dirs.includes(dataDir)) dirs.push(dataDir);
    const server = await startServer({
      dataDir,
      args: ['--storage-backend', 'nats', '--nats-urls', nats.urls.join(','), '--nats-replicas', '1', '--search-enabled', 'false', '--stream-presence-interval', '1s'],
    });
    return { server, http: new HttpClient(server.url), dataDir };
  }

  before(async () => {
    nats = await NatsCluster.start(1);
    a = await startNode();
    b = await startNode();
  });

  after(async () => {
    for (const c of clients) c.close();
    for (const n of [a, b]) {
      n?.http.close();
      await n?.server.stop().catch(() => undefined);
    }
    await nats?.stop();
    dirs.forEach(removeDir);
  });

  const enc = encodeURIComponent;

  async function open(n: Node, contextId: string, agentId: string, presence = false): Promise<WsClient> {
    const c = new WsClient(`${n.server.url.replace('http', 'ws')}/stream?context=${enc(contextId)}&agentId=${enc(agentId)}${presence ? '&presence=1' : ''}`);
    clients.push(c);
    await c.open();
    await c.next((f) => f.event === 'subscribed');
    return c;
  }

  const who = (members: Member[]) => members.map((m) => `${m.clientId}/${m.agentId ?? '-'}×${m.connections}`);

  function presenceIs(n: Node, contextId: string, expected: string[]): Promise<void> {
    let last: string[] = [];
    return eventually(
      async () => {
        const r = await n.http.get(`/contexts/${enc(contextId)}/presence`);
        assert.equal(r.status, 200, r.text);
        last = who(r.json.members);
        return JSON.stringify(last) === JSON.stringify(expected);
      },
      WAIT_MS,
      `presence of ${contextId} on ${n.server.url} to be ${JSON.stringify(expected)}`,
    ).catch((err: Error) => {
      throw new Error(`${err.message}; last seen ${JSON.stringify(last)}`);
    });
  }

  const events = (c: WsClient, agentId: string) =>
    c.frames.filter((f: ServerFrame) => f.event === 'presence' && f.member?.agentId === agentId).map((f: ServerFrame) => `${f.action}:${f.member.connections}`);

  test('a subscriber on one node is present on the other; its join and leave reach watchers there', async () => {
    // Dots, spaces and non-ASCII in the id: each becomes one subject token, escaped.
    const ctx = 'room.one two/ünï*>';
    const watcher = await open(b, ctx, 'watcher-b', true);
    const alpha = await open(a, ctx, 'alpha');
    await watcher.until(() => events(watcher, 'alpha').includes('join:1'), WAIT_MS, 'alpha to join on B');
    await presenceIs(b, ctx, ['default/alpha×1', 'default/watcher-b×1']);
    await presenceIs(a, ctx, ['default/alpha×1', 'default/watcher-b×1']);

    // The same agent on both nodes is one member with two connections; one of them closing is no leave.
    const alphaOnB = await open(b, ctx, 'alpha');
    await presenceIs(a, ctx, ['default/alpha×2', 'default/watcher-b×1']);
    alpha.close();
    await presenceIs(a, ctx, ['default/alpha×1', 'default/watcher-b×1']);
    alphaOnB.close();
    await watcher.until(() => events(watcher, 'alpha').includes('leave:0'), WAIT_MS, 'alpha to leave on B');
    assert.deepEqual(events(watcher, 'alpha'), ['join:1', 'leave:0']);
    // Each node has heard from the other (the operator's view).
    for (const n of [a, b]) {
      await eventually(async () => (await n.http.get('/health/detailed')).json.streams.presence.otherNodes === 1, WAIT_MS, 'one other node in /health/detailed');
    }
    await presenceIs(a, ctx, ['default/watcher-b×1']);
    watcher.close();
    await presenceIs(a, ctx, []);
  });

  test('changes go out on ENGRAM.presence.<space>.<context> with escaped ids, node state on ENGRAM.presence.<node>', async () => {
    const { connect } = await import('@nats-io/transport-node');
    const nc = await connect({ servers: nats.urls });
    const seen: Array<{ subject: string; data: Record<string, unknown> }> = [];
    const watch = new Watcher();
    nc.subscribe('ENGRAM.presence.>', {
      callback: (_err, msg) => {
        seen.push({ subject: msg.subject, data: JSON.parse(new TextDecoder().decode(msg.data)) as Record<string, unknown> });
        watch.notify();
      },
    });
    await nc.flush();
    try {
      const c = await open(a, 'dots.and space', 'subjects');
      const subject = 'ENGRAM.presence.default.dots=2Eand=20space';
      await watch.until(() => seen.some((m) => m.subject === subject && m.data.kind === 'change'), WAIT_MS, `a change on ${subject}`);
      const change = seen.find((m) => m.subject === subject)!.data;
      assert.deepEqual((change.entry as unknown[]).slice(0, 5), ['default', 'dots.and space', 'default', 'subjects', 1]);
      await watch.until(() => seen.some((m) => /^ENGRAM\.presence\.[0-9a-f]{16}$/.test(m.subject) && m.data.kind === 'state'), WAIT_MS, 'a node state');
      c.close();
      await watch.until(() => seen.filter((m) => m.subject === subject).some((m) => (m.data.entry as unknown[])[4] === 0), WAIT_MS, 'the leave, as a count of 0');
    } finally {
      await nc.close();
    }
  });

  test('a killed node’s members leave on the other when it falls silent; a node that starts learns who is there', async () => {
    const ctx = 'crash-room';
    const watcher = await open(b, ctx, 'watcher-b', true);
    await open(a, ctx, 'doomed');
    await watcher.until(() => events(watcher, 'doomed').includes('join:1'), WAIT_MS, 'doomed to join on B');
    const metrics = async (n: Node, name: string) => {
      const line = (await n.http.get('/metrics')).text.split('\n').find((l) => l.startsWith(name));
      return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
    };
    assert.ok(((await metrics(b, 'engram_presence_connections{origin="remote"}')) ?? 0) >= 1, 'B counts A’s connection as remote');

    // SIGKILL: no bye, no leave; B forgets A once nothing is heard from it for 3 intervals.
    await a.server.stop('SIGKILL');
    a.http.close();
    await watcher.until(() => events(watcher, 'doomed').includes('leave:0'), WAIT_MS, 'the killed node’s member to leave on B');
    await presenceIs(b, ctx, ['default/watcher-b×1']);

    // A node that starts (again, on the same data dir) hears B's state as soon as it says hello.
    a = await startNode(a.dataDir);
    await presenceIs(a, ctx, ['default/watcher-b×1']);
    const back = await open(a, ctx, 'back');
    await watcher.until(() => events(watcher, 'back').includes('join:1'), WAIT_MS, 'a member of the restarted node to join on B');
    back.close();
    await watcher.until(() => events(watcher, 'back').includes('leave:0'), WAIT_MS, 'it to leave on B');
    watcher.close();
    await presenceIs(a, ctx, []);
  });

  test('a node that stops cleanly takes its members with it at once', async () => {
    const ctx = 'clean-stop';
    const watcher = await open(b, ctx, 'watcher-b', true);
    await open(a, ctx, 'leaving');
    await watcher.until(() => events(watcher, 'leaving').includes('join:1'), WAIT_MS, 'leaving to join on B');
    assert.equal(await a.server.stop(), 0);
    a.http.close();
    await watcher.until(() => events(watcher, 'leaving').includes('leave:0'), WAIT_MS, 'the stopped node’s member to leave on B');
    await presenceIs(b, ctx, ['default/watcher-b×1']);
    watcher.close();
  });
});
