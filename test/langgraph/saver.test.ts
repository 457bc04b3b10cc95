/**
 * EngramSaver beyond LangGraph's conformance suite (validation.test.ts): real graphs run on it and
 * are carried on by another process's saver, a thread followed live and resumed across a server
 * restart, a thread deleted and written again under a saver that had read it, and the live
 * example with its two processes.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import { describe, test } from 'node:test';
import { Annotation, END, MemorySaver, START, StateGraph } from '@langchain/langgraph';
import { emptyCheckpoint, uuid6, type BaseCheckpointSaver, type Checkpoint } from '@langchain/langgraph-checkpoint';
import { EngramSaver, type ThreadEvent } from '../../src/langgraph/index.js';
import { EngramClientError } from '../../src/client/index.js';
import { removeDir, serverPerFile, startOnFixedPort, tempDir } from '../helpers/server.js';
import { WAIT_MS, Watcher } from '../helpers/wait.js';

const env = serverPerFile();
const saverFor = (url: string, clientId: string) => new EngramSaver({ url, clientOptions: { clientId } });

const Counter = Annotation.Root({
  count: Annotation<number>({ reducer: (a, b) => a + b, default: () => 0 }),
  steps: Annotation<string[]>({ reducer: (a, b) => a.concat(b), default: () => [] }),
});

function counterGraph(saver: EngramSaver) {
  return new StateGraph(Counter)
    .addNode('inc', () => ({ count: 1, steps: ['inc'] }))
    .addNode('double', (s) => ({ count: s.count, steps: ['double'] }))
    .addEdge(START, 'inc')
    .addEdge('inc', 'double')
    .addEdge('double', END)
    .compile({ checkpointer: saver });
}

/** A checkpoint whose channel `topic` is stored at version 1 only with the first. */
function checkpointWith(values: Record<string, unknown>, versions: Record<string, number>): Checkpoint {
  return { ...emptyCheckpoint(), id: uuid6(-3), channel_values: values, channel_versions: versions };
}

/** Follows a thread in the background, collecting events; `watcher` is told of each. */
function collect(saver: EngramSaver, threadId: string, after = 0) {
  const events: ThreadEvent[] = [];
  const watcher = new Watcher();
  const stop = new AbortController();
  let error: unknown;
  const done = (async () => {
    try {
      for await (const e of saver.follow(threadId, { after, signal: stop.signal })) {
        events.push(e);
        watcher.notify();
      }
    } catch (err) {
      error = err;
      watcher.notify();
    }
  })();
  return { events, watcher, stop, done, error: () => error };
}

describe('EngramSaver', () => {
  test('a graph runs on it; another saver (another process) carries the thread on; history, filters and deleteThread', async () => {
    const clientId = `lg-${randomUUID()}`;
    const config = { configurable: { thread_id: 'counter' } };
    const first = counterGraph(saverFor(env.server.url, clientId));
    assert.deepEqual(await first.invoke({ count: 1 }, config), { count: 4, steps: ['inc', 'double'] });
    // A second saver knows nothing in memory: it reads the thread from Engram and continues it.
    const secondSaver = saverFor(env.server.url, clientId);
    const second = counterGraph(secondSaver);
    assert.deepEqual((await second.getState(config)).values, { count: 4, steps: ['inc', 'double'] });
    assert.deepEqual(await second.invoke({ count: 1 }, config), { count: 12, steps: ['inc', 'double', 'inc', 'double'] });
    // And the first one, which had read the thread, sees the second's steps.
    assert.deepEqual((await first.getState(config)).values.count, 12);

    const history = [];
    for await (const s of first.getStateHistory(config)) history.push(s);
    assert.equal(history.length, 8, 'input and three steps, twice');
    assert.deepEqual(
      history.map((s) => s.metadata?.source),
      ['loop', 'loop', 'loop', 'input', 'loop', 'loop', 'loop', 'input'],
    );
    const inputs = [];
    for await (const t of secondSaver.list(config, { filter: { source: 'input' } })) inputs.push(t);
    assert.equal(inputs.length, 2);
    const limited = [];
    for await (const t of secondSaver.list(config, { limit: 3, before: history[1]!.config })) limited.push(t.checkpoint.id);
    assert.deepEqual(
      limited,
      history.slice(2, 5).map((s) => s.config.configurable?.checkpoint_id),
    );

    await secondSaver.deleteThread('counter');
    assert.equal(await saverFor(env.server.url, clientId).getTuple(config), undefined);
    await assert.rejects(secondSaver.client.getContext(secondSaver.contextOf('counter')), (e: unknown) => e instanceof EngramClientError && e.code === 'CONTEXT_NOT_FOUND');
    assert.equal((await first.getState(config)).values.count, undefined, 'the saver that had read the thread sees it gone');
  });

  test('time travel: a fork from an earlier checkpoint leaves the original branch as it was (as MemorySaver does)', async () => {
    const Text = Annotation.Root({ text: Annotation<string>({ reducer: (a, b) => `${a} ${b}`.trim(), default: () => '' }) });
    const build = (saver: BaseCheckpointSaver) =>
      new StateGraph(Text)
        .addNode('a', () => ({ text: 'a' }))
        .addNode('b', () => ({ text: 'b' }))
        .addEdge(START, 'a')
        .addEdge('a', 'b')
        .addEdge('b', END)
        .compile({ checkpointer: saver });
    const run = async (saver: BaseCheckpointSaver, again: BaseCheckpointSaver) => {
      const graph = build(saver);
      const config = { configurable: { thread_id: 'fork' } };
      await graph.invoke({ text: 'start' }, config);
      const history = [];
      for await (const s of graph.getStateHistory(config)) history.push(s);
      const final = history[0]!;
      const afterA = history.find((s) => s.next.join() === 'b')!;
      await graph.updateState(afterA.config, { text: 'EDITED' });
      await graph.invoke(null, (await graph.getState(config)).config);
      return { original: (await build(again).getState(final.config)).values.text, fork: (await graph.getState(config)).values.text };
    };
    const clientId = `lg-${randomUUID()}`;
    const engram = await run(saverFor(env.server.url, clientId), saverFor(env.server.url, clientId));
    const memory = new MemorySaver();
    assert.deepEqual(engram, await run(memory, memory));
    assert.deepEqual(engram, { original: 'start a b', fork: 'start a EDITED b' });
  });

  test('a thread deleted and written again under a saver that had read it is read anew, not from memory', async () => {
    const clientId = `lg-${randomUUID()}`;
    const a = saverFor(env.server.url, clientId);
    const b = saverFor(env.server.url, clientId);
    const config = { configurable: { thread_id: 't', checkpoint_ns: '' } };
    const old = await a.put(config, checkpointWith({ topic: 'old' }, { topic: 1 }), { source: 'input', step: -1, parents: {} }, { topic: 1 });
    await a.put(old, checkpointWith({}, { topic: 1 }), { source: 'loop', step: 0, parents: {} }, {});
    assert.deepEqual((await a.getTuple(config))?.checkpoint.channel_values, { topic: 'old' });
    await b.deleteThread('t');
    await b.put(config, checkpointWith({ topic: 'new' }, { topic: 1 }), { source: 'input', step: -1, parents: {} }, { topic: 1 });
    await b.put(config, checkpointWith({ other: 1 }, { other: 1 }), { source: 'input', step: -1, parents: {} }, { other: 1 });
    const list = [];
    for await (const t of a.list(config)) list.push(t.checkpoint.channel_values);
    assert.deepEqual(list, [{ other: 1 }, { topic: 'new' }]);
  });

  test('follow: live events in commit order, resumed across a server restart without gaps; from `after` with channel values found before it', async () => {
    const dataDir = tempDir();
    let started = await startOnFixedPort((p) => ({ dataDir, args: ['--addr', `127.0.0.1:${p}`] }));
    const url = started.server.url;
    const clientId = `lg-${randomUUID()}`;
    const saver = saverFor(url, clientId);
    const live = collect(saverFor(url, clientId), 'r');
    try {
      const config = { configurable: { thread_id: 'r', checkpoint_ns: '' } };
      const meta = (step: number) => ({ source: 'loop' as const, step, parents: {} });
      let c = await saver.put(config, checkpointWith({ topic: 'retries' }, { topic: 1 }), meta(0), { topic: 1 });
      await saver.putWrites(c, [['draft', 'one']], 'task-1');
      c = await saver.put(c, checkpointWith({}, { topic: 1 }), meta(1), {});
      await live.watcher.until(() => live.events.length === 3, WAIT_MS, 'three events before the restart');

      assert.equal(await started.server.stop(), 0);
      started = { server: await startOnFixedPort(() => ({ dataDir, args: ['--addr', `127.0.0.1:${started.port}`] })).then((s) => s.server), port: started.port };
      assert.equal(started.server.url, url);
      await saver.putWrites(c, [['draft', 'two']], 'task-2');
      c = await saver.put(c, checkpointWith({}, { topic: 1 }), meta(2), {});
      await live.watcher.until(() => live.events.length === 5 || live.error() !== undefined, WAIT_MS, 'five events after the restart');
      assert.equal(live.error(), undefined);
      assert.deepEqual(
        live.events.map((e) => e.seq),
        [1, 2, 3, 4, 5],
        'every unit once, in order',
      );
      assert.deepEqual(
        live.events.map((e) => e.kind),
        ['checkpoint', 'writes', 'checkpoint', 'writes', 'checkpoint'],
      );
      const w = live.events[3]!;
      assert.ok(w.kind === 'writes' && w.taskId === 'task-2');
      assert.deepEqual(w.kind === 'writes' && w.writes, [['draft', 'two']]);
      const last = live.events[4]!;
      assert.ok(last.kind === 'checkpoint');
      assert.deepEqual(last.kind === 'checkpoint' && last.tuple.checkpoint.channel_values, { topic: 'retries' }, 'a value stored with an earlier checkpoint');

      // A follower that starts after seq 3 gets only what came after, with values found before it.
      const later = collect(saverFor(url, clientId), 'r', 3);
      await later.watcher.until(() => later.events.length === 2, WAIT_MS, 'the two events after seq 3');
      assert.deepEqual(
        later.events.map((e) => e.seq),
        [4, 5],
      );
      const tail = later.events[1]!;
      assert.deepEqual(tail.kind === 'checkpoint' && tail.tuple.checkpoint.channel_values, { topic: 'retries' });
      later.stop.abort();

      // Deleting the thread ends a follower with CONTEXT_DELETED.
      await saver.deleteThread('r');
      await live.watcher.until(() => live.error() !== undefined, WAIT_MS, 'the follower to end');
      assert.ok(live.error() instanceof EngramClientError && (live.error() as EngramClientError).code === 'CONTEXT_DELETED');
      await later.done;
    } finally {
      live.stop.abort();
      await started.server.stop();
      removeDir(dataDir);
    }
  });

  test('bad input is refused before anything is stored', async () => {
    const saver = saverFor(env.server.url, `lg-${randomUUID()}`);
    const meta = { source: 'input' as const, step: -1, parents: {} };
    await assert.rejects(saver.put({ configurable: {} }, emptyCheckpoint(), meta, {}), /thread_id/);
    await assert.rejects(saver.putWrites({ configurable: { thread_id: 'x' } }, [['a', 1]], 'task'), /checkpoint_id/);
    await assert.rejects(saver.put({ configurable: { thread_id: 'x'.repeat(300) } }, emptyCheckpoint(), meta, {}), /too long/);
    const all = [];
    for await (const t of saver.list({})) all.push(t);
    assert.deepEqual(all, []);
  });

  test("examples/langgraph-live: the reviewer follows the writer's graph live, is asked at the interrupt and resumes it", () => {
    const r = spawnSync(process.execPath, [resolve(import.meta.dirname, '../../examples/langgraph-live.js')], {
      env: { ...process.env, ENGRAM_URL: env.server.url },
      encoding: 'utf8',
      timeout: 2 * WAIT_MS,
    });
    assert.equal(r.status, 0, `exited with ${r.status}: ${r.stderr}`);
    assert.equal(r.stderr, '');
    const out = r.stdout;
    assert.match(out, /^writer's graph stopped for review after: outline → write \(next: review\)$/m);
    assert.match(out, /^reviewer saw seq 1: checkpoint at step -1 \(input\)$/m);
    assert.match(out, /^reviewer saw seq \d+: writes to __interrupt__$/m);
    assert.match(out, /^reviewer was asked "Approve this draft\?" about:\n {2}\| Outline: retry policy\n/m);
    assert.match(out, /^reviewer resumed the graph; it finished with log: outline → write → review → publish \(approved by the reviewer\)$/m);
    assert.match(out, /^writer saw seq \d+: publish \(approved by the reviewer\)$/m);
    assert.match(
      out,
      /^done: thread example-\d+, log outline → write → review → publish \(approved by the reviewer\), verdict "approved by the reviewer" \(reviewer exited with 0\)$/m,
    );
  });
});
