/** The server's TLS files (server.tls), shared by the HTTP and gRPC transports. */
import { readFileSync } from 'node:fs';

/** PEM files by path, as the config names them (checked when it loaded: config/tls.ts). */
export interface ServerTls {
  certFile: string;
  keyFile: string;
  /** Mutual TLS: every client must present a certificate that chains to this CA. */
  clientCaFile?: string;
}

/** The files' contents, for node:tls and grpc-js (uWebSockets.js reads them itself, by path). */
export function readTls(tls: ServerTls): { cert: Buffer; key: Buffer; ca: Buffer | undefined } {
  return {
    cert: readFileSync(tls.certFile),
    key: readFileSync(tls.keyFile),
    ca: tls.clientCaFile === undefined ? undefined : readFileSync(tls.clientCaFile),
  };
}
