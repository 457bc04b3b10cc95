/**
 * A LangGraph graph keeps its checkpoints in Engram, and a second process follows the thread live
 * and reacts. The writer runs a small graph (outline → write → review → publish); at `review` the
 * graph stops for a human-in-the-loop verdict (LangGraph's `interrupt`). The reviewer, another
 * process, follows the thread over WebSocket as the checkpoints and writes are committed, sees the
 * interrupt the moment it happens, and resumes the graph from its own process with its verdict:
 * both work on one thread because the thread lives in Engram, not in either process.
 *
 *   make run                                   # in one terminal
 *   node dist/examples/langgraph-live.js       # in another (ENGRAM_URL overrides the address)
 */
import { spawn } from 'node:child_process';
import { Annotation, Command, END, INTERRUPT, START, StateGraph, interrupt } from '@langchain/langgraph';
import { EngramSaver } from 'engram/langgraph';

const url = process.env.ENGRAM_URL ?? 'http://127.0.0.1:8080';
const [role = 'writer', threadId = `example-${Date.now()}`] = process.argv.slice(2);
const config = { configurable: { thread_id: threadId } };

const State = Annotation.Root({
  topic: Annotation<string>(),
  draft: Annotation<string>(),
  verdict: Annotation<string>(),
  log: Annotation<string[]>({ reducer: (a, b) => a.concat(b), default: () => [] }),
});

/** The same graph in both processes: what runs it is whichever process invokes it. */
function buildGraph(saver: EngramSaver) {
  return new StateGraph(State)
    .addNode('outline', (s) => ({ draft: `Outline: ${s.topic}`, log: ['outline'] }))
    .addNode('write', (s) => ({ draft: `${s.draft}\n- retries: exponential backoff with jitter\n- timeouts: 30 s per call`, log: ['write'] }))
    .addNode('review', (s) => {
      const verdict = interrupt({ question: 'Approve this draft?', draft: s.draft }) as string;
      return { verdict, log: ['review'] };
    })
    .addNode('publish', (s) => ({ log: [`publish (${s.verdict})`] }))
    .addEdge(START, 'outline')
    .addEdge('outline', 'write')
    .addEdge('write', 'review')
    .addEdge('review', 'publish')
    .addEdge('publish', END)
    .compile({ checkpointer: saver });
}

const saver = new EngramSaver({ url, agentId: role });
const graph = buildGraph(saver);

if (role === 'reviewer') {
  // Follows the thread from its start, live: what the writer's graph commits arrives as it happens.
  for await (const event of saver.follow(threadId, { agentId: 'reviewer' })) {
    if (event.kind === 'checkpoint') {
      const m = event.tuple.metadata;
      console.log(`reviewer saw seq ${event.seq}: checkpoint at step ${m?.step} (${m?.source})`);
      continue;
    }
    const channels = event.writes.map(([channel]) => channel).filter((c) => !c.startsWith('branch:'));
    console.log(`reviewer saw seq ${event.seq}: writes to ${channels.join(', ')}`);
    const asked = event.writes.find(([channel]) => channel === INTERRUPT);
    if (asked === undefined) continue;
    const { value } = (asked[1] as Array<{ value: { question: string; draft: string } }>)[0]!;
    console.log(`reviewer was asked "${value.question}" about:\n${value.draft.replace(/^/gm, '  | ')}`);
    // Reacts: resumes the graph from this process, on the same thread.
    const final = await graph.invoke(new Command({ resume: 'approved by the reviewer' }), config);
    console.log(`reviewer resumed the graph; it finished with log: ${final.log.join(' → ')}`);
    break; // ends the subscription
  }
} else {
  const reviewer = spawn(process.execPath, [import.meta.filename, 'reviewer', threadId], { stdio: ['ignore', 'inherit', 'inherit'] });
  const reviewerExit = new Promise<number | null>((resolve) => reviewer.once('exit', resolve));
  const stopped = await graph.invoke({ topic: 'retry policy' }, config);
  const state = await graph.getState(config);
  console.log(`writer's graph stopped for review after: ${stopped.log.join(' → ')} (next: ${state.next.join(', ')})`);
  // The writer follows too and sees the reviewer's verdict land. It reads from the thread's start
  // (what it wrote itself, then live): the reviewer may have answered already.
  for await (const event of saver.follow(threadId)) {
    const entry = event.kind === 'writes' ? event.writes.find(([channel]) => channel === 'log') : undefined;
    if (entry && (entry[1] as string[]).some((l) => l.startsWith('publish'))) {
      console.log(`writer saw seq ${event.seq}: ${(entry[1] as string[]).join(', ')}`);
      break;
    }
  }
  const code = await reviewerExit;
  const final = await graph.getState(config);
  console.log(`done: thread ${threadId}, log ${final.values.log.join(' → ')}, verdict "${final.values.verdict}" (reviewer exited with ${code})`);
  if (code !== 0) process.exitCode = 1;
}
