/**
 * Scale-out, end to end: a 3-server JetStream cluster and two Engram nodes (real bin/engram
 * processes with storage.backend nats) on loopback, driven through their HTTP and WebSocket APIs.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { NatsCluster, natsMissing } from '../helpers/nats-cluster.js';
import { HttpClient, unit } from '../helpers/http.js';
import { removeDir, startServer, tempDir, type RunningServer } from '../helpers/server.js';
import { eventually, WAIT_MS } from '../helpers/wait.js';
import { range, WsClient, type ServerFrame } from '../helpers/ws.js';

const SKIP = natsMissing();

interface Node {
  server: RunningServer;
  http: HttpClient;
  dataDir: string;
}

describe('two Engram nodes on one JetStream cluster', { skip: SKIP ? `skipped: ${SKIP}` : false, timeout: 300_000 }, () => {
  let nats: NatsCluster;
  let a: Node;
  let b: Node;
  const dirs: string[] = [];

  async function startNode(urls: string[], dataDir = tempDir('engram-node-')): Promise<Node> {
    if (!dirs.includes(dataDir)) dirs.push(dataDir);
    const server = await startServer({
      dataDir,
      args: ['--storage-backend', 'nats', '--nats-urls', urls.join(','), '--nats-replicas', '3', '--search-enabled', 'false'],
    });
    return { server, http: new HttpClient(server.url), dataDir };
  }

  before(async () => {
    nats = await NatsCluster.start(3);
    const urls = nats.urls;
    a = await startNode(urls);
    b = await startNode([urls[1]!, urls[2]!, urls[0]!]);
  });

  after(async () => {
    for (const n of [a, b]) {
      n?.http.close();
      await n?.server.stop().catch(() => undefined);
    }
    await nats?.stop();
    dirs.forEach(removeDir);
  });

  const wsUrl = (n: Node, query: string) => `${n.server.url.replace('http', 'ws')}/stream${query}`;

  test('writes through node A reach subscribers on node B, in order, and read back the same on both', async () => {
    const sub = new WsClient(wsUrl(b, '?context=fanout&since=0'));
    await sub.open();
    await sub.next((f) => f.event === 'subscribed');
    const ids: string[] = [];
    for (let i = 0; i < 30; i++) {
      const r = await a.http.post('/workunit', unit('fanout', { payload: { i } }));
      assert.equal(r.status, 201, r.text);
      ids.push(r.json.id);
    }
    // And a burst written at once (one batch on A).
    const burst = await Promise.all(range(30, 59).map((i) => a.http.post('/workunit', unit('fanout', { payload: { i } }))));
    for (const r of burst) assert.equal(r.status, 201, r.text);
    await sub.untilSeq('fanout', 60);
    assert.deepEqual(sub.seqs('fanout'), range(1, 60));
    const received = sub.frames.filter((f) => f.event === 'workunit').map((f) => f.workUnit.id);
    assert.deepEqual(received.slice(0, 30), ids);
    for (const n of [a, b]) {
      const page = await n.http.get('/workunits/fanout?limit=100');
      assert.equal(page.status, 200, page.text);
      assert.deepEqual(
        page.json.workUnits.map((u: { id: string }) => u.id),
        received,
      );
    }
    sub.close();
  });

  test('concurrent writers on both nodes to one context get unique, gap-free seqs', async () => {
    const perWriter = 40;
    const writers = 3;
    const write = (n: Node, w: number) => async () => {
      const seqs: number[] = [];
      for (let i = 0; i < perWriter; i++) {
        const r = await n.http.post('/workunit', unit('race', { agentId: `w${w}`, payload: { w, i } }));
        assert.equal(r.status, 201, r.text);
        seqs.push(r.json.seq);
      }
      return seqs;
    };
    const results = await Promise.all([...range(1, writers).map((w) => write(a, w)()), ...range(1, writers).map((w) => write(b, w + writers)())]);
    const all = results.flat().sort((x, y) => x - y);
    assert.deepEqual(all, range(1, 2 * writers * perWriter), 'every seq once, none missing');
    // Each writer's seqs increase: its writes were sequenced in the order it made them.
    for (const seqs of results) for (let i = 1; i < seqs.length; i++) assert.ok(seqs[i]! > seqs[i - 1]!);
    for (const n of [a, b]) {
      const units: Array<{ seq: number; payload: { w: number; i: number } }> = [];
      let after = 0;
      for (;;) {
        const page = await n.http.get(`/workunits/race?limit=100&after=${after}`);
        units.push(...page.json.workUnits);
        if (page.json.nextCursor === null) break;
        after = page.json.nextCursor;
      }
      assert.deepEqual(
        units.map((u) => u.seq),
        all,
        'both nodes read the same context',
      );
      assert.equal(new Set(units.map((u) => `${u.payload.w}/${u.payload.i}`)).size, all.length, 'no write stored twice');
    }
  });

  test('an idempotent retry through the other node replays the first unit', async () => {
    const key = { 'idempotency-key': 'retry-1' };
    const first = await a.http.post('/workunit', unit('idem'), key);
    assert.equal(first.status, 201, first.text);
    const again = await b.http.post('/workunit', unit('idem'), key);
    assert.equal(again.json.id, first.json.id);
    assert.equal(again.json.seq, first.json.seq);
    assert.equal((await b.http.get('/contexts/idem')).json.headSeq, 1);
  });

  test('locks contended across nodes: one holder at a time, increasing tokens, fences hold on both nodes', async () => {
    const resource = 'shared/plan.md';
    const path = `/locks/${encodeURIComponent(resource)}`;
    let holder: string | undefined;
    const grants: number[] = [];
    const agent = (n: Node, name: string) => async () => {
      for (let round = 0; round < 4; round++) {
        const r = await n.http.post('/locks', { resource, agentId: name, waitMs: 60_000, ttlMs: 60_000 });
        assert.equal(r.status, 200, r.text);
        assert.equal(holder, undefined, `${name} got the lock while ${holder} held it`);
        holder = name;
        grants.push(r.json.token);
        // A fenced write through either node is accepted while the lock is held.
        const other = n === a ? b : a;
        const w = await other.http.post('/workunit', unit('fenced', { agentId: name, fence: { resource, token: r.json.token } }));
        assert.equal(w.status, 201, w.text);
        holder = undefined;
        const rel = await n.http.request('DELETE', `${path}?agentId=${name}&lockId=${r.json.lockId}`);
        assert.equal(rel.status, 200, rel.text);
        // Released on one node: the old fence is refused on the other.
        const stale = await other.http.post('/workunit', unit('fenced', { agentId: name, fence: { resource, token: r.json.token } }));
        assert.equal(stale.status, 409, stale.text);
        assert.equal(stale.json.error.code, 'FENCE_REJECTED');
      }
    };
    await Promise.all([agent(a, 'a1')(), agent(a, 'a2')(), agent(b, 'b1')(), agent(b, 'b2')()]);
    assert.equal(grants.length, 16);
    for (let i = 1; i < grants.length; i++) assert.ok(grants[i]! > grants[i - 1]!, `token ${grants[i]} after ${grants[i - 1]}`);
    assert.equal((await a.http.get('/contexts/fenced')).json.headSeq, 16);
  });

  test('a lease that runs out is freed once, and both nodes report it', async () => {
    const onA = new WsClient(wsUrl(a, '?locks=1'));
    const onB = new WsClient(wsUrl(b, '?locks=1'));
    await Promise.all([onA.open(), onB.open()]);
    await Promise.all([onA.next((f) => f.event === 'subscribed'), onB.next((f) => f.event === 'subscribed')]);
    const lock = await a.http.post('/locks', { resource: 'lease', agentId: 'staller', ttlMs: 400 });
    assert.equal(lock.status, 200, lock.text);
    const expired = (f: ServerFrame) => f.event === 'lock' && f.action === 'expired' && f.lock.resource === 'lease';
    await Promise.all([onA.next(expired), onB.next(expired)]);
    const next = await b.http.post('/locks', { resource: 'lease', agentId: 'successor' });
    assert.equal(next.status, 200, next.text);
    assert.ok(next.json.token > lock.json.token);
    await onA.next((f) => f.event === 'lock' && f.action === 'acquired' && f.lock.agentId === 'successor');
    for (const ws of [onA, onB]) assert.equal(ws.frames.filter(expired).length, 1, 'one expiry event per node');
    onA.close();
    onB.close();
  });

  test('memory edits through both nodes to one file lose nothing: each change is decided on the state the other node left', async () => {
    const cmd = async (n: Node, input: Record<string, unknown>) => {
      const r = await n.http.post('/memory/team/command', input);
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json.isError, false, r.json.result);
      return r.json.result as string;
    };
    await cmd(a, { command: 'create', path: '/memories/log.md', file_text: 'start\n' });
    const perAgent = 15;
    const agent = (n: Node, name: string) => async () => {
      for (let i = 0; i < perAgent; i++) await cmd(n, { command: 'insert', path: '/memories/log.md', insert_line: 1, insert_text: `${name}-${i}\n` });
    };
    await Promise.all([agent(a, 'a1')(), agent(a, 'a2')(), agent(b, 'b1')(), agent(b, 'b2')()]);
    const inserted = ['a1', 'a2', 'b1', 'b2'].flatMap((name) => Array.from({ length: perAgent }, (_, i) => `${name}-${i}`));
    for (const n of [a, b]) {
      // A node reads another's writes a moment after they are made: wait until every inserted line
      // is there (not a line count: the view numbers the empty line after the last newline too),
      // then check each is there exactly once.
      let text = '';
      for (const until = Date.now() + WAIT_MS; Date.now() < until;) {
        text = await cmd(n, { command: 'view', path: '/memories/log.md' });
        if (inserted.every((line) => text.includes(`\t${line}\n`))) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      for (const line of inserted) assert.equal(text.split(`\t${line}\n`).length - 1, 1, `${line} is in the file once (node ${n === a ? 'A' : 'B'})`);
      assert.equal(text.split('\n').filter((l) => l.endsWith('\tstart')).length, 1, 'the first line is still there once');
    }
  });

  test('a context deleted through node A is gone on node B too: its subscriber there is told, and a new history starts in a new epoch on both', async () => {
    for (let i = 1; i <= 5; i++) assert.equal((await a.http.post('/workunit', unit('short-lived', { payload: { i } }))).status, 201);
    const sub = new WsClient(wsUrl(b, '?context=short-lived&since=0'));
    await sub.open();
    await sub.untilSeq('short-lived', 5);
    const epoch = sub.frames.find((f: ServerFrame) => f.event === 'subscribed')!.epoch as string;
    const del = await a.http.request('DELETE', '/contexts/short-lived');
    assert.equal(del.status, 200, del.text);
    assert.equal(del.json.units, 5);
    await sub.next((f) => f.event === 'deleted' && f.contextId === 'short-lived');
    sub.close();
    for (const n of [a, b]) {
      // The other node answers from its replica, which applies the deletion a moment later.
      await eventually(async () => (await n.http.get('/contexts/short-lived')).status === 404, WAIT_MS, 'the deletion applied');
      assert.equal((await n.http.get('/contexts/short-lived')).json.error.code, 'CONTEXT_NOT_FOUND');
    }
    // Written again through B, read through A: seq 1 of a new history, refused to a resume in the old epoch.
    assert.equal((await b.http.post('/workunit', unit('short-lived', { payload: 'again' }))).json.seq, 1);
    const stale = new WsClient(wsUrl(a, `?context=short-lived&since=1&epoch=${epoch}`));
    await stale.open();
    const refused = await stale.next((f) => f.event === 'error');
    assert.equal(refused.error.code, 'EPOCH_MISMATCH');
    stale.close();
    assert.equal(((await a.http.get('/workunits/short-lived')).json.workUnits as unknown[]).length, 1);
  });

  test('a fork made through node A carries its lineage to node B, which reads through it and guards the parent', async () => {
    for (let i = 1; i <= 5; i++) assert.equal((await a.http.post('/workunit', unit('fork-parent', { payload: { i } }))).status, 201);
    const f = await a.http.post('/contexts/fork-parent/fork', { seq: 3, id: 'fork-child' });
    assert.equal(f.status, 201, f.text);
    await eventually(async () => (await b.http.get('/contexts/fork-child')).json.forkOf?.seq === 3, WAIT_MS, 'the fork on node B');
    assert.equal((await b.http.post('/workunit', unit('fork-child', { payload: { i: 'own' } }))).json.seq, 4);
    for (const n of [a, b]) {
      await eventually(async () => (await n.http.get('/workunits/fork-child')).json.workUnits?.length === 4, WAIT_MS, 'the fork own unit on both nodes');
      const us = (await n.http.get('/workunits/fork-child')).json.workUnits as Array<{ contextId: string; seq: number }>;
      assert.deepEqual(
        us.map((u) => `${u.contextId}@${u.seq}`),
        ['fork-parent@1', 'fork-parent@2', 'fork-parent@3', 'fork-child@4'],
      );
    }
    await eventually(async () => (await b.http.get('/contexts/fork-parent')).json.forks?.[0] === 'fork-child', WAIT_MS, 'the parent lists its fork on node B');
    const refused = await b.http.request('DELETE', '/contexts/fork-parent');
    assert.deepEqual([refused.status, refused.json.error?.code], [409, 'CONTEXT_HAS_FORKS']);
    const gone = await b.http.request('DELETE', '/contexts/fork-parent?cascade=true');
    assert.deepEqual([gone.status, gone.json.forksDeleted], [200, ['fork-child']]);
    await eventually(async () => (await a.http.get('/contexts/fork-child')).status === 404, WAIT_MS, 'the fork gone on node A');
  });

  test('approvals across nodes: asked through A, waited for on B, decided by racing deciders on both nodes: one decision, seen everywhere', async () => {
    const held = await a.http.post('/locks', { resource: 'deploy/cluster', agentId: 'agent-x', ttlMs: 600_000 });
    assert.equal(held.status, 200, held.text);
    const asked = await a.http.post('/contexts/ops/approvals', {
      agentId: 'agent-x',
      action: { deploy: 'v3' },
      ttlMs: 600_000,
      lock: { resource: 'deploy/cluster', token: held.json.token },
    });
    assert.equal(asked.status, 201, asked.text);
    const id = asked.json.requestId as string;
    const waitingOnB = b.http.get(`/contexts/ops/approvals/${id}?wait=60`);
    const answers = await Promise.all(
      range(0, 5).map((i) => (i % 2 === 0 ? a : b).http.post(`/contexts/ops/approvals/${id}/decision`, { decision: i % 3 === 0 ? 'approve' : 'deny', by: `human-${i}` })),
    );
    const won = answers.filter((r) => r.status === 200);
    assert.equal(won.length, 1, answers.map((r) => r.text).join('\n'));
    for (const r of answers) if (r !== won[0]) assert.equal(r.json.error.code, 'APPROVAL_DECIDED', r.text);
    const seen = await waitingOnB;
    assert.equal(seen.status, 200, seen.text);
    assert.deepEqual([seen.json.status, seen.json.decision.by], [won[0]!.json.status, won[0]!.json.decision.by]);
    for (const n of [a, b]) {
      const list = (await n.http.get('/approvals?status=all&contextId=ops')).json.approvals;
      assert.deepEqual([list.length, list[0].decision.by], [1, won[0]!.json.decision.by]);
      const units = (await n.http.get('/workunits/ops')).json.workUnits as Array<{ type: string }>;
      assert.equal(units.filter((u) => u.type === 'APPROVAL_DECISION').length, 1);
    }
  });

  test('killing one NATS server keeps writes working on both nodes, and loses nothing acknowledged', async () => {
    await nats.kill(0);
    const acked: Array<{ id: string; seq: number }> = [];
    let retries = 0;
    // A busy machine may take a while to move the stream's leader and reconnect the nodes.
    const resumeBy = Date.now() + WAIT_MS;
    for (let i = 0; i < 60; i++) {
      const n = i % 2 === 0 ? a : b;
      // The client of a node that was on the killed server reconnects to another; a write in that moment may be refused (503) and is retried with its key.
      for (let attempt = 0; ; attempt++) {
        const r = await n.http.post('/workunit', unit('outage', { payload: { i } }), { 'idempotency-key': `outage-${i}` });
        if (r.status === 201) {
          acked.push({ id: r.json.id, seq: r.json.seq });
          break;
        }
        assert.equal(r.status, 503, r.text);
        assert.ok(Date.now() < resumeBy, `writes did not resume (${attempt + 1} attempts)`);
        retries++;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
    assert.deepEqual(
      acked.map((x) => x.seq),
      range(1, 60),
    );
    await nats.startMember(0);
    for (const n of [a, b]) {
      const page = await n.http.get('/workunits/outage?limit=100');
      assert.deepEqual(
        page.json.workUnits.map((u: { id: string }) => u.id),
        acked.map((x) => x.id),
      );
    }
    process.stdout.write(`# one NATS server of three killed: 60 writes acknowledged, ${retries} retried\n`);
  });

  test('killing one Engram node: its subscriber resumes on the other node with no gap and no duplicate', async () => {
    const sub = new WsClient(wsUrl(a, '?context=handover&since=0'));
    await sub.open();
    await sub.next((f) => f.event === 'subscribed');
    const total = 120;
    let written = 0;
    const writer = (async () => {
      for (let i = 0; i < total; i++) {
        const r = await b.http.post('/workunit', unit('handover', { payload: { i } }));
        assert.equal(r.status, 201, r.text);
        written++;
      }
    })();
    await sub.untilSeq('handover', 20);
    a.server.proc.kill('SIGKILL');
    await sub.untilClosed();
    const seen = sub.seqs('handover');
    const last = seen[seen.length - 1]!;
    const resumed = new WsClient(wsUrl(b, `?context=handover&since=${last}`));
    await resumed.open();
    await writer;
    await resumed.untilSeq('handover', total);
    const all = [...seen, ...resumed.seqs('handover')];
    assert.deepEqual(all, range(1, total), 'every unit once, in order, across the two nodes');
    assert.equal(written, total);
    resumed.close();
    // Node A comes back on its replica and catches up with what B wrote meanwhile.
    await a.server.stop().catch(() => undefined);
    a = await startNode(nats.urls, a.dataDir);
    assert.equal((await a.http.get('/contexts/handover')).json.headSeq, total);
    const ids = async (n: Node) => (await n.http.get('/workunits/handover?limit=1000')).json.workUnits.map((u: { id: string }) => u.id);
    assert.deepEqual(await ids(a), await ids(b), 'the restarted node holds exactly what the other wrote');
  });
});
