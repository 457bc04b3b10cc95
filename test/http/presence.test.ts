/**
 * Presence on one node, through the real interfaces: who is subscribed to a context (GET
 * /contexts/{id}/presence, gRPC GetPresence, the SDK), join and leave events for subscribers that
 * ask (WebSocket, SSE, gRPC), counts in /metrics, tenancy and shared spaces, and the ways a
 * connection leaves: unsubscribe, close, a killed client process, a client that stops answering.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import net from 'node:net';
import { join, resolve } from 'node:path';
import { after, describe, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { EngramClient, GrpcEngramClient, type PresenceEvent } from '../../src/client/index.js';
import { EngramGrpc, grpcServerPerFile, rejectsWith, StreamReader, type Msg } from '../helpers/grpc.js';
import { HttpClient } from '../helpers/http.js';
import { removeDir, startServer, tempDir } from '../helpers/server.js';
import { SseReader } from '../helpers/sse.js';
import { eventually, WAIT_MS, Watcher } from '../helpers/wait.js';
import { WsClient, type ServerFrame } from '../helpers/ws.js';

const dir = tempDir('engram-presence-');
writeFileSync(
  join(dir, 'engram.yaml'),
  `clients:
  groups:
    team:
      contexts: ["shared/*"]
      members: {alice: write, bob: read}
`,
);
const env = grpcServerPerFile({ args: ['--config', join(dir, 'engram.yaml')] });
after(() => removeDir(dir));

const as = (clientId: string) => ({ 'x-client-id': clientId });
const wsUrl = (query: string) => `${env.server.url.replace('http', 'ws')}/stream?${query}`;
const sseUrl = (query: string) => `${env.server.url}/stream-sse?${query}`;
const enc = encodeURIComponent;

interface Member {
  clientId: string;
  agentId: string | null;
  connections: number;
  since: string;
}

async function presence(contextId: string, clientId = 'alice'): Promise<{ contextId: string; members: Member[]; connections: number }> {
  const r = await env.http.get(`/contexts/${enc(contextId)}/presence`, as(clientId));
  assert.equal(r.status, 200, r.text);
  return r.json;
}

const who = (members: Member[]) => members.map((m) => `${m.clientId}/${m.agentId ?? '-'}×${m.connections}`);

/** Waits until GET presence lists exactly these members (client/agent×connections). */
function presenceIs(contextId: string, expected: string[], clientId = 'alice'): Promise<void> {
  let last: string[] = [];
  return eventually(
    async () => {
      last = who((await presence(contextId, clientId)).members);
      return JSON.stringify(last) === JSON.stringify(expected);
    },
    WAIT_MS,
    `presence of ${contextId} to be ${JSON.stringify(expected)}`,
  ).catch((err: Error) => {
    throw new Error(`${err.message}; last seen ${JSON.stringify(last)}`);
  });
}

const presenceFrames = (c: WsClient) => c.frames.filter((f) => f.event === 'presence');
const hasEvent = (frames: ServerFrame[], action: string, agentId: string | null) => frames.some((f) => f.action === action && (f.member?.agentId ?? null) === agentId);

async function openWs(query: string, clientId = 'alice'): Promise<WsClient> {
  const c = new WsClient(wsUrl(query), undefined, as(clientId));
  await c.open();
  return c;
}

describe('who is in a context', () => {
  test('a WebSocket subscription joins as its client and agent, and leaves on unsubscribe and on close', async () => {
    const ctx = 'p/ws-basic';
    assert.deepEqual(await presence(ctx), { contextId: ctx, members: [], connections: 0 });
    const planner = await openWs(`context=${enc(ctx)}&agentId=planner`);
    await planner.next((f) => f.event === 'subscribed');
    await presenceIs(ctx, ['alice/planner×1']);
    const p = await presence(ctx);
    assert.equal(p.connections, 1);
    assert.ok(Date.now() - Date.parse(p.members[0]!.since) < 10 * 60_000, 'since is a recent ISO time');

    // The same agent on a second connection: one member, two connections. A connection naming no agent: its client only.
    const second = await openWs(`context=${enc(ctx)}&agentId=planner`);
    const anonymous = await openWs(`context=${enc(ctx)}`);
    await presenceIs(ctx, ['alice/-×1', 'alice/planner×2']);

    planner.send({ op: 'unsubscribe', contextId: ctx, ref: 'u' });
    await planner.next((f) => f.event === 'unsubscribed');
    await presenceIs(ctx, ['alice/-×1', 'alice/planner×1']);
    second.close();
    anonymous.close();
    await presenceIs(ctx, []);
    planner.close();
  });

  test('SSE and gRPC subscriptions are present too, and leave when they end', async () => {
    const ctx = 'p/sse-grpc';
    const sse = new SseReader(sseUrl(`context=${enc(ctx)}&agentId=reader`), as('alice'));
    await sse.until(() => sse.events.some((e) => e.event === 'subscribed'));
    const meta = new grpc.Metadata();
    meta.set('x-client-id', 'alice');
    const call = env.grpc.Subscribe({ contextId: ctx, agentId: 'streamer' }, { metadata: meta });
    const reader = new StreamReader(call);
    await reader.until((m) => m.some((x: Msg) => x.event === 'subscribed'));
    await presenceIs(ctx, ['alice/reader×1', 'alice/streamer×1']);
    const viaGrpc = await env.grpc.call('GetPresence', { contextId: ctx }, { metadata: meta });
    assert.deepEqual(
      viaGrpc.members.map((m: Msg) => `${m.clientId}/${m.agentId}×${m.connections}`),
      ['alice/reader×1', 'alice/streamer×1'],
    );
    assert.equal(viaGrpc.connections, 2);
    sse.close();
    await presenceIs(ctx, ['alice/streamer×1']);
    call.cancel();
    await presenceIs(ctx, []);
  });

  test('an agentId that is not an id is refused', async () => {
    const r = await env.http.get(`/stream-sse?context=x&agentId=${enc('a\u0001b')}`, as('alice'));
    assert.equal(r.status, 400, r.text);
    assert.equal(r.json.error.code, 'INVALID_ID');
  });
});

describe('join and leave events, for subscribers that ask', () => {
  test('WebSocket, SSE and gRPC watchers get a snapshot, then each join and leave; others get none', async () => {
    const ctx = 'p/events';
    const ws = await openWs(`context=${enc(ctx)}&agentId=ws-watcher&presence=1`);
    const sse = new SseReader(sseUrl(`context=${enc(ctx)}&agentId=sse-watcher&presence=1`), as('alice'));
    const meta = new grpc.Metadata();
    meta.set('x-client-id', 'alice');
    const g = new StreamReader(env.grpc.Subscribe({ contextId: ctx, agentId: 'grpc-watcher', presence: true }, { metadata: meta }));
    const quiet = await openWs(`context=${enc(ctx)}&agentId=quiet`);
    await presenceIs(ctx, ['alice/grpc-watcher×1', 'alice/quiet×1', 'alice/sse-watcher×1', 'alice/ws-watcher×1']);

    // The first presence frame is the snapshot, right after subscribed, and it includes the watcher itself.
    await ws.until(() => presenceFrames(ws).length > 0);
    const wsSnapshot = presenceFrames(ws)[0]!;
    assert.equal(wsSnapshot.action, 'snapshot');
    assert.equal(wsSnapshot.contextId, ctx);
    assert.ok(
      wsSnapshot.members.some((m: Member) => m.agentId === 'ws-watcher'),
      JSON.stringify(wsSnapshot),
    );
    const subscribedAt = ws.frames.findIndex((f) => f.event === 'subscribed');
    assert.ok(subscribedAt >= 0 && subscribedAt < ws.frames.indexOf(wsSnapshot), 'subscribed comes first');
    const sseEvents = () => sse.events.filter((e) => e.event === 'presence').map((e) => JSON.parse(e.data) as ServerFrame);
    await sse.until(() => sseEvents().length > 0);
    assert.equal(sseEvents()[0]!.action, 'snapshot');
    const grpcEvents = () => g.messages.filter((m: Msg) => m.event === 'presence').map((m: Msg) => m.presence);
    await g.until(() => grpcEvents().length > 0);
    assert.equal(grpcEvents()[0].action, 'snapshot');
    assert.equal(grpcEvents()[0].contextId, ctx);

    // A newcomer joins: every watcher hears it once, whatever its transport.
    const coder = await openWs(`context=${enc(ctx)}&agentId=coder`);
    await ws.until(() => hasEvent(presenceFrames(ws), 'join', 'coder'));
    await sse.until(() => hasEvent(sseEvents(), 'join', 'coder'));
    await g.until(() => grpcEvents().some((e: Msg) => e.action === 'join' && e.members[0]?.agentId === 'coder'));
    const join = presenceFrames(ws).find((f) => f.action === 'join' && f.member.agentId === 'coder')!;
    assert.deepEqual(Object.keys(join.member).sort(), ['agentId', 'clientId', 'connections', 'since']);
    assert.equal(join.member.clientId, 'alice');
    assert.equal(join.member.connections, 1);

    // A second connection of the same agent is no new member: no second join, and no leave when one of the two closes.
    const coder2 = await openWs(`context=${enc(ctx)}&agentId=coder`);
    await presenceIs(ctx, ['alice/coder×2', 'alice/grpc-watcher×1', 'alice/quiet×1', 'alice/sse-watcher×1', 'alice/ws-watcher×1']);
    coder2.close();
    await presenceIs(ctx, ['alice/coder×1', 'alice/grpc-watcher×1', 'alice/quiet×1', 'alice/sse-watcher×1', 'alice/ws-watcher×1']);
    coder.close();
    await ws.until(() => hasEvent(presenceFrames(ws), 'leave', 'coder'));
    await sse.until(() => hasEvent(sseEvents(), 'leave', 'coder'));
    await g.until(() => grpcEvents().some((e: Msg) => e.action === 'leave' && e.members[0]?.agentId === 'coder'));
    const coderEvents = presenceFrames(ws)
      .filter((f) => f.member?.agentId === 'coder')
      .map((f) => `${f.action}:${f.member.connections}`);
    assert.deepEqual(coderEvents, ['join:1', 'leave:0']);

    // The subscriber that did not ask got no presence frame at all.
    assert.deepEqual(presenceFrames(quiet), []);
    ws.close();
    sse.close();
    g.stream.cancel();
    quiet.close();
    await presenceIs(ctx, []);
  });

  test('subscribing again to the same context on a WebSocket is no leave and join', async () => {
    const ctx = 'p/resubscribe';
    const watcher = await openWs(`context=${enc(ctx)}&agentId=watcher&presence=1`);
    const mover = await openWs(`context=${enc(ctx)}&agentId=mover`);
    await watcher.until(() => hasEvent(presenceFrames(watcher), 'join', 'mover'));
    mover.send({ op: 'subscribe', contextId: ctx, since: 0, ref: 'again' });
    await mover.next((f) => f.event === 'subscribed' && f.ref === 'again');
    // Something after the resubscription that the watcher must see: then anything before it has arrived too.
    const marker = await openWs(`context=${enc(ctx)}&agentId=marker`);
    await watcher.until(() => hasEvent(presenceFrames(watcher), 'join', 'marker'));
    assert.equal(hasEvent(presenceFrames(watcher), 'leave', 'mover'), false, JSON.stringify(presenceFrames(watcher)));
    await presenceIs(ctx, ['alice/marker×1', 'alice/mover×1', 'alice/watcher×1']);
    // A WebSocket subscribe message asks for presence with "presence": true, and may name its own agent.
    marker.send({ op: 'subscribe', contextId: 'p/resubscribe-2', presence: true, agentId: 'marker-2', ref: 'p' });
    const snapshot = await marker.next((f) => f.event === 'presence' && f.action === 'snapshot' && f.contextId === 'p/resubscribe-2');
    assert.deepEqual(
      snapshot.members.map((m: Member) => m.agentId),
      ['marker-2'],
    );
    marker.send({ op: 'subscribe', contextId: 'p/resubscribe-3', agentId: '', ref: 'bad' });
    assert.equal((await marker.next((f) => f.event === 'error' && f.ref === 'bad')).error.code, 'INVALID_ID');
    for (const c of [watcher, mover, marker]) c.close();
    await presenceIs(ctx, []);
  });
});

describe('a deleted context', () => {
  test('deleting a context ends its subscriptions, and with them its presence', async () => {
    const ctx = 'p/doomed-context';
    assert.equal((await env.http.post('/workunit', { contextId: ctx, agentId: 'w', type: 'MESSAGE', payload: 'x' }, as('alice'))).status, 201);
    const a = await openWs(`context=${enc(ctx)}&agentId=stays-connected`);
    const b = await openWs(`context=${enc(ctx)}&agentId=also`);
    await presenceIs(ctx, ['alice/also×1', 'alice/stays-connected×1']);
    const r = await env.http.request('DELETE', `/contexts/${enc(ctx)}`, { headers: as('alice') });
    assert.equal(r.status, 200, r.text);
    await a.next((f) => f.event === 'deleted');
    await b.next((f) => f.event === 'deleted');
    await presenceIs(ctx, []);
    assert.equal(a.closed, undefined, 'the WebSocket itself stays open');
    a.close();
    b.close();
  });
});

describe('crashed connections leave', () => {
  test('a client process killed with SIGKILL leaves presence, over WebSocket, SSE and gRPC', async () => {
    const ctx = 'p/killed';
    const watcher = await openWs(`context=${enc(ctx)}&agentId=watcher&presence=1`);
    const sdk = resolve(import.meta.dirname, '../../src/client/index.js');
    const script = `import http from 'node:http';
import WebSocket from 'ws';
import { GrpcEngramClient } from ${JSON.stringify(sdk)};
const ws = new WebSocket(${JSON.stringify(wsUrl(`context=${enc(ctx)}&agentId=doomed-ws`))}, { headers: { 'x-client-id': 'alice' } });
ws.on('message', (d) => { if (JSON.parse(d.toString()).event === 'subscribed') process.stdout.write('ws\\n'); });
http.get(${JSON.stringify(sseUrl(`context=${enc(ctx)}&agentId=doomed-sse`))}, { headers: { 'x-client-id': 'alice' } }, (res) => {
  res.on('data', (d) => { if (d.toString().includes('event: subscribed')) process.stdout.write('sse\\n'); });
});
const g = new GrpcEngramClient(${JSON.stringify(env.server.grpcAddr)});
(async () => { for await (const _ of g.subscribe(${JSON.stringify(ctx)}, { agentId: 'doomed-grpc' })) void _; })();
setInterval(() => undefined, 1000);`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { cwd: resolve(import.meta.dirname, '../../..'), stdio: ['ignore', 'pipe', 'inherit'] });
    const exited = new Promise<void>((r) => child.on('exit', () => r()));
    const doomed = ['doomed-grpc', 'doomed-sse', 'doomed-ws'];
    try {
      // The gRPC SDK acts as the default client: its member is in the default client's context of this id, so it is watched there.
      const defaultWatcher = await openWs(`context=${enc(ctx)}&agentId=watcher&presence=1`, 'default');
      const watch = new Watcher();
      let out = '';
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        watch.notify();
      });
      await watch.until(() => out.includes('ws') && out.includes('sse'), WAIT_MS, 'the child to subscribe');
      await watcher.until(() => hasEvent(presenceFrames(watcher), 'join', 'doomed-ws') && hasEvent(presenceFrames(watcher), 'join', 'doomed-sse'));
      await defaultWatcher.until(() => hasEvent(presenceFrames(defaultWatcher), 'join', 'doomed-grpc'));
      child.kill('SIGKILL');
      for (const agent of doomed.slice(1)) await watcher.until(() => hasEvent(presenceFrames(watcher), 'leave', agent), WAIT_MS, `the leave of ${agent}`);
      await defaultWatcher.until(() => hasEvent(presenceFrames(defaultWatcher), 'leave', 'doomed-grpc'), WAIT_MS, 'the leave of doomed-grpc');
      await presenceIs(ctx, ['alice/watcher×1']);
      await presenceIs(ctx, ['default/watcher×1'], 'default');
      defaultWatcher.close();
    } finally {
      child.kill('SIGKILL');
      await exited;
      watcher.close();
    }
  });

  test('a WebSocket that stops answering pings leaves when the idle timeout closes it', async () => {
    // The server pings a quiet connection and closes it when no pong comes. 12 s, not the minimum
    // 8 s: a wide margin for the watcher, which must answer its pings on a busy machine too.
    const server = await startServer({ args: ['--stream-idle-timeout', '12s', '--stream-heartbeat', '1s'] });
    const ctx = 'p/silent';
    const url = `${server.url.replace('http', 'ws')}/stream?context=${enc(ctx)}&agentId=watcher&presence=1`;
    const watcher = new WsClient(url); // answers pings
    await watcher.open();
    const dead = net.connect(server.port, '127.0.0.1');
    const deadClosed = new Promise<void>((r) => dead.on('close', () => r()));
    dead.on('error', () => undefined);
    dead.on('data', () => undefined); // reads, but never writes a pong
    dead.write(
      `GET /stream?context=${enc(ctx)}&agentId=ghost HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ZW5ncmFtLXRlc3Qta2V5IQ==\r\n\r\n`,
    );
    try {
      await watcher.until(() => hasEvent(presenceFrames(watcher), 'join', 'ghost'), WAIT_MS, 'the silent client to join');
      await watcher.until(() => hasEvent(presenceFrames(watcher), 'leave', 'ghost'), WAIT_MS, 'the silent client to leave');
      await deadClosed;
      assert.equal(watcher.closed, undefined, 'the watcher, which answers pings, is still there');
    } finally {
      dead.destroy();
      watcher.close();
      assert.equal(await server.stop(), 0);
      removeDir(server.dataDir);
    }
  });
});

describe('a cut-off gRPC subscriber', () => {
  test('leaves when the server’s keepalive pings go unanswered', async () => {
    // A TCP relay between client and server that, once frozen, passes nothing either way and closes
    // nothing: a network cut, or a machine that died without a FIN.
    const server = await startServer({ args: ['--stream-idle-timeout', '8s'] });
    const [host, port] = [server.grpcAddr.slice(0, server.grpcAddr.lastIndexOf(':')), Number(server.grpcAddr.slice(server.grpcAddr.lastIndexOf(':') + 1))];
    const sockets: net.Socket[] = [];
    let frozen = false;
    const relay = net.createServer((inbound) => {
      const outbound = net.connect(port, host);
      sockets.push(inbound, outbound);
      for (const [from, to] of [
        [inbound, outbound],
        [outbound, inbound],
      ] as const) {
        from.on('data', (d: Buffer) => {
          if (!frozen) to.write(d);
        });
        from.on('error', () => undefined);
      }
    });
    await new Promise<void>((r) => relay.listen(0, '127.0.0.1', () => r()));
    const relayPort = (relay.address() as net.AddressInfo).port;
    const viaRelay = new EngramGrpc(`127.0.0.1:${relayPort}`);
    const direct = new HttpClientFor(server.url);
    try {
      const reader = new StreamReader(viaRelay.Subscribe({ contextId: 'p/cut', agentId: 'cut-off' }));
      await reader.until((m) => m.some((x: Msg) => x.event === 'subscribed'));
      await direct.presenceIs('p/cut', ['default/cut-off×1']);
      frozen = true;
      await direct.presenceIs('p/cut', []);
    } finally {
      viaRelay.close();
      for (const s of sockets) s.destroy();
      relay.close();
      direct.close();
      assert.equal(await server.stop(), 0);
      removeDir(server.dataDir);
    }
  });
});

/** Presence reads against a server of its own. */
class HttpClientFor {
  private readonly http: HttpClient;
  constructor(url: string) {
    this.http = new HttpClient(url);
  }
  presenceIs(contextId: string, expected: string[]): Promise<void> {
    let last: string[] = [];
    return eventually(
      async () => {
        last = who((await this.http.get(`/contexts/${enc(contextId)}/presence`)).json.members);
        return JSON.stringify(last) === JSON.stringify(expected);
      },
      WAIT_MS,
      `presence of ${contextId} to be ${JSON.stringify(expected)}`,
    ).catch((err: Error) => {
      throw new Error(`${err.message}; last seen ${JSON.stringify(last)}`);
    });
  }
  close(): void {
    this.http.close();
  }
}

describe('access', () => {
  test('a client sees presence only in its own contexts; a shared space shows every member', async () => {
    const ctx = 'p/private';
    const alice = await openWs(`context=${enc(ctx)}&agentId=a1`);
    await presenceIs(ctx, ['alice/a1×1']);
    // Carol's context of that id is another context (her own space): nobody is there.
    assert.deepEqual((await presence(ctx, 'carol')).members, []);
    alice.close();

    const shared = 'shared/room';
    const a = await openWs(`context=${enc(shared)}&agentId=writer`, 'alice');
    const b = await openWs(`context=${enc(shared)}&agentId=reader&presence=1`, 'bob');
    await presenceIs(shared, ['alice/writer×1', 'bob/reader×1'], 'bob');
    await presenceIs(shared, ['alice/writer×1', 'bob/reader×1'], 'alice');
    assert.deepEqual((await presence(shared, 'carol')).members, [], 'carol is no member: her shared/room is her own, and empty');
    a.close();
    await b.until(() => presenceFrames(b).some((f) => f.action === 'leave' && f.member.clientId === 'alice'));
    b.close();
    await presenceIs(shared, [], 'bob');
  });
});

describe('credentials', () => {
  test('presence needs credentials that may read the context: none is 401, one limited to other contexts is 403', async () => {
    const key = (name: string) => `egk_${name}-presence-key-0123456789abcdefghijklmnopqrstuvwxyz`;
    const sha = (k: string) => 'sha256:' + createHash('sha256').update(k).digest('hex');
    const cfgDir = tempDir('engram-presence-auth-');
    writeFileSync(
      join(cfgDir, 'engram.yaml'),
      `auth:
  mode: apikey
  keys:
    - {client: acme, hash: "${sha(key('full'))}", scopes: [read, write]}
    - {client: acme, hash: "${sha(key('team'))}", scopes: [read], contexts: ["team/*"]}
`,
    );
    const server = await startServer({ args: ['--config', join(cfgDir, 'engram.yaml'), '--search-embedder', 'none'] });
    const http = new HttpClient(server.url);
    const g = new EngramGrpc(server.grpcAddr);
    const full = { authorization: `Bearer ${key('full')}` };
    const team = { authorization: `Bearer ${key('team')}` };
    const ws = new WsClient(`${server.url.replace('http', 'ws')}/stream?context=secret%2Fplan&agentId=spy-target`, undefined, full);
    try {
      await ws.open();
      await ws.next((f) => f.event === 'subscribed');
      const seen = await http.get('/contexts/secret%2Fplan/presence', full);
      assert.deepEqual(who(seen.json.members), ['acme/spy-target×1']);
      const limited = await http.get('/contexts/secret%2Fplan/presence', team);
      assert.equal(limited.status, 403, limited.text);
      assert.equal(limited.json.error.code, 'FORBIDDEN');
      assert.equal((await http.get('/contexts/secret%2Fplan/presence')).status, 401);
      const m = new grpc.Metadata();
      m.set('authorization', team.authorization);
      await rejectsWith(g.call('GetPresence', { contextId: 'secret/plan' }, { metadata: m }), grpc.status.PERMISSION_DENIED, 'FORBIDDEN');
      // Its own contexts it sees.
      assert.equal((await http.get('/contexts/team%2Fplan/presence', team)).status, 200);
    } finally {
      ws.close();
      g.close();
      http.close();
      assert.equal(await server.stop(), 0);
      removeDir(server.dataDir);
      removeDir(cfgDir);
    }
  });
});

describe('metrics and the SDK', () => {
  test('/metrics counts present connections, members and contexts', async () => {
    const ctx = 'p/metrics';
    const value = async (name: string) => {
      const text = (await env.http.get('/metrics')).text;
      const line = text.split('\n').find((l) => l.startsWith(name + ' ') || l.startsWith(name + '{'));
      return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
    };
    await presenceIs(ctx, []);
    const before = (await value('engram_presence_connections{origin="local"}')) ?? 0;
    const c1 = await openWs(`context=${enc(ctx)}&agentId=m1`);
    const c2 = await openWs(`context=${enc(ctx)}&agentId=m2`);
    await presenceIs(ctx, ['alice/m1×1', 'alice/m2×1']);
    assert.equal(await value('engram_presence_connections{origin="local"}'), before + 2);
    assert.ok(((await value('engram_presence_members')) ?? 0) >= 2);
    assert.ok(((await value('engram_presence_contexts')) ?? 0) >= 1);
    assert.equal(await value('engram_presence_connections{origin="remote"}'), 0);
    const health = (await env.http.get('/health/detailed')).json.streams.presence;
    assert.equal(health.otherNodes, null, 'one node: no other nodes');
    assert.ok(health.localConnections >= 2 && health.members >= 2, JSON.stringify(health));
    c1.close();
    c2.close();
    await presenceIs(ctx, []);
    assert.equal(await value('engram_presence_connections{origin="local"}'), before);
  });

  test('the SDK subscribes as an agent, hears presence events and reads presence, over HTTP and gRPC', async () => {
    const ctx = 'p/sdk';
    // Both as the default client (the gRPC SDK names none).
    const http = new EngramClient(env.server.url);
    const g = new GrpcEngramClient(env.server.grpcAddr);
    const abort = new AbortController();
    const events: PresenceEvent[] = [];
    const watch = new Watcher();
    const onPresence = (e: PresenceEvent) => {
      events.push(e);
      watch.notify();
    };
    const drain = async (it: AsyncIterableIterator<unknown>) => {
      for await (const _ of it) void _;
    };
    const a = drain(http.subscribe(ctx, { agentId: 'sdk-http', onPresence, signal: abort.signal }));
    const grpcEvents: PresenceEvent[] = [];
    const b = drain(
      g.subscribe(ctx, {
        agentId: 'sdk-grpc',
        signal: abort.signal,
        onPresence: (e) => {
          grpcEvents.push(e);
          watch.notify();
        },
      }),
    );
    try {
      await presenceIs(ctx, ['default/sdk-grpc×1', 'default/sdk-http×1'], 'default');
      const viaHttp = await http.presence(ctx);
      const viaGrpc = await g.presence(ctx);
      assert.deepEqual(
        viaHttp.members.map((m) => m.agentId),
        ['sdk-grpc', 'sdk-http'],
      );
      assert.deepEqual(viaGrpc, viaHttp);
      await watch.until(
        () =>
          events.some((e) => e.action === 'join' && e.members[0]?.agentId === 'sdk-grpc') ||
          events.some((e) => e.action === 'snapshot' && e.members.some((m) => m.agentId === 'sdk-grpc')),
        WAIT_MS,
        'the gRPC subscriber in the HTTP one’s events',
      );
      assert.equal(events[0]!.action, 'snapshot');
      // The gRPC SDK's events: its snapshot holds itself, then whatever came since.
      await watch.until(() => grpcEvents.some((e) => e.action === 'snapshot' && e.members.some((m) => m.agentId === 'sdk-grpc')), WAIT_MS, 'the gRPC SDK’s snapshot');
      const third = await openWs(`context=${enc(ctx)}&agentId=sdk-third`, 'default');
      await watch.until(() => grpcEvents.some((e) => e.action === 'join' && e.members[0]?.agentId === 'sdk-third'), WAIT_MS, 'a join through the gRPC SDK');
      third.close();
      await watch.until(
        () =>
          grpcEvents.some((e) => e.action === 'leave' && e.members[0]?.agentId === 'sdk-third') &&
          events.some((e) => e.action === 'leave' && e.members[0]?.agentId === 'sdk-third'),
        WAIT_MS,
        'its leave through both SDKs',
      );
    } finally {
      abort.abort();
      await Promise.allSettled([a, b]);
      g.close();
    }
    await presenceIs(ctx, [], 'default');
  });
});
