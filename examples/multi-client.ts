/**
 * Many clients on one server. Each client has a space of its own: two clients may both have a
 * context "notes" and never see each other's. A group shares chosen contexts: alice and bob are
 * members of "team", so "team/plan" is one context both write and read, while carol, not a
 * member, cannot see it. Shown twice:
 *
 *   1. auth off (the local default): a client is whoever the X-Client-ID header names
 *      (`new EngramClient(url, { clientId: 'alice' })`);
 *   2. auth on: a client is whoever its API key says (`new EngramClient(url, { token })`); no key
 *      is refused, a key cannot pass itself off as another client, and an admin key may look
 *      into any client (`clientStatus`).
 *
 * Groups and keys live in the server's config file (docs/clients.md), so this example starts
 * its own two servers with the config it prints, on free loopback ports:
 *
 *   make build && node dist/examples/multi-client.js
 */
import { createHash, randomBytes } from 'node:crypto';
import { EngramClient, EngramClientError } from 'engram';
import { serveWithConfig } from './lib/serve.js';

const GROUPS = `clients:
  groups:
    team:
      contexts: ["team/*"]
      members: {alice: write, bob: write}
`;

/** What a read shows: the payloads, or the error code it got. */
async function read(client: EngramClient, contextId: string): Promise<string> {
  try {
    return JSON.stringify((await client.list(contextId)).workUnits.map((u) => u.payload));
  } catch (e) {
    if (e instanceof EngramClientError) return e.code;
    throw e;
  }
}

async function refusal(call: () => Promise<unknown>): Promise<string> {
  try {
    await call();
    return 'accepted (it should not be)';
  } catch (e) {
    if (e instanceof EngramClientError) return e.code;
    throw e;
  }
}

/** The same story whatever names the clients: own contexts stay apart, the group's is shared. */
async function isolationAndSharing(clients: { alice: EngramClient; bob: EngramClient; carol: EngramClient }): Promise<void> {
  const { alice, bob, carol } = clients;
  const a = await alice.write({ contextId: 'notes', agentId: 'assistant', type: 'MESSAGE', payload: 'alice: book the flights' });
  const b = await bob.write({ contextId: 'notes', agentId: 'assistant', type: 'MESSAGE', payload: 'bob: renew the passport' });
  await alice.createContext('diary', { displayName: "Alice's diary" });
  console.log(`isolation: alice and bob each wrote "notes": seq ${a.workUnit.seq} and seq ${b.workUnit.seq}, two contexts with one id`);
  console.log(`isolation: alice reads notes -> ${await read(alice, 'notes')}`);
  console.log(`isolation: bob reads notes -> ${await read(bob, 'notes')}`);
  console.log(`isolation: bob reads alice's "diary" -> ${await refusal(() => bob.getContext('diary'))}`);

  await alice.write({ contextId: 'team/plan', agentId: 'planner', type: 'MESSAGE', payload: 'alice: draft the launch plan' });
  await bob.write({ contextId: 'team/plan', agentId: 'reviewer', type: 'MESSAGE', payload: 'bob: reviewed, ship it' });
  console.log(`sharing: alice reads team/plan -> ${await read(alice, 'team/plan')}`);
  console.log(`sharing: bob reads team/plan -> ${await read(bob, 'team/plan')}`);
  console.log(`sharing: carol (not in the group) reads team/plan -> ${await read(carol, 'team/plan')}`);
  const listed = (await alice.listContexts()).contexts.map((c) => c.id);
  console.log(`sharing: alice's contexts (her own and her group's): ${listed.join(', ')}`);
}

// ---- 1. auth off: X-Client-ID names the client ----
console.log(`== auth off: clients named by X-Client-ID; the server's config:\n${GROUPS}`);
const open = await serveWithConfig(GROUPS, ['--search-enabled', 'false']);
try {
  await isolationAndSharing({
    alice: new EngramClient(open.url, { clientId: 'alice' }),
    bob: new EngramClient(open.url, { clientId: 'bob' }),
    carol: new EngramClient(open.url, { clientId: 'carol' }),
  });
} finally {
  await open.stop();
}

// ---- 2. auth on: each client's API key names it ----
// `engram keygen --client alice` makes a key and prints its config entry; here the same by hand:
// a random key for the client, and only its SHA-256 hash in the server's config.
const keys = { alice: newKey(), bob: newKey(), carol: newKey(), ops: newKey() };
const AUTH = `auth:
  mode: apikey
  keys:
    - {client: alice, hash: "${hashKey(keys.alice)}", scopes: [read, write]}
    - {client: bob, hash: "${hashKey(keys.bob)}", scopes: [read, write]}
    - {client: carol, hash: "${hashKey(keys.carol)}", scopes: [read, write]}
    - {client: ops, hash: "${hashKey(keys.ops)}", scopes: [read, write, admin]}
`;
console.log(`\n== auth on: clients named by their API keys; the server's config:\n${AUTH}${GROUPS}`);
const guarded = await serveWithConfig(AUTH + GROUPS, ['--search-enabled', 'false']);
try {
  await isolationAndSharing({
    alice: new EngramClient(guarded.url, { token: keys.alice }),
    bob: new EngramClient(guarded.url, { token: keys.bob }),
    carol: new EngramClient(guarded.url, { token: keys.carol }),
  });
  console.log(`auth: no key -> ${await refusal(() => new EngramClient(guarded.url).list('notes'))}`);
  console.log(
    `auth: bob's key claiming to be alice (X-Client-ID: alice) -> ${await refusal(() => new EngramClient(guarded.url, { token: keys.bob, clientId: 'alice' }).list('notes'))}`,
  );
  console.log(`auth: alice's key asking for another client's status -> ${await refusal(() => new EngramClient(guarded.url, { token: keys.alice }).clientStatus('bob'))}`);
  const status = await new EngramClient(guarded.url, { token: keys.ops }).clientStatus('alice');
  const groups = status.groups.map((g) => `${g.group} (${g.membership})`).join(', ');
  console.log(`auth: ops (admin key) looks at alice: ${status.contexts} contexts of her own, ${status.unitsWritten} unit(s), groups ${groups}`);
} finally {
  await guarded.stop();
}

function newKey(): string {
  return 'egk_' + randomBytes(32).toString('base64url');
}

function hashKey(key: string): string {
  return 'sha256:' + createHash('sha256').update(key).digest('hex');
}
