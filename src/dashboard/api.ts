/**
 * The dashboard's calls to the server's HTTP API, as the signed-in client: the token (an API
 * key or JWT, kept in this browser's localStorage) goes in Authorization, and in access_token
 * for streams, which browsers cannot give headers.
 */
export class ApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

const TOKEN_KEY = 'engram.token';

export function token(): string {
  return localStorage.getItem(TOKEN_KEY) ?? '';
}

export function setToken(t: string): void {
  if (t === '') localStorage.removeItem(TOKEN_KEY);
  else localStorage.setItem(TOKEN_KEY, t);
}

export async function api<T = unknown>(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
  const headers: Record<string, string> = {};
  const t = token();
  if (t !== '') headers.authorization = `Bearer ${t}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  let res: Response;
  try {
    res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), ...(signal === undefined ? {} : { signal }) });
  } catch (err) {
    throw new ApiError('UNAVAILABLE', `the server cannot be reached (${(err as Error).message})`, 0);
  }
  const text = await res.text();
  if (!res.ok) {
    let code = `HTTP_${res.status}`;
    let message = text.slice(0, 300);
    try {
      const e = (JSON.parse(text) as { error?: { code?: string; message?: string } }).error;
      if (e?.code) code = e.code;
      if (e?.message) message = e.message;
    } catch {
      // not JSON: the status says enough
    }
    throw new ApiError(code, message, res.status);
  }
  if (res.headers.get('content-type')?.startsWith('application/json')) return (text === '' ? undefined : JSON.parse(text)) as T;
  return text as T;
}

export const enc = encodeURIComponent;

export interface WorkUnit {
  id: string;
  contextId: string;
  seq: number;
  agentId: string;
  type: string;
  ts: string;
  meta: Record<string, string>;
  payload: unknown;
  relationships: Array<{ targetId: string; type: string; meta: Record<string, string> }>;
}

/** One client and agent subscribed to a context (GET /contexts/{id}/presence, presence events). */
export interface PresenceMember {
  clientId: string;
  agentId: string | null;
  connections: number;
  since: string;
}

export interface Context {
  id: string;
  displayName: string;
  agentIds: string[];
  headSeq: number;
  updatedAt: string;
  createdAt: string;
}

export interface Lock {
  resource: string;
  agentId: string;
  lockId?: string;
  token?: number;
  expiresAt: string;
  remainingMs?: number;
  contextId?: string;
}

/** An approval request and its decision (GET /approvals, docs/agents.md#approvals). */
export interface Approval {
  requestId: string;
  contextId: string;
  agentId: string;
  status: 'pending' | 'approved' | 'denied' | 'expired';
  action: unknown;
  expiresAt: string;
  lock: { resource: string; token: number };
  requestedAt: string;
  decision: { decision: 'approve' | 'deny'; by: string; reason: string | null } | null;
}

export interface ApprovalPage {
  approvals: Approval[];
  /** Pass back as `since` to wait for the next change. */
  version: string;
}
