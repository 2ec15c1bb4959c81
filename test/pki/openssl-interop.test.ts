/**
 * Interop: certificates, keys and CRLs made by the `openssl` command line (req, ca, ca -gencrl)
 * are accepted or refused exactly like the createTestPki matrix. Skipped only if openssl is absent.
 * [SPEC 10.2] [SPEC 10.3] [SPEC 10.4] [SPEC 10.5]
 */
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTrustStore, loadIdentity, encodeRoleInformation } from '../../src/pki/index.js';
import type { ErrorCode } from '../../src/errors/index.js';
import { toHex } from '../../src/bytes/index.js';
import { chainOf, rejectsWith } from '../support/pki.js';

function opensslVersion(): string | undefined {
  try {
    return execFileSync('openssl', ['version'], { encoding: 'utf8' }).trim();
  } catch {
    return undefined;
  }
}
const version = opensslVersion();

type Alg = 'p256' | 'p384' | 'ed25519' | 'rsa-pkcs1' | 'rsa-pss';
const ALGS: Alg[] = ['p256', 'p384', 'ed25519', 'rsa-pkcs1', 'rsa-pss'];

const root = mkdtempSync(join(tmpdir(), 'hopsafe-openssl-'));
after(() => rmSync(root, { recursive: true, force: true }));

const ROLE_HEX = toHex(encodeRoleInformation([{ role: 'OPERATOR' }, { role: 'dso', roleId: -4 }]))
  .match(/../g)!
  .join(':');

function config(dir: string): string {
  return `
[ req ]
distinguished_name = dn
prompt = no
[ dn ]
CN = unused
[ ca ]
default_ca = CA_default
[ CA_default ]
dir = ${dir}
database = $dir/index.txt
new_certs_dir = $dir/newcerts
serial = $dir/serial
crlnumber = $dir/crlnumber
default_md = sha256
policy = policy_any
unique_subject = no
default_days = 30
default_crl_days = 7
[ policy_any ]
commonName = supplied
organizationName = optional
[ v3_ca ]
basicConstraints = critical, CA:true
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[ v3_inter ]
basicConstraints = critical, CA:true, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[ v3_leaf ]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth, serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
1.2.840.10070.8.1 = DER:${ROLE_HEX}
[ v3_leaf_dns ]
keyUsage = critical, digitalSignature
subjectAltName = DNS:dns-peer
[ v3_bad_ku ]
keyUsage = critical, keyEncipherment
[ v3_bad_eku ]
keyUsage = critical, digitalSignature
extendedKeyUsage = emailProtection
[ v3_ca_leaf ]
basicConstraints = critical, CA:true
keyUsage = critical, digitalSignature, keyCertSign, cRLSign
`;
}

function ossl(args: string[]): string {
  return execFileSync('openssl', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

type Slot = 'root' | 'inter' | 'leaf' | 'foreign';
const keyCache = new Map<string, string>();
/** Writes a PKCS#8 key for `alg` at `path`; keys are reused per algorithm family and slot (RSA generation is slow), distinct across slots. */
function genKey(alg: Alg, path: string, slot: Slot): void {
  const k = `${alg.startsWith('rsa') ? 'rsa' : alg}:${slot}`;
  const cached = keyCache.get(k);
  if (cached) {
    writeFileSync(path, cached);
    return;
  }
  genKeyFresh(alg, path);
  keyCache.set(k, readFileSync(path, 'utf8'));
}

function genKeyFresh(alg: Alg, path: string): void {
  if (alg === 'p256' || alg === 'p384')
    ossl(['genpkey', '-algorithm', 'EC', '-pkeyopt', `ec_paramgen_curve:${alg === 'p256' ? 'P-256' : 'P-384'}`, '-out', path]);
  else if (alg === 'ed25519') ossl(['genpkey', '-algorithm', 'ED25519', '-out', path]);
  else ossl(['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', path]);
}

function sigArgs(alg: Alg): string[] {
  if (alg === 'ed25519') return [];
  if (alg === 'rsa-pss') return ['-md', 'sha256', '-sigopt', 'rsa_padding_mode:pss', '-sigopt', 'rsa_pss_saltlen:32'];
  return ['-md', alg === 'p384' ? 'sha384' : 'sha256'];
}

interface OsslCa {
  dir: string;
  cnf: string;
  key: string;
  cert: string;
}

function makeCaDir(dir: string): OsslCa {
  mkdirSync(join(dir, 'newcerts'), { recursive: true });
  writeFileSync(join(dir, 'index.txt'), '');
  writeFileSync(join(dir, 'serial'), '1000\n');
  writeFileSync(join(dir, 'crlnumber'), '1000\n');
  const cnf = join(dir, 'openssl.cnf');
  writeFileSync(cnf, config(dir));
  return { dir, cnf, key: join(dir, 'ca.key'), cert: join(dir, 'ca.pem') };
}

function selfSignedRoot(alg: Alg, dir: string, cn: string, slot: Slot = 'root'): OsslCa {
  const ca = makeCaDir(dir);
  genKey(alg, ca.key, slot);
  const md =
    alg === 'ed25519'
      ? []
      : alg === 'rsa-pss'
        ? ['-sha256', '-sigopt', 'rsa_padding_mode:pss', '-sigopt', 'rsa_pss_saltlen:32']
        : [alg === 'p384' ? '-sha384' : '-sha256'];
  ossl([
    'req',
    '-x509',
    '-new',
    '-key',
    ca.key,
    '-subj',
    `/O=interop/CN=${cn}`,
    '-days',
    '3650',
    '-config',
    ca.cnf,
    '-extensions',
    'v3_ca',
    ...md,
    '-out',
    ca.cert,
  ]);
  return ca;
}

let leafCounter = 0;
const csrCache = new Map<string, string>();
function issue(alg: Alg, ca: OsslCa, cn: string, ext: string, leafKey: string, dates: string[] = []): string {
  const n = leafCounter++;
  const csrKey = `${leafKey}|${cn}`;
  let csr = csrCache.get(csrKey);
  if (!csr) {
    csr = join(ca.dir, `leaf${n}.csr`);
    ossl(['req', '-new', '-key', leafKey, '-subj', `/O=interop/CN=${cn}`, '-config', ca.cnf, '-out', csr]);
    csrCache.set(csrKey, csr);
  }
  const out = join(ca.dir, `leaf${n}.pem`);
  ossl([
    'ca',
    '-batch',
    '-notext',
    '-config',
    ca.cnf,
    '-cert',
    ca.cert,
    '-keyfile',
    ca.key,
    '-extensions',
    ext,
    '-in',
    csr,
    '-out',
    out,
    ...dates,
    ...sigArgs(alg),
  ]);
  return out;
}

function gencrl(alg: Alg, ca: OsslCa): string {
  const out = join(ca.dir, `crl${leafCounter++}.pem`);
  ossl(['ca', '-gencrl', '-config', ca.cnf, '-cert', ca.cert, '-keyfile', ca.key, '-out', out, ...sigArgs(alg)]);
  return out;
}

const file = (p: string): string => readFileSync(p, 'utf8');

for (const alg of ALGS) {
  for (const depth of [2, 3]) {
    describe(`openssl ${alg} depth ${depth}`, { skip: version ? false : 'openssl not found on PATH' }, () => {
      const dir = join(root, `${alg}-${depth}`);
      const setup = (() => {
        if (!version) return undefined;
        const rootCa = selfSignedRoot(alg, join(dir, 'root'), `root ${alg}`);
        let issuer = rootCa;
        let tail = '';
        if (depth === 3) {
          const inter = makeCaDir(join(dir, 'inter'));
          genKey(alg, inter.key, 'inter');
          const csr = join(inter.dir, 'inter.csr');
          ossl(['req', '-new', '-key', inter.key, '-subj', `/O=interop/CN=intermediate ${alg}`, '-config', inter.cnf, '-out', csr]);
          ossl([
            'ca',
            '-batch',
            '-notext',
            '-config',
            rootCa.cnf,
            '-cert',
            rootCa.cert,
            '-keyfile',
            rootCa.key,
            '-extensions',
            'v3_inter',
            '-in',
            csr,
            '-out',
            inter.cert,
            ...sigArgs(alg),
          ]);
          issuer = inter;
          tail = file(inter.cert);
        }
        const leafKey = join(dir, 'leaf.key');
        genKey(alg, leafKey, 'leaf');
        const chain = (p: string): string => file(p) + tail;
        const good = chain(issue(alg, issuer, 'peer', 'v3_leaf', leafKey));
        const revoked = chain(issue(alg, issuer, 'peer', 'v3_leaf', leafKey));
        ossl([
          'ca',
          '-config',
          issuer.cnf,
          '-cert',
          issuer.cert,
          '-keyfile',
          issuer.key,
          '-revoke',
          join(issuer.dir, `leaf${leafCounter - 1}.pem`),
          ...sigArgs(alg),
        ]);
        const crl = file(gencrl(alg, issuer));
        const foreign = selfSignedRoot(alg, join(dir, 'foreign'), `root ${alg}`, 'foreign');
        return {
          roots: [file(rootCa.cert)],
          crl,
          leafKey: file(leafKey),
          good,
          cases: [
            [
              'expired',
              'ERR_CERT_EXPIRED',
              chain(issue(alg, issuer, 'peer', 'v3_leaf', leafKey, ['-startdate', '20200101000000Z', '-enddate', '20200201000000Z'])),
            ],
            ['foreign root with the same name', 'ERR_CERT_UNTRUSTED', file(issue(alg, foreign, 'peer', 'v3_leaf', leafKey))],
            ['revoked (openssl ca -revoke, -gencrl)', 'ERR_CERT_REVOKED', revoked],
            // The remaining cases do not depend on the chain depth: run them once per algorithm.
            ...(depth === 2
              ? ([
                  [
                    'not yet valid',
                    'ERR_CERT_NOT_YET_VALID',
                    chain(issue(alg, issuer, 'peer', 'v3_leaf', leafKey, ['-startdate', '20991201000000Z', '-enddate', '20991231000000Z'])),
                  ],
                  ['keyUsage without digitalSignature', 'ERR_CERT_USAGE', chain(issue(alg, issuer, 'peer', 'v3_bad_ku', leafKey))],
                  ['extendedKeyUsage emailProtection', 'ERR_CERT_USAGE', chain(issue(alg, issuer, 'peer', 'v3_bad_eku', leafKey))],
                  ['CA certificate as endpoint', 'ERR_CERT_USAGE', chain(issue(alg, issuer, 'peer', 'v3_ca_leaf', leafKey))],
                  ['wrong name', 'ERR_CERT_NAME', chain(issue(alg, issuer, 'someone-else', 'v3_leaf', leafKey))],
                ] as [string, ErrorCode, string][])
              : []),
          ] as [string, ErrorCode, string][],
          dnsLeaf: depth === 2 ? chain(issue(alg, issuer, 'not-the-id', 'v3_leaf_dns', leafKey)) : undefined,
        };
      })();
      // openssl starts validity at issuance (whole seconds): verify a little later.
      const now = new Date(Date.now() + 2000);

      test('valid chain accepted; roles from an openssl-written RoleInformation extension; key matches', async () => {
        const s = setup!;
        const store = createTrustStore({ roots: s.roots, crls: [s.crl] });
        const id = loadIdentity({ certificate: s.good, privateKey: s.leafKey }, 'peer');
        assert.equal(id.chain.length, depth - 1);
        const peer = await store.verify({ chain: id.chain, claimedId: 'peer', now });
        assert.deepEqual(
          peer.roles.map((r) => `${r.role}:${r.roleId}`),
          ['OPERATOR:1', 'dso:-4'],
        );
        if (s.dnsLeaf) assert.equal((await store.verify({ chain: chainOf(s.dnsLeaf), claimedId: 'dns-peer', now })).id, 'dns-peer');
      });

      test('refusal matrix', async () => {
        const s = setup!;
        const store = createTrustStore({ roots: s.roots, crls: [s.crl] });
        for (const [label, code, pem] of s.cases)
          await rejectsWith(store.verify({ chain: chainOf(pem), claimedId: 'peer', now }), code, `${alg}/${depth}: ${label}`);
      });

      test('openssl verifies hopsafe-accepted chains the same way (sanity)', () => {
        const s = setup!;
        const rootFile = join(dir, 'root', 'ca.pem');
        const leafFile = join(dir, 'good.pem');
        writeFileSync(leafFile, s.good);
        const untrusted = depth === 3 ? ['-untrusted', join(dir, 'inter', 'ca.pem')] : [];
        assert.match(ossl(['verify', '-CAfile', rootFile, ...untrusted, leafFile]), /OK/);
      });
    });
  }
}

test('SHA-1 signed certificate is refused with ERR_CERT_UNTRUSTED', { skip: version ? false : 'openssl not found on PATH' }, async (t) => {
  const dir = join(root, 'sha1');
  const ca = selfSignedRoot('p256', dir, 'sha1 root');
  const leafKey = join(dir, 'leaf.key');
  genKey('p256', leafKey, 'leaf');
  const csr = join(dir, 'leaf.csr');
  const out = join(dir, 'leaf.pem');
  ossl(['req', '-new', '-key', leafKey, '-subj', '/O=interop/CN=peer', '-config', ca.cnf, '-out', csr]);
  try {
    ossl([
      'ca',
      '-batch',
      '-notext',
      '-config',
      ca.cnf,
      '-cert',
      ca.cert,
      '-keyfile',
      ca.key,
      '-extensions',
      'v3_leaf',
      '-in',
      csr,
      '-out',
      out,
      '-md',
      'sha1',
    ]);
  } catch {
    t.skip('this OpenSSL build refuses to sign with SHA-1');
    return;
  }
  const pem = file(out);
  assert.match(ossl(['x509', '-in', out, '-noout', '-text']), /sha1WithRSAEncryption|ecdsa-with-SHA1/);
  await rejectsWith(
    createTrustStore({ roots: [file(ca.cert)] }).verify({ chain: chainOf(pem), claimedId: 'peer', now: new Date() }),
    'ERR_CERT_UNTRUSTED',
  );
});
