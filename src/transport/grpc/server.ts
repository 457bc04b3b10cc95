/**
 * The gRPC server: engram.v3.EngramService, the standard grpc.health.v1.Health service
 * and server reflection, on their own address in the same process as HTTP, calling the
 * same engine, lock manager, router and search (docs/grpc.md).
 */
import { fileURLToPath } from 'node:url';
import { Server, ServerCredentials, type UntypedServiceImplementation } from '@grpc/grpc-js';
import type { HealthImplementation } from 'grpc-health-check';
import { unaryHandlers, type GrpcDeps } from './handlers.js';
import { ENGRAM_SERVICE } from '../../wire/grpc-service.js';
import { bulkIngest, subscribe } from './streams.js';
import { readTls, type ServerTls } from '../tls.js';
import { ClosedSessionHold, http2ServersOf } from './session-hold.js';

export const SERVICE_NAME = 'engram.v3.EngramService';
export const PROTO_PATH = fileURLToPath(new URL('../../../../proto/engram/v3/engram.proto', import.meta.url));
/** Room for the protobuf envelope and an embedding beside a unit of limits.maxUnitBytes. */
const ENVELOPE_BYTES = 256 * 1024;

export class GrpcServer {
  private readonly server: Server;
  private health: HealthImplementation | undefined;
  private readonly onInternal: (err: unknown) => void;
  private serving = false;
  /** Closed HTTP/2 sessions, held until Node can free them without aborting (session-hold.ts). */
  private readonly sessionHold = new ClosedSessionHold();

  constructor(deps: GrpcDeps) {
    this.onInternal = deps.onInternal;
    // Larger requests are refused by grpc-js itself (RESOURCE_EXHAUSTED); those between the unit
    // limit and this get PAYLOAD_TOO_LARGE with the engram code, as over HTTP.
    // A peer that stopped answering (a crashed machine, a cut network: no FIN ever comes) is found
    // by HTTP/2 pings within stream.idleTimeout, as a silent WebSocket is: its calls end, its
    // Subscribes leave presence and free their connection slots.
    const pingMs = Math.max(1000, Math.round(deps.hub.options.idleTimeoutMs / 2));
    this.server = new Server({
      'grpc.max_receive_message_length': deps.maxUnitBytes * 2 + ENVELOPE_BYTES,
      'grpc.enable_channelz': 0,
      'grpc.keepalive_time_ms': pingMs,
      'grpc.keepalive_timeout_ms': pingMs,
    });
    const handlers: UntypedServiceImplementation = {
      ...unaryHandlers(deps),
      createWorkUnits: bulkIngest(deps),
      subscribe: subscribe(deps),
    };
    this.server.addService(ENGRAM_SERVICE, handlers);
  }

  /**
   * Adds health and reflection, then binds host:port (0: any free port) and resolves with the
   * bound port. Those two are loaded here, not with the module: parsing the proto for reflection
   * and loading both is a tenth of a second of every start, and only a server that serves gRPC needs them.
   * With `tls`, calls are served over TLS only; with its client CA, a client must present a
   * certificate of that CA or its handshake fails.
   */
  async listen(host: string, port: number, tls?: ServerTls): Promise<number> {
    const [{ addLazyReflection }, { HealthImplementation }] = await Promise.all([import('./reflection.js'), import('grpc-health-check')]);
    const status = this.serving ? 'SERVING' : 'NOT_SERVING';
    this.health = new HealthImplementation({ '': status, [SERVICE_NAME]: status });
    this.health.addToServer(this.server);
    addLazyReflection(this.server, PROTO_PATH, this.onInternal);
    const address = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
    const bound = await new Promise<number>((resolve, reject) => {
      this.server.bindAsync(address, credentialsFor(tls), (err, port) => (err ? reject(err) : resolve(port)));
    });
    for (const http2Server of http2ServersOf(this.server)) this.sessionHold.watch(http2Server);
    return bound;
  }

  /** Health: SERVING once storage is open, NOT_SERVING while stopping. */
  setServing(serving: boolean): void {
    this.serving = serving;
    const s = serving ? 'SERVING' : 'NOT_SERVING';
    this.health?.setStatus('', s);
    this.health?.setStatus(SERVICE_NAME, s);
  }

  /**
   * Stops accepting calls, lets running calls finish for up to `graceMs`, then cancels the rest.
   * Subscribe calls are stream connections: the hub ends them first (hub.closeAll), with
   * NOT_READY (resubscribe with `since`), as it tells WebSocket and SSE streams to reconnect.
   */
  shutdown(graceMs: number): Promise<void> {
    this.setServing(false);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.server.forceShutdown();
        resolve();
      }, graceMs);
      this.server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** Ends every call now: used when the process is stopping and streams would keep it waiting. */
  forceShutdown(): void {
    this.setServing(false);
    this.server.forceShutdown();
  }
}

function credentialsFor(tls: ServerTls | undefined): ServerCredentials {
  if (tls === undefined) return ServerCredentials.createInsecure();
  const { cert, key, ca } = readTls(tls);
  return ServerCredentials.createSsl(ca ?? null, [{ cert_chain: cert, private_key: key }], ca !== undefined);
}
