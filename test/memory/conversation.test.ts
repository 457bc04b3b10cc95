/**
 * Memory from conversations through a real server: POST /memory/{space}/process-turn and /query,
 * by the offline rules (decisions, history, live streaming, restart, bad input, the labelled
 * turn set) and by a language model behind local servers that speak the OpenAI chat-completions
 * and Anthropic Messages wire formats (good answers, malformed ones, a provider that is down).
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage } from 'node:http';
import { describe, test } from 'node:test';
import { evaluateTurns, turnsTable } from '../../bench/memory-turns.js';
import { HttpClient } from '../helpers/http.js';
import { removeDir, serverPerFile, startServer, tempDir } from '../helpers/server.js';
import { WAIT_MS, Watcher } from '../helpers/wait.js';
import { WsClient } from '../helpers/ws.js';

const say = (content: string, role = 'user') => ({ messages: [{ role, content }] });

/** A decision as process-turn answers it. */
interface Decided {
  decision: string;
  reason: string;
  fact: { key: string; value: string; agentId: string };
  replaces?: { value: string };
}
/** Anything with a value: a fact, a memory, a version. */
interface Valued {
  value: string;
  op?: string;
  reason?: string;
}
const enc = encodeURIComponent;

describe('process-turn by the offline rules', () => {
  const env = serverPerFile();

  test('"prefers dark mode" then "prefers light mode" is an UPDATE: both are units, streamed live, kept in history across a restart, and found by query', async () => {
    const dataDir = tempDir();
    let server = await startServer({ dataDir });
    let http = new HttpClient(server.url);
    const ws = new WsClient(`${server.url.replace('http', 'ws')}/stream?context=${enc('facts/prefs')}`);
    await ws.open();
    await ws.next((f) => f.event === 'subscribed');

    const first = await http.post('/memory/prefs/process-turn?agentId=planner', say('Hi! I prefer dark mode, it is easier on my eyes.'));
    assert.equal(first.status, 200, first.text);
    assert.equal(first.json.extractor, 'rules');
    assert.deepEqual(first.json.statements, ['User prefers dark mode']);
    assert.deepEqual(
      first.json.decisions.map((d: Decided) => [d.decision, d.fact.key, d.fact.value, d.fact.agentId]),
      [['ADD', 'user.prefers.dark-mode', 'User prefers dark mode', 'planner']],
    );
    const second = await http.post('/memory/prefs/process-turn', say('Actually, I prefer light mode now.'));
    const update = second.json.decisions[0];
    assert.equal(update.decision, 'UPDATE');
    assert.equal(update.fact.value, 'User prefers light mode');
    assert.equal(update.replaces.value, 'User prefers dark mode');
    assert.match(update.reason, /same thing/);

    // Each change is a unit of the facts context, the second REPLACES the first, and subscribers saw both.
    await ws.untilSeq('facts/prefs', 2);
    const units = ws.frames.filter((f) => f.event === 'workunit').map((f) => f.workUnit);
    ws.close();
    assert.deepEqual(
      units.map((u) => [u.type, u.payload.op, u.payload.value]),
      [
        ['SYSTEM', 'ADD', 'User prefers dark mode'],
        ['SYSTEM', 'UPDATE', 'User prefers light mode'],
      ],
    );
    assert.deepEqual(units[1].relationships, [{ targetId: units[0].id, type: 'REPLACES', meta: {} }]);
    assert.equal(units[1].meta.reason, update.reason);

    // A repeat changes nothing.
    const again = await http.post('/memory/prefs/process-turn', say('I prefer light mode.'));
    assert.deepEqual(
      again.json.decisions.map((d: Decided) => d.decision),
      ['NOOP'],
    );

    http.close();
    assert.equal(await server.stop(), 0);
    server = await startServer({ dataDir });
    http = new HttpClient(server.url);
    const fact = await http.get(`/facts/prefs/fact?key=user.prefers.dark-mode`);
    assert.deepEqual(
      fact.json.history.map((v: Valued) => [v.op, v.value, typeof v.reason]),
      [
        ['ADD', 'User prefers dark mode', 'string'],
        ['UPDATE', 'User prefers light mode', 'string'],
      ],
    );
    const q = await http.post('/memory/prefs/query', { query: 'which color theme does the user want', history: true });
    assert.equal(q.status, 200, q.text);
    assert.equal(q.json.ranking, 'hybrid');
    assert.equal(q.json.memories[0].value, 'User prefers light mode');
    assert.equal(q.json.memories[0].history.length, 2);
    // Both versions match "dark": they are one memory, as it reads now.
    const old = await http.post('/memory/prefs/query', { query: 'dark' });
    assert.deepEqual(
      old.json.memories.map((m: Valued) => m.value),
      ['User prefers light mode'],
    );
    http.close();
    assert.equal(await server.stop(), 0);
    removeDir(dataDir);
  });

  test('takes back, switches, single values, relatives; questions, requests and the assistant are not facts', async () => {
    const turn = async (content: string, role = 'user') => (await env.http.post('/memory/life/process-turn', say(content, role))).json;
    const decided = (r: { decisions: Decided[] }) => r.decisions.map((d: Decided) => `${d.decision} ${d.fact?.value ?? ''}${d.replaces ? ` (was: ${d.replaces.value})` : ''}`);
    assert.deepEqual(decided(await turn("I'm Sam. I live in Berlin and work at SAP. I use Vim. My wife is vegetarian.")), [
      "ADD User's name is Sam",
      'ADD User lives in Berlin',
      'ADD User works at SAP',
      'ADD User uses Vim',
      "ADD User's wife's diet is vegetarian",
    ]);
    assert.deepEqual(decided(await turn('I moved to Lisbon. I switched from Vim to Emacs.')), [
      'UPDATE User lives in Lisbon (was: User lives in Berlin)',
      'UPDATE User uses Emacs (was: User uses Vim)',
    ]);
    assert.deepEqual(decided(await turn('I left SAP.')), ['DELETE User works at SAP (was: User works at SAP)']);
    // The wife's diet is hers: the user's own is another fact.
    assert.deepEqual(decided(await turn("I'm vegan.")), ["ADD User's diet is vegan"]);
    for (const [content, role] of [
      ['Can you help me write a SQL query?', 'user'],
      ["I'm going to the store.", 'user'],
      ['I think we should refactor this.', 'user'],
      ['I prefer TypeScript for examples like this.', 'assistant'],
    ] as const) {
      assert.deepEqual((await turn(content, role)).decisions, [], content);
    }
    const facts = (await env.http.get('/facts/life')).json.facts.map((f: Valued) => f.value);
    assert.deepEqual(facts, ["User's name is Sam", 'User lives in Lisbon', 'User uses Emacs', "User's wife's diet is vegetarian", "User's diet is vegan"]);
  });

  test('bad input gets a stable code and stores nothing', async () => {
    const cases: Array<[unknown, number, string]> = [
      [[], 400, 'INVALID_FIELD'],
      [{}, 400, 'MISSING_FIELD'],
      [{ messages: [] }, 400, 'INVALID_FIELD'],
      [{ messages: [{ role: 'robot', content: 'I prefer tea.' }] }, 400, 'INVALID_FIELD'],
      [{ messages: [{ role: 'user', content: 5 }] }, 400, 'INVALID_FIELD'],
      [{ messages: [{ role: 'user', content: [{ text: 'I prefer tea.' }] }] }, 400, 'INVALID_FIELD'],
      [{ messages: [{ role: 'user', content: 'I prefer tea.' }], mode: 'fast' }, 400, 'UNKNOWN_FIELD'],
      [{ messages: [{ role: 'user', content: 'I prefer tea. '.repeat(5000) }] }, 400, 'INVALID_FIELD'],
      [{ messages: [{ role: 'user', content: 'I prefer tea.' }], extractor: 'magic' }, 400, 'INVALID_FIELD'],
      // No language model is configured on this server.
      [{ messages: [{ role: 'user', content: 'I prefer tea.' }], extractor: 'model' }, 503, 'MODEL_UNAVAILABLE'],
    ];
    for (const [body, status, code] of cases) {
      const r = await env.http.post('/memory/bad/process-turn', body);
      assert.deepEqual([r.status, r.json.error?.code], [status, code], JSON.stringify(body).slice(0, 100));
    }
    const malformed = await env.http.request('POST', '/memory/bad/process-turn', { raw: '{"messages": [', headers: { 'content-type': 'application/json' } });
    assert.equal(malformed.json.error.code, 'MALFORMED_JSON');
    assert.equal((await env.http.post('/memory/no%20spaces/process-turn', say('I prefer tea.'))).json.error.code, 'INVALID_ID');
    for (const [body, code] of [
      [{}, 'MISSING_FIELD'],
      [{ query: '' }, 'INVALID_FIELD'],
      [{ query: 'tea', limit: 0 }, 'INVALID_FIELD'],
      [{ query: 'tea', history: 'yes' }, 'INVALID_FIELD'],
      [{ query: 'tea', top: 3 }, 'UNKNOWN_FIELD'],
    ] as const) {
      assert.equal((await env.http.post('/memory/bad/query', body)).json.error.code, code, JSON.stringify(body));
    }
    const lone = await env.http.request('POST', '/memory/bad/process-turn', {
      raw: '{"messages":[{"role":"user","content":"I prefer tea \\ud800."}]}',
      headers: { 'content-type': 'application/json' },
    });
    assert.deepEqual([lone.status, lone.json.error?.code], [400, 'INVALID_FIELD']);
    assert.equal((await env.http.post('/memory/bad/query', { query: 'x'.repeat(1001) })).json.error.code, 'INVALID_FIELD');
    assert.equal((await env.http.get(`/contexts/${enc('facts/bad')}`)).status, 404, 'nothing was stored');
    // Hostile but valid text is read quickly and keeps what is a fact: long runs of spaces, a pasted
    // line too long to be a statement, a negation, a name that is one of Object's properties.
    const odd = await env.http.post(
      '/memory/odd/process-turn',
      say(`I like a${' '.repeat(60_000)}b. I like ${'a'.repeat(3000)}. I'm not a student. My constructor is Bob. I prefer tea.`),
    );
    assert.equal(odd.status, 200, odd.text);
    assert.deepEqual(
      odd.json.decisions.map((d: Decided) => [d.decision, d.fact.key, d.fact.value]),
      [
        ['ADD', 'user.likes.a-b', 'User likes a b'],
        ['ADD', 'user.constructor', "User's constructor is Bob"],
        ['ADD', 'user.prefers.tea', 'User prefers tea'],
      ],
    );
    // Content blocks: text blocks are read, others skipped.
    const blocks = await env.http.post('/memory/blocks/process-turn', {
      messages: [
        {
          role: 'user',
          content: [
            { type: 'image', source: {} },
            { type: 'text', text: 'I prefer tea.' },
          ],
        },
      ],
    });
    assert.deepEqual(blocks.json.statements, ['User prefers tea']);
  });

  test('the labelled turn set: precision and recall of the decisions (figures in docs/memory.md)', async () => {
    const report = await evaluateTurns(env.server.url, { extractor: 'rules' });
    process.stdout.write(`# ${turnsTable(report).split('\n').join('\n# ')}\n`);
    const all = report.scores.all!.all!;
    const blind = report.scores['heldout-2']!.all!;
    // Floors a little under the figures measured when this was written: a change to the rules that loses decisions fails here.
    assert.ok(all.precision >= 0.9 && all.recall >= 0.85, `all: precision ${all.precision}, recall ${all.recall}\n${report.misses.join('\n')}`);
    assert.ok(blind.precision >= 0.85 && blind.recall >= 0.8, `heldout-2: precision ${blind.precision}, recall ${blind.recall}\n${report.misses.join('\n')}`);
  });
});

type Kind = 'openai' | 'anthropic';
/** An answer of the fake: the structured output, or a raw HTTP answer (an error, a malformed body); `held` answers once the test lets it. */
type Answer = Record<string, unknown> | { status: number; raw: unknown } | { held: Promise<Record<string, unknown>> };

/** A language-model provider on loopback that speaks `kind`'s wire format; answers are queued per output name. */
async function fakeModel(kind: Kind) {
  const queued: Record<string, Answer[]> = { record_facts: [], decide_memory: [] };
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- a request body as each API shapes it
  const requests: Array<{ path: string; headers: IncomingMessage['headers']; body: any; step: string }> = [];
  const arrived = new Watcher();
  const server = createServer((req, res) => {
    let text = '';
    req.on('data', (c: Buffer) => (text += c.toString()));
    req.on('end', async () => {
      const body = JSON.parse(text);
      const step: string = kind === 'openai' ? body.response_format?.json_schema?.name : body.tool_choice?.name;
      requests.push({ path: req.url!, headers: req.headers, body, step });
      arrived.notify();
      let answer: Answer = queued[step]?.shift() ?? { status: 500, raw: { error: { message: `nothing queued for ${step}` } } };
      if ('held' in answer) answer = await (answer.held as Promise<Record<string, unknown>>);
      res.setHeader('content-type', 'application/json');
      if ('status' in answer && 'raw' in answer) {
        res.statusCode = answer.status as number;
        res.end(typeof answer.raw === 'string' ? answer.raw : JSON.stringify(answer.raw));
        return;
      }
      if (kind === 'openai') {
        res.end(
          JSON.stringify({
            id: 'chatcmpl-1',
            object: 'chat.completion',
            model: body.model,
            choices: [{ index: 0, message: { role: 'assistant', content: JSON.stringify(answer), refusal: null }, finish_reason: 'stop' }],
            usage: { prompt_tokens: 10, completion_tokens: 10, total_tokens: 20 },
          }),
        );
      } else {
        res.end(
          JSON.stringify({
            id: 'msg_1',
            type: 'message',
            role: 'assistant',
            model: body.model,
            content: [{ type: 'tool_use', id: 'toolu_1', name: step, input: answer }],
            stop_reason: 'tool_use',
            usage: { input_tokens: 10, output_tokens: 10 },
          }),
        );
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  return {
    url: kind === 'openai' ? `http://127.0.0.1:${port}/v1` : `http://127.0.0.1:${port}`,
    requests,
    /** Resolves once `check` holds on the requests so far. */
    until: (check: () => boolean, what: string) => arrived.until(check, WAIT_MS, what),
    queue: (step: 'record_facts' | 'decide_memory', ...answers: Answer[]) => queued[step]!.push(...answers),
    close: () => {
      server.closeAllConnections();
      server.close();
    },
  };
}

for (const kind of ['openai', 'anthropic'] as const) {
  describe(`process-turn by a language model (${kind} wire format)`, () => {
    test('extraction and decisions by the model; malformed output and a provider that is down are refused and store nothing', async (t) => {
      const fake = await fakeModel(kind);
      t.after(() => fake.close());
      const args = [
        '--memory-model-provider',
        kind,
        '--memory-model-url',
        fake.url,
        '--memory-model-name',
        'test-model',
        '--memory-model-api-key',
        'sk-test-123',
        '--memory-model-retries',
        '1',
      ];
      const server = await startServer({ args });
      const http = new HttpClient(server.url);
      t.after(async () => {
        http.close();
        await server.stop();
        removeDir(server.dataDir);
      });
      const headOf = async () => (await http.get(`/contexts/${enc('facts/llm')}`)).json.headSeq ?? 0;

      fake.queue('record_facts', { facts: ['User prefers dark mode'] });
      fake.queue('decide_memory', { decisions: [{ event: 'ADD', id: '', fact: 'User prefers dark mode', reason: 'a new preference' }] });
      const first = await http.post('/memory/llm/process-turn', {
        messages: [
          { role: 'assistant', content: 'Which theme?' },
          { role: 'user', content: 'Dark, please. Always dark.' },
        ],
      });
      assert.equal(first.status, 200, first.text);
      assert.equal(first.json.extractor, `${kind}:test-model`);
      assert.deepEqual(
        first.json.decisions.map((d: Decided) => [d.decision, d.fact.key, d.fact.value, d.reason]),
        [['ADD', 'user.prefers.dark-mode', 'User prefers dark mode', 'a new preference']],
      );
      // The requests as each API takes them: the model, the key, the structured output asked for, the turn in the prompt.
      const [extract, decide] = fake.requests;
      assert.equal(extract!.path, kind === 'openai' ? '/v1/chat/completions' : '/v1/messages');
      assert.equal(extract!.body.model, 'test-model');
      if (kind === 'openai') {
        assert.equal(extract!.headers.authorization, 'Bearer sk-test-123');
        assert.equal(extract!.body.response_format.type, 'json_schema');
        assert.match(extract!.body.messages[1].content, /user: Dark, please/);
      } else {
        assert.equal(extract!.headers['x-api-key'], 'sk-test-123');
        assert.equal(extract!.headers['anthropic-version'], '2023-06-01');
        assert.deepEqual(extract!.body.tool_choice, { type: 'tool', name: 'record_facts' });
        assert.match(extract!.body.messages[0].content, /user: Dark, please/);
      }
      assert.equal(decide!.step, 'decide_memory');

      // The second turn's decision sees the known fact under a short id, and updates it.
      fake.queue('record_facts', { facts: ['User prefers light mode'] });
      fake.queue('decide_memory', { decisions: [{ event: 'UPDATE', id: '0', fact: 'User prefers light mode', reason: 'changed their mind' }] });
      const second = await http.post('/memory/llm/process-turn', say('I switched to light mode.'));
      assert.equal(second.status, 200, second.text);
      const sent = fake.requests.at(-1)!.body.messages.at(-1).content as string;
      assert.deepEqual(JSON.parse(sent), { known: [{ id: '0', fact: 'User prefers dark mode' }], new: ['User prefers light mode'] });
      assert.deepEqual(
        second.json.decisions.map((d: Decided) => [d.decision, d.fact.value, d.replaces?.value]),
        [['UPDATE', 'User prefers light mode', 'User prefers dark mode']],
      );
      const head = await headOf();
      assert.equal(head, 2);

      // Malformed decisions: an id that names no known fact.
      fake.queue('record_facts', { facts: ['User prefers tea'] });
      fake.queue('decide_memory', { decisions: [{ event: 'UPDATE', id: '9', fact: 'User prefers tea', reason: 'x' }] });
      const unknownId = await http.post('/memory/llm/process-turn', say('I prefer tea.'));
      assert.deepEqual([unknownId.status, unknownId.json.error.code], [502, 'MODEL_OUTPUT_INVALID']);
      assert.match(unknownId.json.error.message, /names no known fact/);
      // Malformed extraction: not the structured output asked for.
      fake.queue(
        'record_facts',
        kind === 'openai'
          ? { status: 200, raw: { choices: [{ message: { content: 'Sure! The user likes tea.' }, finish_reason: 'stop' }] } }
          : { status: 200, raw: { content: [{ type: 'text', text: 'Sure!' }], stop_reason: 'end_turn' } },
      );
      const prose = await http.post('/memory/llm/process-turn', say('I prefer tea.'));
      assert.deepEqual([prose.status, prose.json.error.code], [502, 'MODEL_OUTPUT_INVALID']);
      // A wrong field type in the extraction.
      fake.queue('record_facts', { facts: 'User prefers tea' });
      const notList = await http.post('/memory/llm/process-turn', say('I prefer tea.'));
      assert.deepEqual([notList.status, notList.json.error.code], [502, 'MODEL_OUTPUT_INVALID']);
      // The provider is down: both attempts answered 503.
      const overloaded = {
        status: 503,
        raw: kind === 'openai' ? { error: { message: 'overloaded', type: 'server_error' } } : { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } },
      };
      fake.queue('record_facts', overloaded, overloaded);
      const down = await http.post('/memory/llm/process-turn', say('I prefer tea.'));
      assert.deepEqual([down.status, down.json.error.code], [503, 'MODEL_UNAVAILABLE']);
      assert.match(down.json.error.message, new RegExp(`${kind}:test-model`));
      assert.doesNotMatch(down.json.error.message, /sk-test-123/);
      assert.equal(await headOf(), head, 'nothing was stored by the refused turns');

      // A reason cut at its limit in the middle of an emoji is still valid Unicode: both facts are stored.
      fake.queue('record_facts', { facts: ['User likes tea', 'User likes jazz'] });
      fake.queue('decide_memory', {
        decisions: [
          { event: 'ADD', id: '', fact: 'User likes tea', reason: 'new' },
          { event: 'ADD', id: '', fact: 'User likes jazz', reason: 'a'.repeat(999) + '😀' },
        ],
      });
      const emoji = await http.post('/memory/llm/process-turn', say('I like tea and jazz.'));
      assert.equal(emoji.status, 200, emoji.text);
      assert.equal(await headOf(), head + 2);

      // The model decides without holding the space: a fact remembered meanwhile is stored at once,
      // and since the facts changed, the decision is made once more on them before it is stored.
      let release!: (a: Record<string, unknown>) => void;
      fake.queue('record_facts', { facts: ['User prefers green tea'] });
      fake.queue('decide_memory', { held: new Promise((r) => (release = r)) }, { decisions: [{ event: 'ADD', id: '', fact: 'User prefers green tea', reason: 'decided again' }] });
      const decides = () => fake.requests.filter((r) => r.step === 'decide_memory').length;
      const before = decides();
      const slow = http.post('/memory/llm/process-turn', say('I prefer green tea.'));
      await fake.until(() => decides() === before + 1, 'the first decide call');
      const meanwhile = await http.post('/facts/llm', { key: 'editor', value: 'User edits with Helix' });
      assert.equal(meanwhile.json.decision, 'ADD');
      release({ decisions: [{ event: 'ADD', id: '', fact: 'User prefers green tea', reason: 'decided first' }] });
      const late = await slow;
      assert.equal(late.status, 200, late.text);
      assert.equal(decides(), before + 2, 'decided again on the changed facts');
      assert.equal(late.json.decisions[0].reason, 'decided again');

      // The rules on request, with a model configured: no call to the provider.
      const calls = fake.requests.length;
      const byRules = await http.post('/memory/llm/process-turn', { ...say('I prefer black tea.'), extractor: 'rules' });
      assert.equal(byRules.json.extractor, 'rules');
      assert.equal(fake.requests.length, calls);
      assert.equal(byRules.json.decisions[0].decision, 'UPDATE', 'a preference of the same topic (tea) as the model stored');
    });
  });
}
