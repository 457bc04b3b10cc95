/**
 * Finds earlier work by words and by meaning: the question below shares no keyword with the
 * decision it is after, so keyword search finds nothing while hybrid search still ranks it
 * among the top results. The server's default offline embedder (word vectors, no network)
 * is used here; an OpenAI-compatible or Ollama embedder ranks meaning better (docs/search.md).
 *
 *   make run                              # in one terminal
 *   node dist/examples/search.js          # in another (ENGRAM_URL overrides the address)
 */
import { EngramClient } from 'engram';

const url = process.env.ENGRAM_URL ?? 'http://127.0.0.1:8080';
const contextId = `example/search/${Date.now()}`;
const engram = new EngramClient(url);

const notes = [
  'We settled on exponential backoff with jitter for failed requests.',
  'The dashboard gets a dark theme and a compact table view.',
  'Database migrations run before the new release is deployed.',
  'Unit tests must pass on every pull request before merging.',
];
let lastId = '';
for (const text of notes) lastId = (await engram.write({ contextId, agentId: 'planner', type: 'MESSAGE', payload: { text } })).workUnit.id;

// Indexing runs off the write path; wait until the last note is searchable.
const deadline = Date.now() + 15_000;
while (!(await engram.search({ query: 'tests pull request merging', contextId, mode: 'keyword' })).results.some((r) => r.workUnit.id === lastId)) {
  if (Date.now() > deadline) throw new Error('the notes did not become searchable');
  await new Promise((r) => setTimeout(r, 50));
}

for (const mode of ['keyword', 'hybrid'] as const) {
  const question = 'retry policy for network errors';
  const { results } = await engram.search({ query: question, contextId, mode, limit: 3 });
  console.log(`${mode}: "${question}"`);
  if (results.length === 0) console.log('  (no results)');
  for (const r of results) console.log(`  ${r.score.toFixed(4)}  ${(r.workUnit.payload as { text: string }).text}`);
}
