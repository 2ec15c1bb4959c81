/** `hopsafe vectors generate|verify`: reproducible test vectors. [SPEC 11] */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createNodeProvider } from '../crypto/node.js';
import { createNobleProvider } from '../crypto/noble.js';
import type { CryptoProvider } from '../crypto/provider.js';
import { createTestPki } from '../testing/index.js';
import { generateVector, verifyVector, type VectorInputs } from '../testing/vectors.js';
import { toHex, utf8 } from '../bytes/index.js';
import { suiteByName } from '../crypto/suites.js';
import { updateGroup } from '../crypto/key-agreement.js';
import { parseFlags, usageFailure } from './usage.js';

const USAGE = `usage:
  hopsafe vectors verify FILE... [--provider node|noble|both]
      regenerate each test-vector file and compare; exit 1 on any mismatch
  hopsafe vectors generate --out DIR
      write the standard vector set
  hopsafe vectors --help`;

/** The standard set: suites × modes chosen to cover every primitive family. */
const SET: readonly { file: string; suite: string; protection: 'integrity' | 'confidentiality'; early?: boolean }[] = [
  { file: 'x25519-aes128gcm-confidentiality.json', suite: 'X25519_AES128GCM_SHA256', protection: 'confidentiality' },
  {
    file: 'x25519-chacha20poly1305-integrity-early-data.json',
    suite: 'X25519_CHACHA20POLY1305_SHA256',
    protection: 'integrity',
    early: true,
  },
  { file: 'x25519-aes256gcm-sha384-confidentiality.json', suite: 'X25519_AES256GCM_SHA384', protection: 'confidentiality' },
  { file: 'p256-chacha20poly1305-confidentiality.json', suite: 'P256_CHACHA20POLY1305_SHA256', protection: 'confidentiality' },
  { file: 'p384-aes256gcm-integrity.json', suite: 'P384_AES256GCM_SHA384', protection: 'integrity' },
  { file: 'x25519mlkem768-aes256gcm-sha384-confidentiality.json', suite: 'X25519MLKEM768_AES256GCM_SHA384', protection: 'confidentiality' },
];

const TIME = Date.UTC(2026, 10, 25, 12, 0, 0);

function providers(which: string): CryptoProvider[] {
  if (which === 'node') return [createNodeProvider()];
  if (which === 'noble') return [createNobleProvider()];
  return [createNodeProvider(), createNobleProvider()];
}

function usageError(message: string): number {
  return usageFailure('vectors', message);
}

export async function run(argv: string[]): Promise<number> {
  const parsed = parseFlags(argv, { provider: { type: 'string' }, out: { type: 'string' }, help: { type: 'boolean', short: 'h' } }, true);
  const { values } = parsed;
  const [sub, ...files] = parsed.positionals;
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (sub === 'verify') {
    const provider = values.provider ?? 'both';
    if (files.length === 0) return usageError('verify needs at least one FILE');
    if (!['node', 'noble', 'both'].includes(provider)) return usageError(`--provider ${provider}: node, noble or both`);
    if (values.out !== undefined) return usageError('--out is for generate');
    let bad = 0;
    for (const file of files) {
      let json: unknown;
      try {
        json = JSON.parse(await readFile(file, 'utf8'));
      } catch (e) {
        console.error(`${file}: cannot read JSON: ${(e as Error).message}`);
        bad++;
        continue;
      }
      for (const p of providers(provider)) {
        const diffs = await verifyVector(p, json).catch((e: unknown) => [`error: ${(e as Error).message}`]);
        if (diffs.length === 0) console.log(`ok   ${file} (${p.name})`);
        else {
          bad++;
          console.log(`FAIL ${file} (${p.name})`);
          for (const d of diffs.slice(0, 20)) console.log(`     ${d}`);
        }
      }
    }
    return bad === 0 ? 0 : 1;
  }
  if (sub === 'generate') {
    if (!values.out) return usageError('generate needs --out DIR');
    if (files.length > 0 || values.provider !== undefined) return usageError('generate takes only --out DIR');
    await mkdir(values.out, { recursive: true });
    // Ed25519 identities: deterministic signatures, so every byte is reproducible with any provider.
    const pki = await createTestPki({
      endpoints: [
        { id: 'control-center', roles: ['OPERATOR'] },
        { id: 'der-17', roles: ['VIEWER'] },
      ],
      keyType: 'ed25519',
      now: new Date(TIME),
    });
    const node = createNodeProvider();
    for (const [i, s] of SET.entries()) {
      const inputs: VectorInputs = {
        description: `${s.suite}, ${s.protection}${s.early ? ', first payload as early data' : ''}: handshake, 4 records, key update (SPEC 11)`,
        suite: s.suite,
        protection: s.protection,
        time: TIME,
        roots: pki.roots,
        initiator: { id: 'der-17', ...pki.identities['der-17']!, rngSeed: toHex(utf8(`hopsafe vector ${i} initiator`)) },
        responder: { id: 'control-center', ...pki.identities['control-center']!, rngSeed: toHex(utf8(`hopsafe vector ${i} responder`)) },
        ...(s.early ? { earlyData: toHex(utf8('MMS Initiate-Request')) } : {}),
        payloads: ['', 'MMS Initiate-Response', '{"P_MW":4.2,"Q_MVAr":0.3}', 'x'.repeat(300)].map((p) => toHex(utf8(p))),
        keyUpdate: {
          direction: 'a2b',
          ephemeralPrivateKey: toHex(node.kexKeyPair(updateGroup(suiteByName(s.suite).group)).privateKey),
          payload: toHex(utf8('after key update')),
        },
      };
      const v = await generateVector(node, inputs);
      await writeFile(join(values.out, s.file), `${JSON.stringify(v, null, 2)}\n`);
      console.log(`wrote ${join(values.out, s.file)}`);
    }
    return 0;
  }
  return usageError(sub === undefined ? 'verify or generate?' : `unknown sub-command '${sub}'`);
}
