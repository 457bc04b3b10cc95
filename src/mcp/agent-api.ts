/**
 * What the MCP tools call: one interface, two ways to reach the server. `engram mcp` (stdio) is
 * a thin client and goes over HTTP (ClientAgentApi); /mcp runs inside the server and calls the
 * gate and memory services directly as the request's principal (LocalAgentApi). Both give the
 * same JSON shapes, the ones the HTTP API answers with.
 */
import type { EngramClient } from '../client/http-client.js';
import type { Principal } from '../tenancy/access.js';
import type { AgentMemory } from '../memory/agent-memory.js';
import type { Gate } from '../gate/gate.js';
import { windowJson } from '../agents/window.js';
import type { AgentServices } from '../agents/services.js';

export interface AgentApi {
  memory(space: string, input: unknown, agentId: string): Promise<{ result: string; isError: boolean }>;
  remember(space: string, fact: { key?: unknown; value?: unknown }, agentId: string): Promise<unknown>;
  forget(space: string, key: unknown, agentId: string): Promise<unknown>;
  facts(space: string, includeDeleted: boolean): Promise<unknown[]>;
  recall(space: string, query: unknown, limit: number): Promise<unknown[]>;
  /** POST /memory/{space}/process-turn: `turn` is the request body ({messages, extractor}). */
  processTurn(space: string, turn: Record<string, unknown>, agentId: string): Promise<unknown>;
  /** POST /memory/{space}/query. */
  queryMemory(space: string, query: Record<string, unknown>): Promise<unknown>;
  graph(space: string, tool: string, args: unknown, agentId: string): Promise<unknown>;
  post(unit: Record<string, unknown>): Promise<unknown>;
  /** The last `limit` units of a context, oldest first. */
  /** The newest `limit` units, oldest first; with `summaries`, applied summaries in place of their ranges. */
  recent(contextId: string, limit: number, summaries?: boolean): Promise<unknown[]>;
  search(request: Record<string, unknown>): Promise<unknown>;
  lock(request: Record<string, unknown>): Promise<unknown>;
  unlock(resource: string, agentId: string, lockId: string): Promise<unknown>;
  /** Who is subscribed to a context now (GET /contexts/{id}/presence). */
  presence(contextId: string): Promise<unknown>;
  /** POST /contexts/{id}/window: `request` is its body. */
  window(contextId: string, request: Record<string, unknown>): Promise<unknown>;
  /** POST /contexts/{id}/summarize: `request` is its body. */
  summarize(contextId: string, request: Record<string, unknown>): Promise<unknown>;
  /** POST /contexts/{id}/fork: `request` is its body ({seq, id?, displayName?, meta?}). */
  fork(contextId: string, request: Record<string, unknown>): Promise<unknown>;
  /** POST /contexts/{id}/approvals: `request` is its body. */
  requestApproval(contextId: string, request: Record<string, unknown>): Promise<unknown>;
  /** GET /contexts/{id}/approvals/{requestId}?wait=: fenced on approve (FENCE_REJECTED once the lock was lost). */
  getApproval(contextId: string, requestId: string, waitSeconds: number): Promise<unknown>;
}

export class ClientAgentApi implements AgentApi {
  constructor(private readonly client: EngramClient) {}

  memory(space: string, input: unknown, agentId: string) {
    return this.client.memory(space, input, agentId);
  }
  remember(space: string, fact: { key?: unknown; value?: unknown }, agentId: string) {
    return this.client.remember(space, fact, agentId);
  }
  forget(space: string, key: unknown, agentId: string) {
    return this.client.forget(space, key, agentId);
  }
  facts(space: string, includeDeleted: boolean) {
    return this.client.facts(space, { includeDeleted });
  }
  recall(space: string, query: unknown, limit: number) {
    return this.client.recall(space, query, limit);
  }
  processTurn(space: string, turn: Record<string, unknown>, agentId: string) {
    return this.client.processTurn(space, turn.messages as never, { agentId, ...(turn.extractor === undefined ? {} : { extractor: turn.extractor as never }) });
  }
  queryMemory(space: string, query: Record<string, unknown>) {
    const { query: q, ...options } = query;
    return this.client.queryMemory(space, q as string, options);
  }
  graph(space: string, tool: string, args: unknown, agentId: string) {
    return this.client.graph(space, tool, args, agentId);
  }
  async post(unit: Record<string, unknown>) {
    return (await this.client.write(unit as never)).workUnit;
  }
  async recent(contextId: string, limit: number, summaries?: boolean) {
    return (await this.client.list(contextId, { limit, reverse: true, ...(summaries === true ? { summaries } : {}) })).workUnits.reverse();
  }
  search(request: Record<string, unknown>) {
    return this.client.search(request as never);
  }
  lock(request: Record<string, unknown>) {
    const { resource, ...rest } = request;
    return this.client.acquire(resource as string, rest as never);
  }
  unlock(resource: string, agentId: string, lockId: string) {
    return this.client.release(resource, { agentId, lockId });
  }
  presence(contextId: string) {
    return this.client.presence(contextId);
  }
  window(contextId: string, request: Record<string, unknown>) {
    return this.client.window(contextId, request as never);
  }
  summarize(contextId: string, request: Record<string, unknown>) {
    return this.client.summarize(contextId, request as never);
  }
  fork(contextId: string, request: Record<string, unknown>) {
    return this.client.fork(contextId, request as never);
  }
  requestApproval(contextId: string, request: Record<string, unknown>) {
    return this.client.requestApproval(contextId, request as never);
  }
  getApproval(contextId: string, requestId: string, waitSeconds: number) {
    return this.client.getApproval(contextId, requestId, { waitSeconds });
  }
}

export class LocalAgentApi implements AgentApi {
  constructor(
    private readonly gate: Gate,
    private readonly mem: AgentMemory,
    private readonly p: Principal,
    private readonly agents: AgentServices,
  ) {}

  requestApproval(contextId: string, request: Record<string, unknown>) {
    return this.agents.approvals.request(this.p, contextId, request);
  }
  getApproval(contextId: string, requestId: string, waitSeconds: number) {
    return this.agents.approvals.get(this.p, contextId, requestId, { waitMs: Math.max(0, Math.min(60, Math.floor(waitSeconds))) * 1000 });
  }

  async window(contextId: string, request: Record<string, unknown>) {
    return JSON.parse(windowJson(await this.agents.window.window(this.p, contextId, request))) as unknown;
  }
  async summarize(contextId: string, request: Record<string, unknown>) {
    return JSON.parse(await this.agents.summarizer.summarize(this.p, contextId, request)) as unknown;
  }

  fork(contextId: string, request: Record<string, unknown>) {
    return this.gate.forkContext(this.p, contextId, request);
  }

  memory(space: string, input: unknown, agentId: string) {
    return this.mem.files.command(this.p, space, input, agentId);
  }
  remember(space: string, fact: { key?: unknown; value?: unknown }, agentId: string) {
    return this.mem.facts.remember(this.p, space, fact, agentId);
  }
  forget(space: string, key: unknown, agentId: string) {
    return this.mem.facts.forget(this.p, space, key, agentId);
  }
  facts(space: string, includeDeleted: boolean) {
    return this.mem.facts.list(this.p, space, includeDeleted);
  }
  recall(space: string, query: unknown, limit: number) {
    return this.mem.facts.recall(this.p, space, query, limit);
  }
  processTurn(space: string, turn: Record<string, unknown>, agentId: string) {
    return this.mem.turns.processTurn(this.p, space, turn, agentId);
  }
  queryMemory(space: string, query: Record<string, unknown>) {
    return this.mem.turns.query(this.p, space, query);
  }
  async graph(space: string, tool: string, args: unknown, agentId: string) {
    return (await this.mem.graph.run(this.p, space, tool, args, agentId)).result;
  }
  async post(unit: Record<string, unknown>) {
    return JSON.parse((await this.gate.append(this.p, unit)).json) as unknown;
  }
  async recent(contextId: string, limit: number, summaries?: boolean) {
    const units =
      summaries === true
        ? (await this.agents.summaries.read(this.p, contextId, { limit, reverse: true })).items.map((x) => x.json)
        : (await this.gate.listUnits(this.p, contextId, { limit, reverse: true })).units;
    return units.map((u) => JSON.parse(u) as unknown).reverse();
  }
  async search(request: Record<string, unknown>) {
    const r = await this.gate.search(this.p, request);
    return { ...r, results: r.results.map((x) => ({ ...x, workUnit: JSON.parse(x.workUnit) as unknown })) };
  }
  async lock(request: Record<string, unknown>) {
    return (await this.gate.acquireLock(this.p, request).result)[0];
  }
  unlock(resource: string, agentId: string, lockId: string) {
    return this.gate.releaseLock(this.p, resource, agentId, lockId);
  }
  async presence(contextId: string) {
    const r = this.gate.presence(this.p, contextId);
    return { ...r, members: r.members.map((m) => ({ ...m, since: new Date(m.since).toISOString() })) };
  }
}
