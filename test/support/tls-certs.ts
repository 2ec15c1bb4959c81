/**
 * Hop-by-hop TLS material for broker tests, made with the openssl CLI in a directory of the caller's: a CA, a
 * server certificate for 127.0.0.1/localhost and a client certificate (EC P-256, PEM). This is the broker's TLS,
 * not hopsafe's end-to-end PKI (src/testing's createTestPki).
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface TlsFiles {
  readonly ca: string;
  readonly serverCert: string;
  readonly serverKey: string;
  readonly clientCert: string;
  readonly clientKey: string;
  /** A second CA, which signed nothing the broker presents (a client trusting only it refuses the broker). */
  readonly strangerCa: string;
  /** A second client certificate, from a CA the broker does not trust. */
  readonly strangerCert: string;
  readonly strangerKey: string;
}

/** True when the openssl CLI runs. */
export function opensslAvailable(): boolean {
  const r = spawnSync('openssl', ['version'], { encoding: 'utf8' });
  return r.error === undefined && r.status === 0;
}

function openssl(dir: string, args: string[]): void {
  const r = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8' });
  if (r.error !== undefined || r.status !== 0) throw new Error(`openssl ${args.join(' ')} failed: ${r.stderr}${r.error?.message ?? ''}`);
}

/** Writes the CA, server and client certificates into `dir` (files readable by the broker's user). */
export function makeTlsFiles(dir: string): TlsFiles {
  const f = (n: string): string => join(dir, n);
  const key = (name: string): void => openssl(dir, ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', name]);
  const ca = (name: string, cn: string): void => {
    key(`${name}.key`);
    openssl(dir, [
      'req',
      '-x509',
      '-new',
      '-key',
      `${name}.key`,
      '-subj',
      `/CN=${cn}`,
      '-days',
      '2',
      '-out',
      `${name}.pem`,
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ]);
  };
  const leaf = (name: string, cn: string, caName: string, ext: string): void => {
    key(`${name}.key`);
    openssl(dir, ['req', '-new', '-key', `${name}.key`, '-subj', `/CN=${cn}`, '-out', `${name}.csr`]);
    writeFileSync(f(`${name}.ext`), `${ext}\n`);
    openssl(dir, [
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      `${caName}.pem`,
      '-CAkey',
      `${caName}.key`,
      '-CAcreateserial',
      '-days',
      '2',
      '-extfile',
      `${name}.ext`,
      '-out',
      `${name}.pem`,
    ]);
  };
  ca('ca', 'hopsafe test broker CA');
  leaf('server', 'localhost', 'ca', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth');
  leaf('client', 'der-1', 'ca', 'extendedKeyUsage=clientAuth');
  ca('stranger-ca', 'someone else');
  leaf('stranger', 'mallory', 'stranger-ca', 'extendedKeyUsage=clientAuth');
  for (const n of ['ca.pem', 'stranger-ca.pem', 'server.pem', 'server.key', 'client.pem', 'client.key', 'stranger.pem', 'stranger.key'])
    chmodSync(f(n), 0o644);
  return {
    ca: f('ca.pem'),
    serverCert: f('server.pem'),
    serverKey: f('server.key'),
    clientCert: f('client.pem'),
    clientKey: f('client.key'),
    strangerCa: f('stranger-ca.pem'),
    strangerCert: f('stranger.pem'),
    strangerKey: f('stranger.key'),
  };
}

/** The PEM text of one of the files. */
export const pem = (path: string): string => readFileSync(path, 'utf8');
