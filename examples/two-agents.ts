/**
 * Two agents collaborate in one context over WebSocket: a planner hands out tasks, a coder
 * follows the context live and answers each task; the planner follows it too and waits for
 * every answer. Each side is an async iterator that would resume by itself after a disconnect.
 *
 *   make run                                 # in one terminal
 *   node dist/examples/two-agents.js         # in another (ENGRAM_URL overrides the address)
 */
import { EngramClient, type WorkUnit } from 'engram';

const url = process.env.ENGRAM_URL ?? 'http://127.0.0.1:8080';
const contextId = `example/two-agents/${Date.now()}`;
const tasks = ['parse the config file', 'add a retry with backoff', 'write the tests'];

const planner = new EngramClient(url);
const coder = new EngramClient(url);

// The coder: answers every task it sees, replying to it by id.
const coderDone = (async () => {
  let answered = 0;
  for await (const unit of coder.subscribe(contextId, { since: 0 })) {
    if (unit.agentId !== 'planner' || unit.type !== 'MESSAGE') continue;
    const task = (unit.payload as { task: string }).task;
    await coder.write({
      contextId,
      agentId: 'coder',
      type: 'TOOL_RESULT',
      payload: { done: task },
      relationships: [{ targetId: unit.id, type: 'RESPONDS_TO' }],
      idempotencyKey: `answer-${unit.id}`, // a retry after a reconnect cannot answer twice
    });
    console.log(`coder    answered seq ${unit.seq}: ${task}`);
    if (++answered === tasks.length) break;
  }
})();

// The planner: follows the context from the start, posts the tasks, waits for all answers.
const answers: WorkUnit[] = [];
const plannerStream = planner.subscribe(contextId, { since: 0 });
for (const task of tasks) {
  const { workUnit } = await planner.write({ contextId, agentId: 'planner', type: 'MESSAGE', payload: { task } });
  console.log(`planner  posted  seq ${workUnit.seq}: ${task}`);
}
for await (const unit of plannerStream) {
  if (unit.agentId !== 'coder') continue;
  answers.push(unit);
  console.log(`planner  saw answer seq ${unit.seq} to ${unit.relationships[0]?.targetId}`);
  if (answers.length === tasks.length) break;
}
await coderDone;
const ctx = await planner.getContext(contextId);
console.log(`done: ${answers.length} answers, head seq ${ctx.headSeq}, agents ${ctx.agentIds.join(', ')}`);
