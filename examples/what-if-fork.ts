/**
 * A what-if branch of an agent run: an agent's run goes wrong at step 4, so a fork takes the run
 * up to step 3 (shared, not copied) and tries another way from there, while the original run goes
 * on. Each reads one continuous history of its own (docs/agents.md, Forks).
 *
 *   make run                                   # in one terminal
 *   node dist/examples/what-if-fork.js         # in another (ENGRAM_URL overrides the address)
 */
import { EngramClient, type WorkUnit } from 'engram';

const engram = new EngramClient(process.env.ENGRAM_URL ?? 'http://127.0.0.1:8080');
const run = `run/${Date.now()}`;
const say = (contextId: string, text: string) => engram.write({ contextId, agentId: 'agent', type: 'MESSAGE', payload: { text } });
const texts = (units: WorkUnit[]) => units.map((u) => `${u.seq}:${(u.payload as { text: string }).text}`).join(' | ');

for (const step of ['read the issue', 'found the failing test', 'the bug is in the retry loop', 'rewrite the whole client']) await say(run, step);

// Step 4 looks like a bad idea: branch after step 3 and try a smaller fix.
const whatIf = await engram.fork(run, { seq: 3, id: `${run}/what-if`, meta: { idea: 'small fix' } });
console.log(`forked ${whatIf.id} from ${whatIf.forkOf?.contextId} at seq ${whatIf.forkOf?.seq}`);
await say(whatIf.id, 'patch the retry loop only');
await say(run, 'client rewritten; 40 files changed');

console.log(`original: ${texts((await engram.list(run)).workUnits)}`);
console.log(`what-if:  ${texts((await engram.list(whatIf.id)).workUnits)}`);

// The parent cannot be deleted while it has a fork, unless the fork goes with it.
const refused = await engram.deleteContext(run).catch((err: { code?: string }) => err.code);
const gone = await engram.deleteContext(run, { cascade: true });
console.log(`delete without cascade: ${String(refused)}; with cascade: forks deleted ${gone.forksDeleted.join(', ')}`);
