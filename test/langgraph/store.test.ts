/**
 * EngramStore against a real server, case by case as LangGraph's own store tests exercise a store:
 * basic operations, batch order, namespaces (prefix, suffix, wildcards, depth, paging), filters and
 * paging in search, and search by meaning through Engram's hybrid search.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, test } from 'node:test';
import type { Item } from '@langchain/langgraph-checkpoint';
import { EngramStore } from '../../src/langgraph/index.js';
import { serverPerFile } from '../helpers/server.js';

const env = serverPerFile();
/** A store acting as a client of its own, so tests do not see each other's namespaces. */
const freshStore = (clientId = `st-${randomUUID()}`) => new EngramStore({ url: env.server.url, clientOptions: { clientId } });

describe('EngramStore', () => {
  test('put, get, update and delete; another store on the same server sees the same items', async () => {
    const clientId = `st-${randomUUID()}`;
    const store = freshStore(clientId);
    assert.equal(await store.get(['users', 'alice'], 'prefs'), null);
    await store.put(['users', 'alice'], 'prefs', { theme: 'dark', size: 12 });
    const first = await store.get(['users', 'alice'], 'prefs');
    assert.deepEqual(first?.value, { theme: 'dark', size: 12 });
    assert.deepEqual(first?.namespace, ['users', 'alice']);
    assert.equal(first?.key, 'prefs');
    assert.ok(first?.createdAt instanceof Date && first.updatedAt instanceof Date);

    await store.put(['users', 'alice'], 'prefs', { theme: 'light' });
    const other = freshStore(clientId);
    const second = await other.get(['users', 'alice'], 'prefs');
    assert.deepEqual(second?.value, { theme: 'light' });
    assert.equal(second?.createdAt.getTime(), first?.createdAt.getTime(), 'an update keeps the creation time');
    assert.ok(second!.updatedAt.getTime() >= first!.updatedAt.getTime());

    await other.delete(['users', 'alice'], 'prefs');
    assert.equal(await store.get(['users', 'alice'], 'prefs'), null, "the first store reads the other one's delete");
    // Deleting what is not there is not an error and changes nothing.
    await store.delete(['users', 'alice'], 'prefs');
    assert.equal(await other.get(['users', 'alice'], 'prefs'), null);
  });

  test('a batch answers its reads from the state before its puts; of two puts to one item the last wins', async () => {
    const store = freshStore();
    await store.put(['b'], 'k', { v: 0 });
    const [put1, got, found, spaces, put2] = (await store.batch([
      { namespace: ['b'], key: 'k', value: { v: 1 } },
      { namespace: ['b'], key: 'k' },
      { namespacePrefix: ['b'], limit: 10, offset: 0 },
      { matchConditions: [], limit: 10, offset: 0 },
      { namespace: ['b'], key: 'k', value: { v: 2 } },
    ])) as unknown as [null, Item | null, Item[], string[][], null];
    assert.equal(put1, null);
    assert.equal(put2, null);
    assert.deepEqual(got?.value, { v: 0 });
    assert.deepEqual(
      found.map((i) => i.value),
      [{ v: 0 }],
    );
    assert.deepEqual(spaces, [['b']]);
    assert.deepEqual((await store.get(['b'], 'k'))?.value, { v: 2 });
  });

  test('bad namespaces are refused before anything is stored', async () => {
    const store = freshStore();
    await assert.rejects(store.put(['a.b'], 'k', { v: 1 }), /periods/);
    await assert.rejects(store.put([], 'k', { v: 1 }), /empty/);
    await assert.rejects(store.put(['langgraph'], 'k', { v: 1 }), /langgraph/);
    await assert.rejects(store.put(['x'.repeat(300)], 'k', { v: 1 }), /too long/);
    assert.deepEqual(await store.listNamespaces(), []);
  });

  test('listNamespaces: prefix, suffix, wildcards, depth and paging; a namespace whose items are all deleted is gone', async () => {
    const store = freshStore();
    const spaces = [
      ['a', 'b', 'c'],
      ['a', 'b', 'd', 'e'],
      ['a', 'b', 'd', 'i'],
      ['a', 'b', 'f'],
      ['a', 'c', 'f'],
      ['b', 'a', 'f'],
      ['users', '123'],
      ['users', '456', 'settings'],
      ['admin', 'users', '789'],
      ['ab'],
    ];
    await Promise.all(spaces.map((ns, i) => store.put(ns, `k${i}`, { i })));
    assert.deepEqual(await store.listNamespaces({ prefix: ['a', 'b'] }), [
      ['a', 'b', 'c'],
      ['a', 'b', 'd', 'e'],
      ['a', 'b', 'd', 'i'],
      ['a', 'b', 'f'],
    ]);
    assert.deepEqual(await store.listNamespaces({ prefix: ['a'], maxDepth: 2 }), [
      ['a', 'b'],
      ['a', 'c'],
    ]);
    assert.deepEqual(await store.listNamespaces({ suffix: ['f'] }), [
      ['a', 'b', 'f'],
      ['a', 'c', 'f'],
      ['b', 'a', 'f'],
    ]);
    assert.deepEqual(await store.listNamespaces({ prefix: ['a', '*', 'f'] }), [
      ['a', 'b', 'f'],
      ['a', 'c', 'f'],
    ]);
    assert.deepEqual(await store.listNamespaces({ suffix: ['*', 'f'] }), [
      ['a', 'b', 'f'],
      ['a', 'c', 'f'],
      ['b', 'a', 'f'],
    ]);
    assert.deepEqual(await store.listNamespaces({ prefix: ['users'], suffix: ['settings'] }), [['users', '456', 'settings']]);
    const all = await store.listNamespaces({ limit: 100 });
    assert.equal(all.length, spaces.length);
    assert.deepEqual([...(await store.listNamespaces({ limit: 3 })), ...(await store.listNamespaces({ limit: 100, offset: 3 }))], all);
    await store.delete(['ab'], 'k9');
    assert.ok(!(await store.listNamespaces()).some((ns) => ns.join('.') === 'ab'));
  });

  test('search without a query: namespace prefix (not a prefix of a label), filters with operators, newest first, paging', async () => {
    const store = freshStore();
    await store.put(['docs', 'a'], 'one', { kind: 'note', score: 1, tags: ['x'] });
    await store.put(['docs', 'a'], 'two', { kind: 'note', score: 5 });
    await store.put(['docs', 'b'], 'three', { kind: 'task', score: 9 });
    await store.put(['docsx'], 'four', { kind: 'note', score: 7 });
    const keys = (items: Array<{ key: string }>) => items.map((i) => i.key);
    assert.deepEqual(keys(await store.search(['docs'])), ['three', 'two', 'one'], 'newest first; ["docsx"] is not under ["docs"]');
    assert.deepEqual(keys(await store.search(['docs'], { filter: { kind: 'note' } })), ['two', 'one']);
    assert.deepEqual(keys(await store.search(['docs'], { filter: { score: { $gt: 1 } } })), ['three', 'two']);
    assert.deepEqual(keys(await store.search(['docs'], { filter: { score: { $gte: 1, $lt: 9 } } })), ['two', 'one']);
    assert.deepEqual(keys(await store.search(['docs'], { filter: { kind: { $ne: 'note' } } })), ['three']);
    assert.deepEqual(keys(await store.search(['docs'], { filter: { kind: { $in: ['task'] } } })), ['three']);
    assert.deepEqual(keys(await store.search(['docs'], { filter: { tags: ['x'] } })), ['one']);
    assert.deepEqual(keys(await store.search(['docs'], { limit: 1, offset: 1 })), ['two']);
    assert.deepEqual(keys(await store.search([])), ['four', 'three', 'two', 'one']);
  });

  test('search with a query looks under the prefix in every namespace, however many there are', async () => {
    const store = freshStore();
    // More namespaces than one search request could name by context id (256).
    await Promise.all(Array.from({ length: 300 }, (_, i) => store.put(['many', `n${i}`], 'k', { text: `routine note number ${i} about nothing` })));
    await store.put(['many', 'zzz'], 'best', { text: 'the flamingo migration plan' });
    await store.put(['other'], 'decoy', { text: 'the flamingo migration plan' });
    const hits = await store.search(['many'], { query: 'flamingo migration', limit: 5 });
    assert.deepEqual([hits[0]?.namespace, hits[0]?.key], [['many', 'zzz'], 'best']);
    assert.ok(
      hits.every((h) => h.namespace[0] === 'many'),
      'nothing from outside the prefix',
    );
  });

  test('search with a query ranks by meaning through Engram, only current versions, index fields honoured', async () => {
    const store = freshStore();
    const ns = ['memories', 'alice'];
    await store.put(ns, 'theme', { text: 'Alice prefers a dark colour theme in her editor' });
    await store.put(ns, 'lunch', { text: 'Lunch is served at noon in the cafeteria' });
    await store.put(ns, 'pet', { text: 'Alice has a cat called Miso' });
    await store.put(ns, 'pet', { text: 'Alice adopted a dog called Pepper' }); // the cat is an older version now
    await store.put(ns, 'trip', { title: 'Holiday plans', body: 'a cat café in Tokyo' }, ['title']);
    await store.put(ns, 'secret', { text: 'the cat password is hunter2' }, false);
    await store.put(ns, 'nap', { text: 'her cat sleeps most of the day' });

    const dark = await store.search(['memories'], { query: 'which editor theme does she like, dark or light?', limit: 3 });
    assert.equal(dark[0]?.key, 'theme');
    assert.equal(typeof dark[0]?.score, 'number');

    const cats = await store.search(['memories'], { query: 'cat', limit: 10 });
    const scored = cats.filter((i) => i.score !== undefined);
    assert.equal(new Set(scored.map((i) => i.key)).size, scored.length, 'each item once');
    assert.deepEqual(scored.find((i) => i.key === 'pet')?.value, { text: 'Alice adopted a dog called Pepper' }, 'the current version, not the one that matched');
    assert.equal(scored[0]?.key, 'nap', 'the one current, indexed text about a cat ranks first (not "trip", whose body is not indexed)');
    // The item put with index: false is never a scored hit; it only fills a short page, unscored.
    assert.ok(!scored.some((i) => i.key === 'secret'));
    assert.equal(cats.find((i) => i.key === 'secret')?.score, undefined);

    await store.delete(ns, 'theme');
    const after = await store.search(['memories'], { query: 'dark editor theme', limit: 10 });
    assert.ok(!after.some((i) => i.key === 'theme'), 'a deleted item is not found');
    assert.deepEqual(
      (await store.search(['memories'], { query: 'dark editor theme', filter: { title: 'Holiday plans' } })).map((i) => i.key),
      ['trip'],
    );
  });
});
