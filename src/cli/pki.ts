/**
 * `hopsafe pki` — create and manage a small PKI for hopsafe endpoints. [SPEC 10.6]
 *   init   --dir DIR --endpoint ID[:ROLES] ... [--intermediate] [--key-type p256|p384|ed25519|rsa] [--days N] [--force]
 *          [--suite NAME]...
 *   issue  --dir DIR --endpoint ID[:ROLES] ... [--key-type T] [--days N] [--force] [--suite NAME]...
 *   revoke --dir DIR --id ID
 *   show   FILE
 * ROLES: comma-separated IEC 62351-8 roles (VIEWER, OPERATOR, ENGINEER, INSTALLER, SECADM, SECAUD, RBACMNT)
 * or custom roles NAME=ID (ID in -32768..-1).
 *
 * No suite is chosen here: an identity key of any --key-type signs the handshake in every suite (SPEC 4.1, 4.3), and
 * the ML-KEM-768 key of the hybrid suites is ephemeral, one per handshake, never in a certificate (SPEC 4.2).
 * `--suite` only prints, per endpoint, the `hopsafe peer` command line that uses the files with those suites.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { generateKeyPairSync, createPublicKey, type KeyObject } from 'node:crypto';
import { HopsafeError } from '../errors/index.js';
import { parseFlags, UsageError } from './usage.js';
import { suiteOption } from './suite-option.js';
import type { Suite } from '../crypto/suites.js';
import { readFailure } from './read-option-file.js';
import { decodePem, encodePem, derObjects } from '../codec/pem.js';
import { assertEndpointId } from '../transport/endpoint-id.js';
import { parseCertificate, type ParsedCert } from '../pki/x509.js';
import { parseCrl } from '../pki/crl.js';
import { parseAttributeCertificate } from '../pki/attribute-cert.js';
import { loadPrivateKey } from '../pki/identity.js';
import { decodeRoleInformation, parseRoleSpec, type RoleSpec } from '../pki/roles.js';
import { encodeName, issueCertificate, issueCrl, spkiOf } from '../pki/issue.js';
import { boundIds } from '../pki/names.js';
import { HOPSAFE_URI_PREFIX, ID_ANY_EKU, ID_KP_CLIENT_AUTH, ID_KP_HOPSAFE_ENDPOINT, ID_KP_SERVER_AUTH } from '../pki/oids.js';

const DAY = 86_400_000;
type KeyType = 'p256' | 'p384' | 'ed25519' | 'rsa';
const KEY_TYPES: readonly KeyType[] = ['p256', 'p384', 'ed25519', 'rsa'];

export interface CliIo {
  out(line: string): void;
  err(line: string): void;
}
const stdio: CliIo = { out: (l) => process.stdout.write(l + '\n'), err: (l) => process.stderr.write(l + '\n') };

const USAGE = `usage:
  hopsafe pki init   --dir DIR --endpoint ID[:ROLES] [--endpoint ...]
                     [--intermediate] [--key-type p256|p384|ed25519|rsa]
                     [--days N] [--force] [--suite NAME]...
  hopsafe pki issue  --dir DIR --endpoint ID[:ROLES] [--endpoint ...]
                     [--key-type T] [--days N] [--force] [--suite NAME]...
  hopsafe pki revoke --dir DIR --id ID
  hopsafe pki show   FILE

ROLES: comma-separated IEC 62351-8 roles (VIEWER, OPERATOR, ENGINEER,
       INSTALLER, SECADM, SECAUD, RBACMNT) or custom roles NAME=ID with ID in
       -32768..-1, e.g. control-center:OPERATOR,SECAUD

init writes DIR/ca.pem (trust anchor), DIR/ca.key, [DIR/intermediate.pem,
DIR/intermediate.key], DIR/{id}.pem (chain, leaf first), DIR/{id}.key
(PKCS#8, mode 0600) and DIR/crl.pem (empty CRL).

Keys and suites are independent: a key of every --key-type works with every
suite, the post-quantum X25519MLKEM768 ones included (SPEC 4.1-4.3: the
ML-KEM key is ephemeral, per handshake, never in a certificate). The suites
are the endpoints' own choice: --suite NAME (repeatable, in order) prints for
each endpoint the 'hopsafe peer' command line with those files and suites.
Exit codes: 0 done; 1 a fatal error or a bad value (one line on stderr);
2 a usage error (a missing option or argument).`;

/** A usage error: one line and where the help is (exit 2). */
function usage(io: CliIo, message: string): number {
  io.err(`hopsafe pki: ${message}\nsee 'hopsafe pki --help' for usage`);
  return 2;
}

function generateKey(t: KeyType): KeyObject {
  if (t === 'rsa') return generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
  if (t === 'ed25519') return generateKeyPairSync('ed25519').privateKey;
  return generateKeyPairSync('ec', { namedCurve: t === 'p384' ? 'secp384r1' : 'prime256v1' }).privateKey;
}

function parseEndpoint(spec: string): { id: string; roles: RoleSpec[] } {
  const i = spec.indexOf(':');
  const id = assertEndpointId(i < 0 ? spec : spec.slice(0, i), '--endpoint id');
  const roles =
    i < 0 || spec.slice(i + 1).trim() === ''
      ? []
      : spec
          .slice(i + 1)
          .split(',')
          .map(parseRoleSpec);
  return { id, roles };
}

/** The `hopsafe peer` command line (POSIX shell quoting) for endpoint `id` of DIR with `suites`; --url left to fill in. */
export function peerCommand(dir: string, id: string, suites: readonly Suite[]): string {
  const q = (x: string): string => (/^[\w@%+=:,./-]+$/.test(x) ? x : `'${x.replace(/'/g, `'\\''`)}'`);
  const f = (name: string): string => q(join(dir, name));
  return [
    'hopsafe peer --id',
    q(id),
    '--cert',
    f(`${id}.pem`),
    '--key',
    f(`${id}.key`),
    '--trust',
    f('ca.pem'),
    '--crl',
    f('crl.pem'),
    ...suites.map((s) => `--suite ${s.name}`),
    '--url URL',
  ].join(' ');
}

function writeSecret(path: string, text: string): void {
  writeFileSync(path, text, { mode: 0o600 });
  chmodSync(path, 0o600);
}

interface Issuer {
  readonly cert: ParsedCert;
  readonly der: Uint8Array;
  readonly key: KeyObject;
}

function loadIssuer(dir: string): { issuer: Issuer; tail: Uint8Array[] } {
  const read = (name: string): Issuer => {
    const [der] = derObjects(readFileSync(join(dir, `${name}.pem`), 'utf8'), ['CERTIFICATE'], `${name}.pem`);
    const key = loadPrivateKey(readFileSync(join(dir, `${name}.key`), 'utf8'));
    return { cert: parseCertificate(der as Uint8Array), der: der as Uint8Array, key };
  };
  if (!existsSync(join(dir, 'ca.pem')) || !existsSync(join(dir, 'ca.key')))
    throw new HopsafeError('ERR_CONFIG', `${dir} has no ca.pem/ca.key (run 'hopsafe pki init' first)`);
  if (existsSync(join(dir, 'intermediate.pem'))) {
    const inter = read('intermediate');
    return { issuer: inter, tail: [inter.der] };
  }
  return { issuer: read('ca'), tail: [] };
}

function issueEndpoint(
  dir: string,
  issuer: Issuer,
  tail: readonly Uint8Array[],
  ep: { id: string; roles: RoleSpec[] },
  keyType: KeyType,
  days: number,
  now: Date,
): void {
  const key = generateKey(keyType);
  const der = issueCertificate(
    {
      subject: encodeName(ep.id, 'hopsafe'),
      issuer: issuer.cert.subject,
      notBefore: new Date(now.getTime() - 60_000),
      notAfter: new Date(now.getTime() + days * DAY),
      publicKey: key,
      keyUsage: ['digitalSignature'],
      extKeyUsage: [ID_KP_HOPSAFE_ENDPOINT, ID_KP_CLIENT_AUTH, ID_KP_SERVER_AUTH],
      san: { uris: [HOPSAFE_URI_PREFIX + ep.id], endpointIds: [ep.id] },
      ...(ep.roles.length > 0 ? { roles: ep.roles } : {}),
      issuerSpki: issuer.cert.spki,
    },
    { key: issuer.key },
  );
  writeFileSync(join(dir, `${ep.id}.pem`), [der, ...tail].map((d) => encodePem('CERTIFICATE', d)).join(''));
  writeSecret(join(dir, `${ep.id}.key`), key.export({ format: 'pem', type: 'pkcs8' }).toString());
}

function writeCrl(dir: string, issuer: Issuer, revoked: { serialHex: string; date: Date }[], now: Date): void {
  const der = issueCrl(
    {
      issuer: issuer.cert.subject,
      issuerSpki: issuer.cert.spki,
      thisUpdate: new Date(now.getTime() - 60_000),
      nextUpdate: new Date(now.getTime() + 30 * DAY),
      revoked,
      crlNumber: Math.floor(now.getTime() / 1000),
    },
    { key: issuer.key },
  );
  writeFileSync(join(dir, 'crl.pem'), encodePem('X509 CRL', der));
}

const OPTIONS = {
  dir: { type: 'string' },
  endpoint: { type: 'string', multiple: true },
  intermediate: { type: 'boolean' },
  'key-type': { type: 'string' },
  days: { type: 'string' },
  force: { type: 'boolean' },
  suite: { type: 'string', multiple: true },
  id: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

export async function run(argv: string[], io: CliIo = stdio): Promise<number> {
  let parsed: ReturnType<typeof parseFlags<typeof OPTIONS, true>>;
  try {
    parsed = parseFlags(argv, OPTIONS, true);
  } catch (e) {
    return usage(io, (e as Error).message);
  }
  const { values, positionals } = parsed;
  const [sub, ...rest] = positionals;
  if (values.help) {
    io.out(USAGE);
    return 0;
  }
  if (!sub) return usage(io, 'a sub-command is required (init, issue, revoke or show)');
  try {
    switch (sub) {
      case 'init':
      case 'issue': {
        const dir = values.dir;
        if (!dir) throw new UsageError(`${sub}: --dir is required`);
        const endpoints = (values.endpoint ?? []).map(parseEndpoint);
        if (endpoints.length === 0) throw new UsageError(`${sub}: at least one --endpoint ID[:ROLES] is required`);
        const keyType = (values['key-type'] ?? 'p256') as KeyType;
        if (!KEY_TYPES.includes(keyType)) throw new HopsafeError('ERR_CONFIG', `--key-type must be one of ${KEY_TYPES.join(', ')}`);
        const days = values.days === undefined ? 365 : Number(values.days);
        if (!Number.isInteger(days) || days < 1 || days > 36500)
          throw new HopsafeError('ERR_CONFIG', '--days must be an integer in 1..36500');
        if (rest.length > 0) throw new UsageError(`${sub}: unexpected argument ${rest[0]}`);
        const suites = suiteOption(values.suite);
        mkdirSync(dir, { recursive: true });
        const keyFiles = [
          ...(sub === 'init' ? ['ca.key', ...(values.intermediate ? ['intermediate.key'] : [])] : []),
          ...endpoints.map((e) => `${e.id}.key`),
        ];
        const existing = keyFiles.filter((f) => existsSync(join(dir, f)));
        if (existing.length > 0 && !values.force)
          throw new HopsafeError(
            'ERR_CONFIG',
            `refusing to overwrite existing key(s) ${existing.map((f) => join(dir, f)).join(', ')} (use --force)`,
          );
        const now = new Date();
        let issuer: Issuer;
        let tail: Uint8Array[];
        if (sub === 'init') {
          const rootKey = generateKey(keyType);
          const rootName = encodeName('hopsafe root CA', 'hopsafe');
          const rootDer = issueCertificate(
            {
              subject: rootName,
              issuer: rootName,
              notBefore: new Date(now.getTime() - 60_000),
              notAfter: new Date(now.getTime() + 3650 * DAY),
              publicKey: rootKey,
              ca: true,
            },
            { key: rootKey },
          );
          writeFileSync(join(dir, 'ca.pem'), encodePem('CERTIFICATE', rootDer));
          writeSecret(join(dir, 'ca.key'), rootKey.export({ format: 'pem', type: 'pkcs8' }).toString());
          issuer = { cert: parseCertificate(rootDer), der: rootDer, key: rootKey };
          tail = [];
          if (values.intermediate) {
            const k = generateKey(keyType);
            const der = issueCertificate(
              {
                subject: encodeName('hopsafe intermediate CA', 'hopsafe'),
                issuer: rootName,
                notBefore: new Date(now.getTime() - 60_000),
                notAfter: new Date(now.getTime() + 1825 * DAY),
                publicKey: k,
                ca: true,
                pathLen: 0,
                issuerSpki: spkiOf(rootKey),
              },
              { key: rootKey },
            );
            writeFileSync(join(dir, 'intermediate.pem'), encodePem('CERTIFICATE', der));
            writeSecret(join(dir, 'intermediate.key'), k.export({ format: 'pem', type: 'pkcs8' }).toString());
            issuer = { cert: parseCertificate(der), der, key: k };
            tail = [der];
          }
          writeCrl(dir, issuer, [], now);
        } else {
          ({ issuer, tail } = loadIssuer(dir));
        }
        for (const ep of endpoints) {
          issueEndpoint(dir, issuer, tail, ep, keyType, days, now);
          io.out(`${join(dir, ep.id + '.pem')}  ${ep.roles.map((r) => r.role).join(',') || '(no roles)'}`);
        }
        if (sub === 'init') io.out(`trust anchor: ${join(dir, 'ca.pem')}   CRL: ${join(dir, 'crl.pem')}`);
        // [SPEC 4.1] both ends must list a suite for it to be selected: the same --suite list for every endpoint
        for (const ep of suites.length > 0 ? endpoints : []) io.out(peerCommand(dir, ep.id, suites));
        return 0;
      }
      case 'revoke': {
        const dir = values.dir;
        const id = values.id;
        if (!dir || !id) throw new UsageError('revoke: --dir and --id are required');
        assertEndpointId(id, '--id');
        const { issuer } = loadIssuer(dir);
        const leafPath = join(dir, `${id}.pem`);
        if (!existsSync(leafPath)) throw new HopsafeError('ERR_CONFIG', `revoke --id ${id}: no certificate ${leafPath} (no such file)`);
        const [leafDer] = derObjects(readFileSync(leafPath, 'utf8'), ['CERTIFICATE'], leafPath);
        const leaf = parseCertificate(leafDer as Uint8Array);
        const revoked: { serialHex: string; date: Date }[] = [];
        const crlPath = join(dir, 'crl.pem');
        if (existsSync(crlPath)) {
          const [crlDer] = derObjects(readFileSync(crlPath, 'utf8'), ['X509 CRL'], 'crl.pem');
          for (const [serialHex, date] of parseCrl(crlDer as Uint8Array).revoked) revoked.push({ serialHex, date });
        }
        if (!revoked.some((r) => r.serialHex === leaf.serialHex)) revoked.push({ serialHex: leaf.serialHex, date: new Date() });
        writeCrl(dir, issuer, revoked, new Date());
        io.out(`revoked ${id} (serial ${leaf.serialHex}); ${crlPath} lists ${revoked.length} certificate(s)`);
        return 0;
      }
      case 'show': {
        const file = rest[0];
        if (!file) throw new UsageError('show needs a FILE');
        let text: Buffer;
        try {
          text = readFileSync(file);
        } catch (e) {
          throw new HopsafeError('ERR_CONFIG', `show ${file}: ${readFailure(e)}`);
        }
        const asText = text.toString('utf8');
        const blocks = asText.includes('-----BEGIN') ? decodePem(asText) : [{ label: 'CERTIFICATE', der: new Uint8Array(text) }];
        for (const b of blocks) io.out(describe(b.label, b.der));
        return 0;
      }
      default:
        return usage(io, `unknown sub-command '${sub}' (init, issue, revoke or show)`);
    }
  } catch (e) {
    if (e instanceof UsageError) return usage(io, e.message);
    if (e instanceof HopsafeError) {
      io.err(`hopsafe pki: ${e.code}: ${e.message}`);
      return 1;
    }
    io.err(`hopsafe pki: ${(e as Error).message}`);
    return 1;
  }
}

const EKU_NAMES: Record<string, string> = {
  [ID_KP_SERVER_AUTH]: 'serverAuth',
  [ID_KP_CLIENT_AUTH]: 'clientAuth',
  [ID_KP_HOPSAFE_ENDPOINT]: 'hopsafeEndpoint',
  [ID_ANY_EKU]: 'anyExtendedKeyUsage',
};

function keyText(k: KeyObject | undefined): string {
  if (!k) return 'unsupported key type';
  const d = k.asymmetricKeyDetails ?? {};
  return `${k.asymmetricKeyType ?? '?'}${d.namedCurve ? ' ' + d.namedCurve : ''}${d.modulusLength ? ' ' + d.modulusLength + ' bits' : ''}`;
}

function describe(label: string, der: Uint8Array): string {
  const lines: string[] = [];
  const roleLines = (roles: { role: string; roleId: number; notBefore?: Date; notAfter?: Date }[]): string =>
    roles.length === 0
      ? '(none)'
      : roles
          .map((r) => `${r.role}(${r.roleId}) ${r.notBefore?.toISOString() ?? ''} .. ${r.notAfter?.toISOString() ?? ''}`)
          .join('\n           ');
  if (label === 'CERTIFICATE') {
    const c = parseCertificate(der);
    lines.push(
      `Certificate`,
      `  subject: ${c.subjectText}`,
      `  issuer:  ${c.issuerText}`,
      `  serial:  ${c.serialHex}`,
      `  valid:   ${c.notBefore.toISOString()} .. ${c.notAfter.toISOString()}`,
      `  key:     ${keyText(c.publicKey)}`,
      `  SANs:    ${[...c.dnsNames.map((d) => 'DNS:' + d), ...c.uris.map((u) => 'URI:' + u), ...c.endpointIds.map((e) => 'hopsafeEndpointId:' + e)].join(', ') || '(none)'}`,
      `  endpoint ids: ${boundIds(c).join(', ') || '(none)'}`,
      `  CA:      ${c.basicConstraints?.ca ? `yes${c.basicConstraints.pathLen !== undefined ? ` (pathLen ${c.basicConstraints.pathLen})` : ''}` : 'no'}`,
      `  keyUsage: ${c.keyUsage ? [...c.keyUsage].join(', ') : '(absent)'}`,
      `  extKeyUsage: ${c.extKeyUsage ? c.extKeyUsage.map((o) => EKU_NAMES[o] ?? o).join(', ') : '(absent)'}`,
      `  roles:   ${c.roleInfo ? roleLines(decodeRoleInformation(c.roleInfo, c)) : '(none)'}`,
      `  sha256 fingerprint: ${c.fingerprint}`,
    );
  } else if (label === 'X509 CRL') {
    const c = parseCrl(der);
    lines.push(
      `CRL`,
      `  issuer: ${c.issuerText}`,
      `  thisUpdate: ${c.thisUpdate.toISOString()}  nextUpdate: ${c.nextUpdate?.toISOString() ?? '(none)'}`,
      `  revoked: ${c.revoked.size === 0 ? '(none)' : [...c.revoked].map(([s, d]) => `${s} (${d.toISOString()})`).join(', ')}`,
      `  sha256 fingerprint: ${c.fingerprint}`,
    );
  } else if (label === 'ATTRIBUTE CERTIFICATE') {
    const a = parseAttributeCertificate(der);
    lines.push(
      `Attribute certificate`,
      `  holder serial: ${a.holderSerialHex ?? '?'}`,
      `  valid: ${a.notBefore.toISOString()} .. ${a.notAfter.toISOString()}`,
      `  roles: ${roleLines(a.roleInfos.flatMap((r) => decodeRoleInformation(r, a)))}`,
      `  sha256 fingerprint: ${a.fingerprint}`,
    );
  } else if (label === 'PRIVATE KEY') {
    const k = loadPrivateKey(encodePem('PRIVATE KEY', der));
    lines.push(`Private key (PKCS#8): ${keyText(createPublicKey(k))}`);
  } else lines.push(`${label}: ${der.length} bytes (not interpreted)`);
  return lines.join('\n');
}
