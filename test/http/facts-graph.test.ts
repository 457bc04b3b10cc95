/**
 * Facts (ADD / UPDATE / NOOP / DELETE with reasons, REPLACES history, near-identical values by
 * the offline embedder) and the knowledge graph (the reference memory server's nine tools),
 * over HTTP against a real server, with search (and so the embedder) on.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { serverPerFile } from '../helpers/server.js';

const env = serverPerFile();

async function remember(space: string, body: Record<string, unknown>) {
  const r = await env.http.post(`/facts/${space}?agentId=tester`, body);
  assert.equal(r.status, 200, r.text);
  return r.json as { decision: string; reason: string; fact?: { key: string; value: string; unitId: string; deleted: boolean }; replaced?: string; similarity?: number };
}

async function graph(space: string, tool: string, args: unknown) {
  const r = await env.http.post(`/graph/${space}/${tool}`, args);
  return { status: r.status, result: r.json.result, error: r.json.error };
}

describe('facts', () => {
  test('ADD, NOOP for the same key and value, UPDATE with REPLACES history, DELETE keeping history, ADD again', async () => {
    const s = 'facts-keys';
    const a = await remember(s, { key: 'user.editor', value: 'The user edits with Neovim.' });
    assert.equal(a.decision, 'ADD');
    assert.match(a.reason, /new key/);
    assert.equal(a.fact!.key, 'user.editor');
    assert.ok(a.fact!.unitId.length === 26, 'the fact names its stored unit');

    const same = await remember(s, { key: 'user.editor', value: '  the user edits with neovim ' });
    assert.equal(same.decision, 'NOOP');
    assert.match(same.reason, /already known/);
    assert.equal(same.fact!.unitId, a.fact!.unitId);

    const u = await remember(s, { key: 'user.editor', value: 'The user edits with Helix.' });
    assert.equal(u.decision, 'UPDATE');
    assert.equal(u.replaced, 'The user edits with Neovim.');
    assert.equal(u.fact!.value, 'The user edits with Helix.');

    // The UPDATE's unit REPLACES the ADD's, in the facts context.
    const unit = (await env.http.get(`/workunit/${u.fact!.unitId}`)).json;
    assert.equal(unit.contextId, `facts/${s}`);
    assert.equal(unit.agentId, 'tester');
    assert.deepEqual(
      unit.relationships.map((r: { type: string; targetId: string }) => [r.type, r.targetId]),
      [['REPLACES', a.fact!.unitId]],
    );

    const d = await env.http.post(`/facts/${s}/forget`, { key: 'user.editor' });
    assert.equal(d.json.decision, 'DELETE');
    const again = await env.http.post(`/facts/${s}/forget`, { key: 'user.editor' });
    assert.equal(again.json.decision, 'NOOP');
    assert.match(again.json.reason, /already deleted/);
    assert.equal((await env.http.post(`/facts/${s}/forget`, { key: 'never.known' })).json.decision, 'NOOP');

    assert.deepEqual((await env.http.get(`/facts/${s}`)).json.facts, []);
    const all = (await env.http.get(`/facts/${s}?includeDeleted=true`)).json.facts;
    assert.equal(all.length, 1);
    assert.equal(all[0].deleted, true);
    const history = (await env.http.get(`/facts/${s}/fact?key=user.editor`)).json.history;
    assert.deepEqual(
      history.map((h: { op: string; value: string }) => [h.op, h.value]),
      [
        ['ADD', 'The user edits with Neovim.'],
        ['UPDATE', 'The user edits with Helix.'],
        ['DELETE', 'The user edits with Helix.'],
      ],
    );

    const back = await remember(s, { key: 'user.editor', value: 'The user edits with Zed.' });
    assert.equal(back.decision, 'ADD');
    assert.match(back.reason, /was deleted; added again/);
  });

  test('without a key: exact and near-identical statements are NOOPs naming the known fact; different numbers are not', async () => {
    const s = 'facts-semantic';
    const a = await remember(s, { value: 'The API server listens on port 8080' });
    assert.equal(a.decision, 'ADD');
    assert.match(a.fact!.key, /^fact-/);
    const exact = await remember(s, { value: 'the API server listens on port 8080.' });
    assert.equal(exact.decision, 'NOOP');
    assert.match(exact.reason, new RegExp(a.fact!.key));
    // Near-identical by the embedder (a word more), not by text.
    const near = await remember(s, { value: 'The API server listens on the port 8080' });
    assert.equal(near.decision, 'NOOP', near.reason);
    assert.match(near.reason, /near-identical/);
    assert.ok(near.similarity! >= 0.97 && near.similarity! <= 1.0001);
    // A word-vector embedder scores these alike; the numbers make them different facts.
    const other = await remember(s, { value: 'The API server listens on port 9090' });
    assert.equal(other.decision, 'ADD', other.reason);
    const unrelated = await remember(s, { value: 'Deploys go to the staging cluster first' });
    assert.equal(unrelated.decision, 'ADD');
    assert.equal((await env.http.get(`/facts/${s}`)).json.facts.length, 3);

    const recalled = (await env.http.post(`/facts/${s}/recall`, { query: 'which port does the server use', limit: 2 })).json.facts;
    assert.equal(recalled.length, 2);
    assert.match(recalled[0].value, /port/);
  });

  test('two agents adding the same fact at once: one ADD, the rest NOOP', async () => {
    const s = 'facts-race';
    const outcomes = await Promise.all(Array.from({ length: 8 }, () => remember(s, { key: 'build.tool', value: 'make' })));
    assert.deepEqual(outcomes.map((o) => o.decision).sort(), ['ADD', 'NOOP', 'NOOP', 'NOOP', 'NOOP', 'NOOP', 'NOOP', 'NOOP']);
    assert.equal((await env.http.get(`/workunits/${encodeURIComponent(`facts/${s}`)}`)).json.workUnits.length, 1);
  });

  test('bad input: clear errors, nothing stored', async () => {
    const s = 'facts-bad';
    for (const [body, code] of [
      [{ value: '' }, 'INVALID_FIELD'],
      [{ key: 'k' }, 'INVALID_FIELD'],
      [{ key: 'k\u0001', value: 'v' }, 'INVALID_FIELD'],
      [{ value: 'x'.repeat(5000) }, 'INVALID_FIELD'],
    ] as const) {
      const r = await env.http.post(`/facts/${s}`, body);
      assert.equal(r.status, 400, r.text);
      assert.equal(r.json.error.code, code);
    }
    assert.equal((await env.http.post('/facts/bad%2Fspace', { value: 'v' })).json.error.code, 'INVALID_ID');
    assert.equal((await env.http.get(`/workunits/${encodeURIComponent(`facts/${s}`)}`)).json.error.code, 'CONTEXT_NOT_FOUND');
  });
});

describe('knowledge graph', () => {
  test('the nine tools with the reference server answers', async () => {
    const s = 'graph-tools';
    const created = await graph(s, 'create_entities', {
      entities: [
        { name: 'Alice', entityType: 'person', observations: ['Leads the payments team'] },
        { name: 'Payments', entityType: 'team', observations: [] },
        { name: 'Alice', entityType: 'person', observations: ['a duplicate in one call'] },
      ],
    });
    assert.equal(created.status, 200);
    assert.deepEqual(
      created.result.map((e: { name: string }) => e.name),
      ['Alice', 'Payments'],
    );
    // Existing names are left alone and not returned.
    assert.deepEqual(
      (
        await graph(s, 'create_entities', {
          entities: [
            { name: 'Alice', entityType: 'robot', observations: [] },
            { name: 'Bob', entityType: 'person', observations: ['Reviews code'] },
          ],
        })
      ).result,
      [{ name: 'Bob', entityType: 'person', observations: ['Reviews code'] }],
    );

    const rel = await graph(s, 'create_relations', {
      relations: [
        { from: 'Alice', to: 'Payments', relationType: 'leads' },
        { from: 'Bob', to: 'Alice', relationType: 'reports to' },
      ],
    });
    assert.equal(rel.result.length, 2);
    assert.deepEqual((await graph(s, 'create_relations', { relations: [{ from: 'Alice', to: 'Payments', relationType: 'leads' }] })).result, []);

    const obs = await graph(s, 'add_observations', { observations: [{ entityName: 'Alice', contents: ['Leads the payments team', 'Prefers written specs'] }] });
    assert.deepEqual(obs.result, [{ entityName: 'Alice', addedObservations: ['Prefers written specs'] }]);
    const missing = await graph(s, 'add_observations', {
      observations: [
        { entityName: 'Bob', contents: ['x'] },
        { entityName: 'Nobody', contents: ['y'] },
      ],
    });
    assert.equal(missing.status, 404);
    assert.equal(missing.error.message, 'Entity with name Nobody not found');
    // All or nothing: Bob got nothing from the failed call.
    const bob = (await graph(s, 'open_nodes', { names: ['Bob'] })).result;
    assert.deepEqual(bob.entities[0].observations, ['Reviews code']);

    const found = (await graph(s, 'search_nodes', { query: 'WRITTEN' })).result;
    assert.deepEqual(
      found.entities.map((e: { name: string }) => e.name),
      ['Alice'],
    );
    const opened = (await graph(s, 'open_nodes', { names: ['Alice', 'Payments'] })).result;
    assert.deepEqual(opened.relations, [{ from: 'Alice', to: 'Payments', relationType: 'leads' }]);

    assert.equal(
      (await graph(s, 'delete_observations', { deletions: [{ entityName: 'Alice', observations: ['Prefers written specs'] }] })).result,
      'Observations deleted successfully',
    );
    assert.equal((await graph(s, 'delete_relations', { relations: [{ from: 'Bob', to: 'Alice', relationType: 'reports to' }] })).result, 'Relations deleted successfully');
    assert.equal((await graph(s, 'delete_entities', { entityNames: ['Payments'] })).result, 'Entities deleted successfully');

    const g = (await env.http.get(`/graph/${s}`)).json;
    assert.deepEqual(g, {
      entities: [
        { name: 'Alice', entityType: 'person', observations: ['Leads the payments team'] },
        { name: 'Bob', entityType: 'person', observations: ['Reviews code'] },
      ],
      relations: [],
    });
    // Every change is a unit; a call that changed nothing wrote none.
    const units = (await env.http.get(`/workunits/${encodeURIComponent(`graph/${s}`)}`)).json.workUnits;
    assert.deepEqual(
      units.map((u: { meta: { tool: string } }) => u.meta.tool),
      ['create_entities', 'create_entities', 'create_relations', 'add_observations', 'delete_observations', 'delete_relations', 'delete_entities'],
    );
  });

  test('many writers at once lose nothing', async () => {
    const s = 'graph-race';
    await graph(s, 'create_entities', { entities: [{ name: 'Log', entityType: 'thing', observations: [] }] });
    await Promise.all(Array.from({ length: 40 }, (_, i) => graph(s, 'add_observations', { observations: [{ entityName: 'Log', contents: [`entry ${i}`] }] })));
    const log = (await graph(s, 'open_nodes', { names: ['Log'] })).result.entities[0];
    assert.equal(log.observations.length, 40);
  });

  test('bad arguments and unknown tools: clear errors', async () => {
    const s = 'graph-bad';
    const r1 = await graph(s, 'create_entities', { entities: [{ name: '', entityType: 't' }] });
    assert.equal(r1.status, 400);
    assert.match(r1.error.message, /entities\[0\]\.name/);
    const r2 = await graph(s, 'create_relations', { relations: 'nope' });
    assert.equal(r2.error.code, 'INVALID_FIELD');
    const r3 = await graph(s, 'drop_everything', {});
    assert.equal(r3.status, 404);
    assert.match(r3.error.message, /create_entities/);
    assert.equal((await env.http.get(`/workunits/${encodeURIComponent(`graph/${s}`)}`)).json.error.code, 'CONTEXT_NOT_FOUND');
  });
});
