/**
 * server.tls, checked when the config loads: both files or neither, each one readable and holding
 * what it should, the key the certificate's. A mistake then stops the start with the setting and
 * the reason, instead of a bare "App construction failed" from uWebSockets.js, a stack trace from
 * grpc-js, or a server that starts and fails every handshake.
 */
import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import type { Config } from './schema.js';

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g;

type ReadFile = (path: string) => string;

export function checkTls(c: Config, readFile: ReadFile, problems: string[]): void {
  const { certFile, keyFile, clientCaFile } = c.server.tls;
  if (certFile === '' && keyFile === '') {
    if (clientCaFile !== '') problems.push('server.tls.clientCaFile: mutual TLS needs TLS; give server.tls.certFile and server.tls.keyFile too');
    return;
  }
  if (certFile === '' || keyFile === '') {
    problems.push(`server.tls: give both certFile and keyFile (${certFile === '' ? 'certFile' : 'keyFile'} is empty)`);
    return;
  }
  const chain = certificates('server.tls.certFile', certFile, readFile, problems);
  const key = privateKey(keyFile, readFile, problems);
  const leaf = chain?.[0];
  if (leaf !== undefined) {
    if (Date.parse(leaf.validTo) < Date.now()) problems.push(`server.tls.certFile: the certificate in ${certFile} expired on ${leaf.validTo}`);
    if (key !== undefined && !leaf.checkPrivateKey(key)) problems.push(`server.tls.keyFile: ${keyFile} is not the private key of the certificate in ${certFile}`);
  }
  if (clientCaFile !== '') certificates('server.tls.clientCaFile', clientCaFile, readFile, problems);
}

function read(key: string, path: string, readFile: ReadFile, problems: string[]): string | undefined {
  try {
    return readFile(path);
  } catch (err) {
    problems.push(`${key}: ${path} cannot be read: ${(err as Error).message}`);
    return undefined;
  }
}

/** Every PEM certificate in the file, in order; undefined after a problem. */
function certificates(key: string, path: string, readFile: ReadFile, problems: string[]): X509Certificate[] | undefined {
  const text = read(key, path, readFile, problems);
  if (text === undefined) return undefined;
  const blocks = text.match(PEM_CERTIFICATE) ?? [];
  if (blocks.length === 0) {
    problems.push(`${key}: ${path} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`);
    return undefined;
  }
  try {
    return blocks.map((b) => new X509Certificate(b));
  } catch (err) {
    problems.push(`${key}: ${path} holds a certificate that cannot be read: ${(err as Error).message}`);
    return undefined;
  }
}

function privateKey(path: string, readFile: ReadFile, problems: string[]): KeyObject | undefined {
  const text = read('server.tls.keyFile', path, readFile, problems);
  if (text === undefined) return undefined;
  try {
    return createPrivateKey(text);
  } catch (err) {
    // PKCS#8 says so in its label, the older PEM forms in a header.
    const encrypted = /-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type: 4,ENCRYPTED/.test(text);
    problems.push(
      encrypted
        ? `server.tls.keyFile: ${path} is encrypted; give the key unencrypted (openssl pkey -in KEY -out PLAIN), readable only by the server's user`
        : `server.tls.keyFile: ${path} holds no PEM private key that can be read: ${(err as Error).message}`,
    );
    return undefined;
  }
}
