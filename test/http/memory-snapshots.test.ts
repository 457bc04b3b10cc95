/**
 * Projection snapshots across a real server restart on LevelDB: a random history of file
 * commands, facts and graph tools over HTTP, then the server is stopped and started again on
 * the same data dir. The restarted server answers exactly what the first one did, its rebuilds
 * start from snapshots (fewer units replayed than a third start with snapshots off, which
 * replays everything and answers the same again).
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { HttpClient } from '../helpers/http.js';
import { removeDir, startServer, tempDir, type RunningServer } from '../helpers/server.js';
import { seeded } from '../helpers/seeded.js';
import { eventually, WAIT_MS } from '../helpers/wait.js';

const SPACE = 'snaps';
const EVERY = 20;
const dir = tempDir('engram-snap-http-');
after(() => removeDir(dir));

async function start(every: number): Promise<{ server: RunningServer; http: HttpClient }> {
  const server = await startServer({ dataDir: dir, args: ['--search-enabled', 'false', '--memory-snapshot-every', String(every)] });
  return { server, http: new HttpClient(server.url) };
}

async function stop(s: { server: RunningServer; http: HttpClient }): Promise<void> {
  s.http.close();
  assert.equal(await s.server.stop(), 0);
}

/** A counter of /metrics with these labels (0 when absent). */
async function counter(http: HttpClient, name: string, labels: Record<string, string>): Promise<number> {
  const text = (await http.get('/metrics')).text;
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    if (!line.startsWith(name + '{')) continue;
    const inside = line.slice(name.length + 1, line.indexOf('}'));
    const have = inside.split(',');
    if (want.every((w) => have.includes(w)) && have.length === want.length) return Number(line.slice(line.indexOf('}') + 1));
  }
  return 0;
}

/** Everything the server answers about the space: every file, every fact with its history, the graph. */
async function everything(http: HttpClient): Promise<unknown> {
  const tree = (await http.get(`/memory/${SPACE}/tree`)).json.files as Array<{ path: string }>;
  const files = [];
  for (const f of tree) files.push((await http.get(`/memory/${SPACE}/file?path=${encodeURIComponent(f.path)}`)).json);
  const facts = (await http.get(`/facts/${SPACE}?includeDeleted=true`)).json.facts as Array<{ key: string }>;
  const histories = [];
  for (const f of facts) histories.push((await http.get(`/facts/${SPACE}/fact?key=${encodeURIComponent(f.key)}`)).json);
  const graph = (await http.post(`/graph/${SPACE}/read_graph`, {})).json;
  return { tree, files, facts, histories, graph };
}

async function history(http: HttpClient, seed: number, n: number): Promise<void> {
  const r = seeded(seed);
  const paths = ['/memories/a.md', '/memories/b.md', '/memories/d/c.md', '/memories/d/e.md'];
  const names = ['ann', 'ben', 'cy'];
  let token = 0;
  for (let i = 0; i < n; i++) {
    const k = r.int(9);
    let res;
    if (k < 4) {
      const path = r.pick(paths);
      const c = r.int(5);
      const body =
        c === 0
          ? { command: 'create', path, file_text: `t${token++}\nt${token++}` }
          : c === 1
            ? { command: 'str_replace', path, old_str: `t${r.int(token + 1)}\n`, new_str: `t${token++} é\n` }
            : c === 2
              ? { command: 'insert', path, insert_line: r.int(2), insert_text: `t${token++} 🙂` }
              : c === 3
                ? { command: 'rename', old_path: path, new_path: r.pick(paths) }
                : { command: 'delete', path: r.next() < 0.3 ? '/memories/d' : path };
      res = await http.post(`/memory/${SPACE}/command`, body);
    } else if (k < 6) {
      const key = `k${r.int(6)}`;
      res = r.next() < 0.2 ? await http.post(`/facts/${SPACE}/forget`, { key }) : await http.post(`/facts/${SPACE}`, { key, value: `v${r.int(4)} of ${key}` });
    } else {
      const c = r.int(4);
      const [tool, args] =
        c === 0
          ? ['create_entities', { entities: [{ name: r.pick(names), entityType: 'person', observations: [`o${r.int(4)}`] }] }]
          : c === 1
            ? ['create_relations', { relations: [{ from: r.pick(names), to: r.pick(names), relationType: 'knows' }] }]
            : c === 2
              ? ['add_observations', { observations: [{ entityName: r.pick(names), contents: [`o${r.int(6)}`] }] }]
              : ['delete_entities', { entityNames: [r.pick(names)] }];
      res = await http.post(`/graph/${SPACE}/${tool}`, args);
    }
    assert.ok(res.status === 200 || res.status === 404, `${res.status} ${res.text}`);
  }
}

test('a restarted server rebuilds memory files, facts and the graph from snapshots, to the same answers', async () => {
  const first = await start(EVERY);
  await history(first.http, 7, 400);
  // Snapshots are written off the write path: wait until each projection has some.
  for (const projection of ['files', 'facts', 'graph']) {
    await eventually(async () => (await counter(first.http, 'engram_projection_snapshots_total', { projection, event: 'written' })) >= 1, WAIT_MS, `a ${projection} snapshot`);
  }
  const before = await everything(first.http);
  await stop(first);

  const second = await start(EVERY);
  assert.deepStrictEqual(await everything(second.http), before, 'the same answers after a restart');
  const replayed: Record<string, number> = {};
  for (const projection of ['files', 'facts', 'graph']) {
    assert.equal(await counter(second.http, 'engram_projection_snapshots_total', { projection, event: 'loaded' }), 1, `${projection}: rebuilt from a snapshot`);
    assert.equal(await counter(second.http, 'engram_projection_snapshots_total', { projection, event: 'rejected' }), 0);
    replayed[projection] = await counter(second.http, 'engram_projection_replayed_units_total', { projection });
  }
  await stop(second);

  // Snapshots off: every unit is replayed, and the answers are the same again.
  const third = await start(0);
  assert.deepStrictEqual(await everything(third.http), before, 'a full replay answers the same');
  for (const projection of ['files', 'facts', 'graph']) {
    const full = await counter(third.http, 'engram_projection_replayed_units_total', { projection });
    assert.equal(await counter(third.http, 'engram_projection_snapshots_total', { projection, event: 'loaded' }), 0);
    assert.ok(full > EVERY, `${projection}: a history longer than the snapshot interval (${full})`);
    assert.ok(replayed[projection]! < full, `${projection}: from the snapshot ${replayed[projection]} units were replayed, of ${full}`);
  }
  await stop(third);
});
