/**
 * Mutual TLS in front of the HTTP server. The uWebSockets.js build Engram runs verifies a client
 * certificate against its ca_file_name when one is presented, but lets a client that presents none
 * connect, and tells JavaScript nothing about the peer's certificate: it cannot require one. So
 * with a client CA, node:tls ends TLS here (requestCert and rejectUnauthorized: a client without a
 * certificate of that CA fails the handshake), and each connection that passes is piped to the
 * plain uWS app on a unix socket in a directory only this process's user can enter, so nothing
 * on the machine reaches the app without going through the check.
 *
 * The cost is a copy of every byte through Node streams (docs/deployment.md). Backpressure holds
 * end to end: a slow client fills the pipe, then the unix socket, then uWS's buffer, which is
 * what the hub's slow-consumer rule watches.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import uWS, { type TemplatedApp, type us_listen_socket } from 'uWebSockets.js';

/** A client that has not finished its handshake by then is dropped (uWS gives headers as long). */
const HANDSHAKE_TIMEOUT_MS = 10_000;

/**
 * Serves a plain uWS `app` behind the front: the app on a unix socket in a new private directory,
 * the front on host:port (0: any free port). Resolves with the bound port, and `close` to stop
 * accepting on both (connections already open run on) and remove the directory.
 */
export async function listenWithMutualTls(
  app: TemplatedApp,
  material: { cert: Buffer; key: Buffer; ca: Buffer },
  host: string,
  port: number,
  onRefused: (err: Error) => void,
): Promise<{ port: number; close(): void }> {
  // mkdtemp makes the directory 0700: only this user can reach the socket inside.
  const dir = mkdtempSync(join(tmpdir(), 'engram-tls-'));
  const path = join(dir, 'http.sock');
  const front = new MutualTlsFront(material, path, onRefused);
  let socket: us_listen_socket | undefined;
  const close = () => {
    front.close();
    if (socket !== undefined) uWS.us_listen_socket_close(socket);
    socket = undefined;
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    socket = await new Promise<us_listen_socket>((resolve, reject) => {
      app.listen_unix((s) => (s ? resolve(s) : reject(new Error(`cannot listen on the unix socket ${path}`))), path);
    });
    return { port: await front.listen(host, port), close };
  } catch (err) {
    close();
    throw err;
  }
}

class MutualTlsFront {
  private readonly server: tls.Server;

  constructor(
    material: { cert: Buffer; key: Buffer; ca: Buffer },
    private readonly upstreamPath: string,
    /** Told about each refused handshake (no certificate, another CA's, not TLS at all). */
    onRefused: (err: Error) => void,
  ) {
    this.server = tls.createServer({ ...material, requestCert: true, rejectUnauthorized: true, handshakeTimeout: HANDSHAKE_TIMEOUT_MS, ALPNProtocols: ['http/1.1'] }, (client) =>
      this.pipe(client),
    );
    // node:tls has already destroyed the socket; this only reports it.
    this.server.on('tlsClientError', onRefused);
  }

  private pipe(client: tls.TLSSocket): void {
    const upstream = net.connect(this.upstreamPath);
    client.pipe(upstream);
    upstream.pipe(client);
    // A client gone takes its upstream connection with it; the app closing a connection (after an
    // answer with Connection: close, a WebSocket close) ends the client's once the last bytes are out.
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroySoon());
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  }

  /** Binds host:port (0: any free port); resolves with the bound port. */
  listen(host: string, port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      const failed = (err: Error) => reject(new Error(`cannot listen on ${host}:${port} (${err.message})`));
      this.server.once('error', failed);
      // Node does not set SO_REUSEPORT, so, as with the uWS listener, a taken port is an error.
      this.server.listen({ host, port }, () => {
        this.server.off('error', failed);
        resolve((this.server.address() as net.AddressInfo).port);
      });
    });
  }

  /** Stops accepting; connections already piped run on until they end. */
  close(): void {
    if (this.server.listening) this.server.close();
  }
}
