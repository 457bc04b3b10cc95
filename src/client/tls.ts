/**
 * TLS for the SDK's connections, beyond what an `https://` URL gives by itself (the system's CAs,
 * plus NODE_EXTRA_CA_CERTS): a server certificate from a CA of one's own, and a client certificate
 * for a server that asks for one (mutual TLS, server.tls.clientCaFile).
 */
import type { Dispatcher } from 'undici';
import { EngramClientError } from './errors.js';

/** PEM text, as node:tls takes it (read a file with fs.readFileSync). */
export interface TlsOptions {
  /** CA certificate(s) to trust for the server's certificate, instead of the system's. */
  ca?: string | Buffer;
  /** The client's certificate (its chain after it), for a server with mutual TLS. */
  cert?: string | Buffer;
  /** The private key of `cert`. */
  key?: string | Buffer;
}

/** The TLS fields that are set, or undefined when none is; refuses a certificate without its key. */
export function tlsMaterial(o: TlsOptions): TlsOptions | undefined {
  if ((o.cert === undefined) !== (o.key === undefined)) {
    throw new EngramClientError('INVALID_FIELD', `a client certificate needs its key: give both cert and key (${o.cert === undefined ? 'cert' : 'key'} is missing)`, undefined);
  }
  const set = Object.fromEntries(Object.entries({ ca: o.ca, cert: o.cert, key: o.key }).filter(([, v]) => v !== undefined)) as TlsOptions;
  return Object.keys(set).length === 0 ? undefined : set;
}

/**
 * A fetch that uses the TLS material: through an undici Agent of its own (Node's fetch takes no
 * https.Agent), loaded on first use so that plain clients never pay for loading undici.
 */
export function tlsFetch(tls: TlsOptions | undefined): typeof fetch {
  if (tls === undefined) return fetch;
  // Idle sockets of the agent do not keep the process alive (undici unrefs them), so it needs no closing.
  let agent: Promise<Dispatcher> | undefined;
  const dispatcher = () => (agent ??= import('undici').then(({ Agent }) => new Agent({ connect: { ...tls } })));
  // undici's own Dispatcher type and the one Node's fetch declares (undici-types) are the same class, typed twice.
  return (async (input: string | URL | Request, init?: RequestInit) =>
    fetch(input, { ...init, dispatcher: (await dispatcher()) as unknown as RequestInit['dispatcher'] })) as typeof fetch;
}

/** Socket errors a server with mutual TLS causes in a client that presented no certificate (TLS 1.3 refuses it after the client's side of the handshake is done). */
const CUT_OFF = new Set(['UND_ERR_SOCKET', 'ECONNRESET']);

/**
 * Why a request never got an answer, with the TLS or socket cause that fetch wraps as "fetch
 * failed"; over TLS, a connection cut off at once gets a hint at the likeliest reason.
 */
export function failureText(err: unknown, overTls = false): string {
  const message = err instanceof Error ? err.message : String(err);
  const cause = (err as { cause?: { message?: string; code?: string } } | undefined)?.cause;
  if (cause?.message === undefined) return message;
  const code = cause.code !== undefined && !cause.message.includes(cause.code) ? ` (${cause.code})` : '';
  const hint =
    overTls && cause.code !== undefined && CUT_OFF.has(cause.code) ? '; if the server requires a client certificate (mutual TLS), give one of its CA (cert and key)' : '';
  return `${message}: ${cause.message}${code}${hint}`;
}
