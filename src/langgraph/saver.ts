/**
 * EngramSaver: a LangGraph checkpoint saver on Engram. A thread is a context (`<prefix><thread_id>`),
 * each checkpoint and each `putWrites` call is one work unit appended to it, and `deleteThread`
 * deletes the context. Because the thread is a stream, another process can follow a running graph
 * live with `follow()`, resuming where it left off.
 *
 *   const saver = new EngramSaver({ url: 'http://127.0.0.1:8080' });
 *   const graph = builder.compile({ checkpointer: saver });
 *
 * Reads rebuild a thread from its units (thread.ts) and keep it: the next read of the thread asks
 * only for the units after the last one seen, so a thread written by several processes is read
 * whole and a long one is not read again from the start (docs/integrations.md).
 */
import { createHash } from 'node:crypto';
import type { RunnableConfig } from '@langchain/core/runnables';
import {
  BaseCheckpointSaver,
  TASKS,
  WRITES_IDX_MAP,
  copyCheckpoint,
  getCheckpointId,
  maxChannelVersion,
  type ChannelVersions,
  type Checkpoint,
  type CheckpointListOptions,
  type CheckpointMetadata,
  type CheckpointPendingWrite,
  type CheckpointTuple,
  type PendingWrite,
  type SerializerProtocol,
} from '@langchain/langgraph-checkpoint';
// The HTTP client's own modules: the SDK's index would load the gRPC client too.
import { EngramClientError, isRetryable } from '../client/errors.js';
import { EngramClient, type EngramClientOptions } from '../client/http-client.js';
import { decodeTyped, encodeTyped, sameJson, type Typed } from './encoding.js';
import { ContextReplicas, contextIdsWithPrefix } from './replicas.js';
import { ThreadState, type CheckpointUnit, type StoredCheckpoint, type WritesUnit } from './thread.js';

export interface EngramSaverOptions {
  /** A client to use; or `url` (and `clientOptions`: API key, client id) to make one. */
  client?: EngramClient;
  url?: string;
  clientOptions?: EngramClientOptions;
  /** Context ids are `prefix + thread_id` (default `langgraph/`). */
  prefix?: string;
  /** The agent the units are written as (default `langgraph`). */
  agentId?: string;
  serde?: SerializerProtocol;
  /** Threads kept in memory between reads (least recently used go first; default 256). */
  maxCachedThreads?: number;
  /**
   * How checkpoints and writes are appended: `websocket` (the default: one socket, the stream's
   * `publish`, cheaper per step) or `http` (a request each, `POST /workunit`).
   */
  transport?: 'websocket' | 'http';
}

/** What `follow()` yields: each checkpoint and each batch of writes, with the seq to resume after. */
export type ThreadEvent =
  { kind: 'checkpoint'; seq: number; tuple: CheckpointTuple } | { kind: 'writes'; seq: number; config: RunnableConfig; taskId: string; writes: PendingWrite[] };

/** Longest context id Engram takes (docs/api.md, "Ids and limits"). */
const MAX_ID = 256;

export class EngramSaver extends BaseCheckpointSaver {
  readonly client: EngramClient;
  readonly prefix: string;
  private readonly agentId: string;
  private readonly transport: 'websocket' | 'http';
  /** Threads read so far, kept up to date by their tails. */
  private readonly replicas: ContextReplicas<ThreadState>;

  constructor(options: EngramSaverOptions = {}) {
    super(options.serde);
    if (options.client === undefined && options.url === undefined) throw new Error('EngramSaver needs a client or a url');
    this.client = options.client ?? new EngramClient(options.url!, options.clientOptions);
    this.prefix = options.prefix ?? 'langgraph/';
    this.agentId = options.agentId ?? 'langgraph';
    this.transport = options.transport ?? 'websocket';
    this.replicas = new ContextReplicas(this.client, () => new ThreadState(), options.maxCachedThreads ?? 256);
  }

  /** The context that holds a thread. */
  contextOf(threadId: string): string {
    const id = this.prefix + threadId;
    if (id.length > MAX_ID) throw new Error(`thread_id is too long for an Engram context id (${id.length} > ${MAX_ID} characters with the prefix)`);
    return id;
  }

  async getTuple(config: RunnableConfig): Promise<CheckpointTuple | undefined> {
    const threadId = threadIdOf(config, false);
    if (threadId === undefined) return undefined;
    const ns = (config.configurable?.checkpoint_ns as string | undefined) ?? '';
    const thread = await this.thread(threadId);
    if (thread === undefined) return undefined;
    const checkpointId = getCheckpointId(config);
    const stored = checkpointId ? thread.checkpoint(ns, checkpointId) : thread.latest(ns);
    return stored === undefined ? undefined : this.tupleOf(thread, threadId, stored);
  }

  async *list(config: RunnableConfig, options: CheckpointListOptions = {}): AsyncGenerator<CheckpointTuple> {
    const { before, filter } = options;
    let limit = options.limit;
    const onlyNs = config.configurable?.checkpoint_ns as string | undefined;
    const onlyId = config.configurable?.checkpoint_id as string | undefined;
    const beforeId = before?.configurable?.checkpoint_id as string | undefined;
    const threadId = threadIdOf(config, false);
    const threadIds = threadId !== undefined ? [threadId] : await this.threadIds();
    for (const id of threadIds) {
      const thread = await this.thread(id);
      if (thread === undefined) continue;
      for (const ns of onlyNs !== undefined ? [onlyNs] : thread.namespaces()) {
        for (const stored of thread.newestFirst(ns)) {
          if (onlyId && stored.id !== onlyId) continue;
          if (beforeId && stored.id >= beforeId) continue;
          if (filter && Object.keys(filter).length > 0) {
            const metadata = (await decodeTyped(this.serde, stored.metadata)) as Record<string, unknown>;
            if (!Object.entries(filter).every(([k, v]) => sameJson(metadata?.[k], v))) continue;
          }
          if (limit !== undefined) {
            if (limit <= 0) return;
            limit -= 1;
          }
          yield await this.tupleOf(thread, id, stored);
        }
      }
    }
  }

  async put(config: RunnableConfig, checkpoint: Checkpoint, metadata: CheckpointMetadata, newVersions: ChannelVersions): Promise<RunnableConfig> {
    const threadId = threadIdOf(config, true)!;
    const ns = (config.configurable?.checkpoint_ns as string | undefined) ?? '';
    const copy = copyCheckpoint(checkpoint);
    // Only the channels that changed are stored with the checkpoint; the rest are found by version
    // in the checkpoints before it.
    const values: CheckpointUnit['values'] = {};
    for (const [channel, version] of Object.entries(newVersions)) {
      values[channel] = channel in copy.channel_values ? [version, await encodeTyped(this.serde, copy.channel_values[channel])] : [version];
    }
    const parent = config.configurable?.checkpoint_id as string | undefined;
    const payload: CheckpointUnit = {
      lg: 'checkpoint',
      ns,
      id: copy.id,
      ...(parent ? { parent } : {}),
      checkpoint: await encodeTyped(this.serde, { ...copy, channel_values: {} }),
      metadata: await encodeTyped(this.serde, metadata),
      values,
    };
    await this.append(threadId, payload);
    return { configurable: { thread_id: threadId, checkpoint_ns: ns, checkpoint_id: copy.id } };
  }

  async putWrites(config: RunnableConfig, writes: PendingWrite[], taskId: string, taskPath?: string): Promise<void> {
    const threadId = threadIdOf(config, true)!;
    const checkpointId = config.configurable?.checkpoint_id as string | undefined;
    if (!checkpointId) throw new Error('putWrites needs config.configurable.checkpoint_id');
    if (typeof taskId !== 'string' || taskId === '') throw new Error('putWrites needs a task id');
    const payload: WritesUnit = {
      lg: 'writes',
      ns: (config.configurable?.checkpoint_ns as string | undefined) ?? '',
      checkpoint: checkpointId,
      task: taskId,
      path: taskPath ?? '',
      writes: await Promise.all(
        writes.map(async ([channel, value], i) => [WRITES_IDX_MAP[channel] ?? i, channel, await encodeTyped(this.serde, value)] as [number, string, Typed]),
      ),
    };
    await this.append(threadId, payload);
  }

  async deleteThread(threadId: string): Promise<void> {
    const id = threadIdOf({ configurable: { thread_id: threadId } }, true)!;
    try {
      await this.client.deleteContext(this.contextOf(id));
    } catch (err) {
      if (!(err instanceof EngramClientError && err.code === 'CONTEXT_NOT_FOUND')) throw err;
    }
    this.replicas.forget(this.contextOf(id));
  }

  /**
   * Follows a thread live: every checkpoint and batch of writes appended to it after seq `after`
   * (default 0: from the start), as they are committed, whoever writes them. Reconnects and resumes
   * without gaps; ends when `signal` aborts, and throws CONTEXT_DELETED when the thread is deleted.
   */
  async *follow(threadId: string, options: { after?: number; signal?: AbortSignal; agentId?: string } = {}): AsyncGenerator<ThreadEvent> {
    const contextId = this.contextOf(threadId);
    const after = options.after ?? 0;
    // Units up to `after` are not events, but later checkpoints may take channel values from them.
    const thread = await this.replicas.readUpTo(contextId, after);
    for await (const unit of this.client.subscribe(contextId, { since: after, signal: options.signal, agentId: options.agentId })) {
      const u = thread.apply(unit);
      if (u === undefined) continue;
      if (u.lg === 'checkpoint') {
        yield { kind: 'checkpoint', seq: unit.seq, tuple: await this.tupleOf(thread, threadId, thread.checkpoint(u.ns, u.id)!) };
      } else {
        const writes = await Promise.all(u.writes.map(async ([, channel, value]) => [channel, await decodeTyped(this.serde, value)] as PendingWrite));
        yield { kind: 'writes', seq: unit.seq, config: { configurable: { thread_id: threadId, checkpoint_ns: u.ns, checkpoint_id: u.checkpoint } }, taskId: u.task, writes };
      }
    }
  }

  // ---- reading and writing the thread's context ----

  /**
   * Appends a unit. Its idempotency key is a digest of its content, so a retry (over HTTP, after the
   * socket dropped or the server was busy) stores nothing twice, while a later call with other
   * content (a task's error after its writes) is a unit of its own.
   */
  private async append(threadId: string, payload: CheckpointUnit | WritesUnit): Promise<void> {
    const json = JSON.stringify(payload);
    const unit = {
      contextId: this.contextOf(threadId),
      agentId: this.agentId,
      type: 'TASK_STATUS' as const,
      meta: { langgraph: payload.lg },
      payload,
      idempotencyKey: `lg:${createHash('sha256').update(json).digest('base64url')}`,
    };
    if (this.transport === 'websocket') {
      try {
        await this.client.publish(unit);
        return;
      } catch (err) {
        // The socket is down, refused (too many streams) or the server busy: once more over HTTP.
        if (!(err instanceof EngramClientError && (isRetryable(err) || err.code === 'TOO_MANY_CONNECTIONS'))) throw err;
      }
    }
    await this.client.write(unit);
  }

  /**
   * Channel versions unique to each write: the next whole number plus a random fraction (LangGraph's
   * Postgres saver adds a random part as a string; LangGraph's types want a number). A thread
   * forked from an earlier checkpoint writes versions of its own, so its values never take the
   * place of those its original branch's checkpoints point to. Versions still grow: the next one
   * is above the integer part of the current one plus one.
   */
  getNextVersion(current: number | undefined): number {
    const whole = current === undefined ? 0 : Math.floor(Number(typeof current === 'string' ? String(current).split('.')[0] : current));
    return whole + 1 + Math.random() * 0.999;
  }

  /** Closes the client's WebSocket; a saver used again opens it again. */
  close(): void {
    this.client.close();
  }

  /** The thread brought up to date (one read when nothing changed), or undefined when it does not exist. */
  private thread(threadId: string): Promise<ThreadState | undefined> {
    return this.replicas.get(this.contextOf(threadId));
  }

  private async threadIds(): Promise<string[]> {
    return (await contextIdsWithPrefix(this.client, this.prefix)).map((id) => id.slice(this.prefix.length));
  }

  private async tupleOf(thread: ThreadState, threadId: string, stored: StoredCheckpoint): Promise<CheckpointTuple> {
    const { ns, id } = stored;
    const checkpoint = (await decodeTyped(this.serde, stored.checkpoint)) as Checkpoint;
    const channelValues: Record<string, unknown> = {};
    for (const [channel, version] of Object.entries(checkpoint.channel_versions ?? {})) {
      const blob = thread.blob(ns, channel, version);
      if (blob) channelValues[channel] = await decodeTyped(this.serde, blob);
    }
    checkpoint.channel_values = channelValues;
    if (checkpoint.v < 4 && stored.parent !== undefined) await this.migratePendingSends(thread, checkpoint, ns, stored.parent);
    const pendingWrites: CheckpointPendingWrite[] = await Promise.all(
      thread.pendingWrites(ns, id).map(async (w) => [w.taskId, w.channel, await decodeTyped(this.serde, w.value)] as CheckpointPendingWrite),
    );
    const tuple: CheckpointTuple = {
      config: { configurable: { thread_id: threadId, checkpoint_ns: ns, checkpoint_id: id } },
      checkpoint,
      metadata: (await decodeTyped(this.serde, stored.metadata)) as CheckpointMetadata,
      pendingWrites,
    };
    if (stored.parent !== undefined) tuple.parentConfig = { configurable: { thread_id: threadId, checkpoint_ns: ns, checkpoint_id: stored.parent } };
    return tuple;
  }

  /** Checkpoints before format 4 kept pending sends as writes of their parent: moved into the TASKS channel. */
  private async migratePendingSends(thread: ThreadState, checkpoint: Checkpoint, ns: string, parentId: string): Promise<void> {
    const sends = thread.pendingWrites(ns, parentId).filter((w) => w.channel === TASKS);
    checkpoint.channel_values[TASKS] = await Promise.all(sends.map((w) => decodeTyped(this.serde, w.value)));
    const versions = Object.values(checkpoint.channel_versions);
    checkpoint.channel_versions[TASKS] = versions.length > 0 ? maxChannelVersion(...versions) : this.getNextVersion(undefined);
  }
}

/** The thread id of a config; throws when `required` and it is missing or not a string or number. */
function threadIdOf(config: RunnableConfig, required: boolean): string | undefined {
  const id: unknown = config.configurable?.thread_id;
  if (typeof id === 'string' && id !== '') return id;
  if (typeof id === 'number' && Number.isFinite(id)) return String(id);
  if (!required) return undefined;
  throw new Error('The config has no thread_id: pass {configurable: {thread_id}} so the checkpointer knows which thread to keep');
}
