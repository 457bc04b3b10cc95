/**
 * An agent that asks a person before it acts. It takes the lock on what it will change, asks for
 * an approval of the action (with an expiry, under that lock), and waits; a person approves or
 * denies it in the dashboard (Approvals, #/approvals) while it waits. It acts only on an approval,
 * and only with a write fenced by the lock it asked under: had it lost the lock meanwhile, the
 * answer would be FENCE_REJECTED and it would not act.
 *
 *   make run                                   # in one terminal
 *   node dist/examples/approval.js             # in another (ENGRAM_URL overrides the address)
 *   open http://127.0.0.1:8080/#/approvals     # and press Approve (or Deny)
 */
import { EngramClient, EngramClientError } from 'engram';

const url = process.env.ENGRAM_URL ?? 'http://127.0.0.1:8080';
const contextId = `example/deploy/${Date.now()}`;
const resource = `${contextId}/prod`;
const engram = new EngramClient(url);

const lock = await engram.acquire(resource, { agentId: 'deployer', ttlMs: 15 * 60_000 });
try {
  const asked = await engram.requestApproval(contextId, { agentId: 'deployer', action: { deploy: 'v2.1', to: 'prod' }, ttlMs: 10 * 60_000, lock });
  console.log(`asked for approval ${asked.requestId} in ${contextId} (lock ${resource} #${lock.token})`);
  console.log(`waiting for a decision: open ${url}/#/approvals`);
  // Long polls until the request is decided or expires; a server restart meanwhile is waited out.
  const answer = await engram.waitForApproval(contextId, asked.requestId);
  if (answer.status === 'approved') {
    const { workUnit } = await engram.write({
      contextId,
      agentId: 'deployer',
      type: 'TOOL_CALL',
      payload: { tool: 'deploy', args: answer.action },
      relationships: [{ targetId: answer.decision!.id, type: 'DEPENDS_ON' }],
      fence: answer.lock,
    });
    console.log(`approved by ${answer.decision!.by}: deployed (seq ${workUnit.seq}, fenced by token ${answer.lock.token})`);
  } else {
    const why = answer.decision?.reason ? ` (${answer.decision.reason})` : '';
    console.log(`${answer.status}${answer.decision ? ` by ${answer.decision.by}` : ''}${why}: not deploying`);
  }
} catch (err) {
  if (!(err instanceof EngramClientError && err.code === 'FENCE_REJECTED')) throw err;
  console.log('the lock was lost while waiting: not acting on the approval');
} finally {
  await engram.release(resource, { agentId: 'deployer', lockId: lock.lockId }).catch(() => undefined);
  engram.close();
}
