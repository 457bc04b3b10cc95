/**
 * Throwaway certificates for TLS tests, made with the openssl command at test time (nothing is
 * committed): a CA, a server certificate for 127.0.0.1 and localhost, a client certificate of the
 * same CA, and a client certificate of another CA (which a mutual-TLS server must refuse).
 * EC P-256 keys: quick to make, and every TLS stack here speaks them.
 */
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface Certs {
  dir: string;
  /** Paths of PEM files. */
  caFile: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  /** A client certificate of another CA, self-signed. */
  strangerCert: string;
  strangerKey: string;
  /** Contents, for the SDK's options (ca, cert, key). */
  ca: Buffer;
  client: { cert: Buffer; key: Buffer };
  stranger: { cert: Buffer; key: Buffer };
}

const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

async function openssl(dir: string, args: string[]): Promise<void> {
  await run('openssl', args, { cwd: dir });
}

/** A key and a certificate signed by the CA in `dir`, with the given extensions. */
async function signed(dir: string, name: string, cn: string, serial: number, extensions: string): Promise<void> {
  writeFileSync(join(dir, `${name}.ext`), extensions);
  await openssl(dir, ['req', ...EC, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`]);
  await openssl(dir, [
    'x509',
    '-req',
    '-in',
    `${name}.csr`,
    '-CA',
    'ca.pem',
    '-CAkey',
    'ca.key',
    '-set_serial',
    String(serial),
    '-days',
    '2',
    '-out',
    `${name}.pem`,
    '-extfile',
    `${name}.ext`,
  ]);
}

export async function makeCerts(dir: string): Promise<Certs> {
  await openssl(dir, ['req', '-x509', ...EC, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=Engram test CA']);
  await Promise.all([
    signed(dir, 'server', 'localhost', 2, 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n'),
    signed(dir, 'client', 'agent-1', 3, 'extendedKeyUsage=clientAuth\n'),
    openssl(dir, ['req', '-x509', ...EC, '-keyout', 'stranger.key', '-out', 'stranger.pem', '-days', '2', '-subj', '/CN=stranger', '-addext', 'extendedKeyUsage=clientAuth']),
  ]);
  const path = (f: string) => join(dir, f);
  return {
    dir,
    caFile: path('ca.pem'),
    serverCert: path('server.pem'),
    serverKey: path('server.key'),
    clientCert: path('client.pem'),
    clientKey: path('client.key'),
    strangerCert: path('stranger.pem'),
    strangerKey: path('stranger.key'),
    ca: readFileSync(path('ca.pem')),
    client: { cert: readFileSync(path('client.pem')), key: readFileSync(path('client.key')) },
    stranger: { cert: readFileSync(path('stranger.pem')), key: readFileSync(path('stranger.key')) },
  };
}

/** A server certificate of the CA in `certs.dir` that expired in 2020 (`openssl ca` can backdate; `x509 -req` cannot). */
export async function expiredCertificate(certs: Certs): Promise<{ cert: string; key: string }> {
  const dir = certs.dir;
  writeFileSync(
    join(dir, 'ca.cnf'),
    '[ca]\ndefault_ca = d\n[d]\ndir = .\ndatabase = index.txt\nnew_certs_dir = .\nserial = old.srl\ndefault_md = sha256\npolicy = p\n[p]\ncommonName = supplied\n',
  );
  writeFileSync(join(dir, 'index.txt'), '');
  writeFileSync(join(dir, 'old.srl'), '04\n');
  await openssl(dir, ['req', ...EC, '-keyout', 'old.key', '-out', 'old.csr', '-subj', '/CN=localhost']);
  await openssl(dir, [
    'ca',
    '-batch',
    '-config',
    'ca.cnf',
    '-cert',
    'ca.pem',
    '-keyfile',
    'ca.key',
    '-in',
    'old.csr',
    '-out',
    'old.pem',
    '-startdate',
    '20200101000000Z',
    '-enddate',
    '20200102000000Z',
  ]);
  return { cert: join(dir, 'old.pem'), key: join(dir, 'old.key') };
}
