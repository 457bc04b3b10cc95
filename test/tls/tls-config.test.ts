/**
 * server.tls as the config loader sees it, with real files made by openssl at test time: the
 * YAML form, and every mistake (a missing or half setting, an unreadable file, a file that holds
 * no certificate, a key that is not the certificate's, an encrypted key, an expired certificate)
 * stops `engram serve` at start with exit status 2 and a line naming the setting, no stack trace.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { ConfigError, loadConfig } from '../../src/config/load.js';
import { expiredCertificate, makeCerts, type Certs } from '../helpers/certs.js';
import { ENGRAM_BIN, removeDir, tempDir } from '../helpers/server.js';
import { WAIT_MS, withTimeout } from '../helpers/wait.js';
import { writeFileSync } from 'node:fs';

const run = promisify(execFile);

let certs: Certs;
before(async () => {
  certs = await makeCerts(tempDir('engram-tls-config-'));
});
after(() => removeDir(certs.dir));

function problems(argv: string[]): string[] {
  try {
    loadConfig({ argv, env: {} });
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.problems;
  }
  return [];
}

const tlsArgs = (cert: string, key: string, ca?: string) => [
  '--server-tls-cert-file',
  cert,
  '--server-tls-key-file',
  key,
  ...(ca === undefined ? [] : ['--server-tls-client-ca-file', ca]),
];

describe('server.tls in the config', () => {
  test('the YAML form (server: tls: ...) and the environment load into config.server.tls', () => {
    const file = join(certs.dir, 'engram.yaml');
    writeFileSync(file, `server:\n  tls:\n    certFile: ${certs.serverCert}\n    keyFile: ${certs.serverKey}\n    clientCaFile: ${certs.caFile}\n`);
    const c = loadConfig({ argv: ['--config', file], env: {} });
    assert.deepEqual(c.server.tls, { certFile: certs.serverCert, keyFile: certs.serverKey, clientCaFile: certs.caFile });
    const e = loadConfig({ argv: [], env: { ENGRAM_SERVER_TLS_CERT_FILE: certs.serverCert, ENGRAM_SERVER_TLS_KEY_FILE: certs.serverKey } });
    assert.deepEqual(e.server.tls, { certFile: certs.serverCert, keyFile: certs.serverKey, clientCaFile: '' });
    writeFileSync(file, 'server:\n  tls:\n    certificate: x.pem\n');
    assert.deepEqual(problems(['--config', file]), [`config file ${file}: unknown key "server.tls.certificate"`]);
  });

  test('each mistake is named with its setting', async () => {
    const encrypted = join(certs.dir, 'encrypted.key');
    await run('openssl', ['pkey', '-in', certs.serverKey, '-aes256', '-passout', 'pass:secret', '-out', encrypted]);
    const expired = await expiredCertificate(certs);
    const cases: Array<[string[], RegExp]> = [
      [['--server-tls-cert-file', certs.serverCert], /^server\.tls: give both certFile and keyFile \(keyFile is empty\)$/],
      [['--server-tls-client-ca-file', certs.caFile], /^server\.tls\.clientCaFile: mutual TLS needs TLS/],
      [tlsArgs(join(certs.dir, 'none.pem'), certs.serverKey), /^server\.tls\.certFile: .*none\.pem cannot be read: ENOENT/],
      [tlsArgs(certs.serverKey, certs.serverKey), /^server\.tls\.certFile: .*server\.key holds no PEM certificate/],
      [tlsArgs(certs.serverCert, certs.clientKey), /^server\.tls\.keyFile: .*client\.key is not the private key of the certificate in .*server\.pem$/],
      [tlsArgs(certs.serverCert, encrypted), /^server\.tls\.keyFile: .*encrypted\.key is encrypted/],
      [tlsArgs(certs.serverCert, certs.serverCert), /^server\.tls\.keyFile: .*server\.pem holds no PEM private key/],
      [tlsArgs(expired.cert, expired.key), /^server\.tls\.certFile: the certificate in .*old\.pem expired on Jan {2}2 00:00:00 2020 GMT$/],
      [tlsArgs(certs.serverCert, certs.serverKey, certs.serverKey), /^server\.tls\.clientCaFile: .*server\.key holds no PEM certificate/],
    ];
    for (const [argv, expected] of cases) {
      const found = problems(argv);
      assert.equal(found.length, 1, `${argv.join(' ')}: ${found.join('; ')}`);
      assert.match(found[0]!, expected);
    }
    // A right set of files loads.
    assert.deepEqual(problems(tlsArgs(certs.serverCert, certs.serverKey, certs.caFile)), []);
  });

  test('engram serve with a bad TLS file exits 2 at once with the problem, no stack trace; engram config prints the section', async () => {
    const dataDir = tempDir();
    try {
      const failed = await withTimeout(
        run(ENGRAM_BIN, ['serve', '--data-dir', dataDir, '--addr', '127.0.0.1:0', '--grpc-addr', '127.0.0.1:0', ...tlsArgs(certs.serverCert, certs.clientKey)], {
          encoding: 'utf8',
        }),
        WAIT_MS,
        'engram serve',
      ).then(
        () => assert.fail('expected engram serve to fail'),
        (e: { code: number; stdout: string; stderr: string }) => e,
      );
      assert.equal(failed.code, 2);
      assert.equal(failed.stdout, '', 'nothing was served');
      assert.match(failed.stderr, /^engram: invalid configuration:\n {2}- server\.tls\.keyFile: .*is not the private key of the certificate/);
      assert.doesNotMatch(failed.stderr, /\n\s+at /, 'no stack trace');
      const printed = await withTimeout(run(ENGRAM_BIN, ['config', ...tlsArgs(certs.serverCert, certs.serverKey)], { encoding: 'utf8' }), WAIT_MS, 'engram config');
      assert.deepEqual((parseYaml(printed.stdout) as { server: { tls: unknown } }).server.tls, { certFile: certs.serverCert, keyFile: certs.serverKey, clientCaFile: '' });
    } finally {
      removeDir(dataDir);
    }
  });
});
