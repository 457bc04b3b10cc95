/**
 * A long-running agent that keeps within its model's window by summarizing: it works step after
 * step, and before each step asks Engram for a window under its token budget with summaries on.
 * When the window's recent run no longer reaches back to what its summary covers, the agent
 * writes a new SUMMARY covering everything but the newer half of the recent run (a summary of the
 * previous summary and the steps since), so the window always holds the summary plus the newest
 * steps and nothing is ever out of both. The originals stay in the log, readable and searchable.
 *
 * Here the agent writes the summary text itself; with a language model configured on the server
 * (memory.model), `engram.summarize(contextId, {to})` writes it instead.
 *
 *   make run                                        # in one terminal
 *   node dist/examples/long-running-agent.js        # in another (ENGRAM_URL overrides the address)
 */
import { EngramClient, type ContextWindow } from 'engram';

const url = process.env.ENGRAM_URL ?? 'http://127.0.0.1:8080';
const contextId = `example/long-run/${Date.now()}`;
const budget = 400; // tokens: a small model window, so the example summarizes often
const steps = 80;
const engram = new EngramClient(url);

let summaries = 0;
let rows = 0;
let summarizedRows = 0;
let window: ContextWindow | undefined;
for (let step = 1; step <= steps; step++) {
  // The model would be handed `window.units` here; this agent's "work" is importing a batch.
  const batch = 100 + ((step * 37) % 50);
  rows += batch;
  await engram.write({
    contextId,
    agentId: 'importer',
    type: 'TOOL_RESULT',
    payload: { text: `step ${step}: imported batch ${step} of the nightly load, ${batch} rows, no errors` },
  });

  window = await engram.window(contextId, { budget, summaries: true });
  const summary = window.units.find((u) => u.reason === 'summary');
  const coveredTo = summary === undefined ? 0 : (summary.workUnit.payload as { covers: { to: number } }).covers.to;
  // Units between the summary and the recent run are in neither: fold them into a new summary.
  const recentUnits = window.units.filter((u) => u.reason === 'recent');
  const oldestRecent = recentUnits[0]?.workUnit.seq ?? window.headSeq + 1;
  if (oldestRecent > coveredTo + 1) {
    // Half the recent run goes into the summary too, so the next steps fit without summarizing at every one.
    const to = Math.max(oldestRecent - 1, window.headSeq - Math.floor(recentUnits.length / 2));
    // This agent knows its totals; the rows of the steps the summary now covers are all but those in the recent run.
    const recentRows = recentUnits.filter((u) => u.workUnit.seq > to).reduce((n, u) => n + Number(/(\d+) rows/.exec((u.workUnit.payload as { text: string }).text)?.[1] ?? 0), 0);
    summarizedRows = rows - recentRows;
    await engram.write({
      contextId,
      agentId: 'importer',
      type: 'SUMMARY',
      payload: { text: `Steps so far imported ${summarizedRows} rows with no errors.`, covers: { from: 1, to } },
    });
    summaries++;
    window = await engram.window(contextId, { budget, summaries: true });
  }
}

if (window === undefined) throw new Error('no steps ran');
const head = (await engram.getContext(contextId)).headSeq;
const summary = window.units.find((u) => u.reason === 'summary');
const covers = (summary?.workUnit.payload as { covers: { from: number; to: number } } | undefined)?.covers;
const recent = window.units.filter((u) => u.reason === 'recent');
console.log(`${steps} steps, ${summaries} summaries written, head seq ${head}`);
const oldest = recent[0]!.workUnit.seq;
console.log(`window: ${window.tokens} of ${budget} tokens; summary of ${covers?.from}-${covers?.to}; recent ${oldest}-${recent.at(-1)?.workUnit.seq} (${recent.length} units)`);
console.log(`nothing out of both: ${covers !== undefined && covers.from === 1 && covers.to + 1 >= oldest ? 'yes' : 'no'}`);
console.log(`the summary says: ${(summary?.workUnit.payload as { text: string } | undefined)?.text}`);
engram.close();
