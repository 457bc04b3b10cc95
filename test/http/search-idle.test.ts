/**
 * Idle clients' search partitions: dropped from memory at cleanup, rebuilt from the log on the
 * client's next search, with what it wrote meanwhile. Keyword search only (no embedder to load).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { unit } from '../helpers/http.js';
import { serverPerFile } from '../helpers/server.js';
import { eventually, WAIT_MS } from '../helpers/wait.js';

const env = serverPerFile({ args: ['--search-embedder', 'none'] });
const as = (clientId: string) => ({ 'x-client-id': clientId });
const status = async () => (await env.http.get('/search/status')).json;

describe('search partitions of idle clients', () => {
  test('go at cleanup and come back, complete, on the next search', async () => {
    const n = 30;
    for (let i = 0; i < n; i++) assert.equal((await env.http.post('/workunit', unit('notes', { payload: { text: `quasar note ${i}` } }), as(`s-${i}`))).status, 201);
    await eventually(async () => (await env.http.post('/search', { query: 'quasar', mode: 'keyword' }, as(`s-${n - 1}`))).json.results.length === 1, WAIT_MS, 'indexed');
    const before = await status();
    assert.ok(before.clients >= n, JSON.stringify(before));

    const cleaned = (await env.http.post('/clients/cleanup?idle_threshold=0', {})).json;
    assert.ok(cleaned.dropped.length >= n);
    await eventually(async () => (await status()).droppedClients >= n, WAIT_MS, 'partitions dropped in the worker');
    assert.ok((await status()).clients <= before.clients - n, 'their memory is gone');

    // Written while its partition is dropped: in the log, not in memory.
    assert.equal((await env.http.post('/workunit', unit('notes', { payload: { text: 'quasar follow-up' } }), as('s-7'))).status, 201);
    await eventually(async () => (await status()).behind === 0, WAIT_MS, 'caught up');
    const mid = await status();
    const r = (await env.http.post('/search', { query: 'quasar', mode: 'keyword', limit: 10 }, as('s-7'))).json;
    assert.deepEqual(r.results.map((x: { workUnit: { payload: { text: string } } }) => x.workUnit.payload.text).sort(), ['quasar follow-up', 'quasar note 7']);
    assert.equal(r.total, 2);
    const after = await status();
    assert.equal(after.droppedClients, mid.droppedClients - 1, 'the rebuilt partition is in memory again');
    assert.equal(after.clients, mid.clients + 1);
    // Another dropped client's data is still only its own.
    const other = (await env.http.post('/search', { query: 'quasar', mode: 'keyword' }, as('s-3'))).json.results;
    assert.deepEqual(
      other.map((x: { workUnit: { payload: { text: string } } }) => x.workUnit.payload.text),
      ['quasar note 3'],
    );
  });
});
