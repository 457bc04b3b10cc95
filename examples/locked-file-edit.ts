/**
 * Two agents edit one shared file in turns. Each takes the file's lock (withLock renews it
 * while the edit runs and releases it after), reads the file's latest version from the
 * context, and writes its change fenced with the lock's token: a write from an agent whose
 * lease has lapsed is refused, so no edit is silently lost.
 *
 *   make run                                   # in one terminal
 *   node dist/examples/locked-file-edit.js     # in another (ENGRAM_URL overrides the address)
 */
import { EngramClient, EngramClientError } from 'engram';

const url = process.env.ENGRAM_URL ?? 'http://127.0.0.1:8080';
const contextId = `example/shared-file/${Date.now()}`;
const path = 'notes/decisions.md';
const engram = new EngramClient(url);

/** The file's current text: the newest FILE_CHANGE in the context. */
async function readFile(): Promise<string> {
  const page = await engram.list(contextId, { limit: 1, reverse: true }).catch((e: unknown) => {
    if (e instanceof EngramClientError && e.code === 'CONTEXT_NOT_FOUND') return { workUnits: [] };
    throw e;
  });
  const last = page.workUnits[0];
  return last === undefined ? '' : (last.payload as { text: string }).text;
}

async function appendLine(agentId: string, line: string): Promise<void> {
  await engram.withLock(path, { agentId, ttlMs: 5000, waitMs: 10_000 }, async (lock) => {
    const text = await readFile();
    const { workUnit } = await engram.write({
      contextId,
      agentId,
      type: 'FILE_CHANGE',
      payload: { path, text: text + line + '\n' },
      fence: { resource: path, token: lock.token },
    });
    console.log(`${agentId} held ${path} with token ${lock.token} and wrote version ${workUnit.seq}`);
  });
}

// Both agents edit at once; the lock puts them in line, so both lines survive.
await Promise.all([appendLine('agent-a', '- retries: exponential backoff with jitter'), appendLine('agent-b', '- timeouts: 30 s per call')]);

// A write with a token that is no longer the holder's is refused.
const stale = await engram.acquire(path, { agentId: 'agent-c', ttlMs: 1000 });
await engram.release(path, { agentId: 'agent-c', lockId: stale.lockId });
try {
  await engram.write({ contextId, agentId: 'agent-c', type: 'FILE_CHANGE', payload: { path, text: 'overwritten!' }, fence: { resource: path, token: stale.token } });
  console.log('stale write was accepted (it should not be)');
} catch (e) {
  console.log(`stale write refused: ${(e as EngramClientError).code}`);
}
console.log(`final ${path}:\n${await readFile()}`);
