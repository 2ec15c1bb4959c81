/** Loads the published test vectors in ./vectors/*.json, validated with zod; hex becomes bytes. */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { fromHex } from '../../src/bytes/index.js';

const hex = z
  .string()
  .regex(/^(?:[0-9a-f]{2})*$/, 'lowercase hex of whole bytes')
  .transform((s) => fromHex(s));
const hashAlg = z.enum(['sha256', 'sha384']);

const Hkdf = z.object({
  source: z.string(),
  cases: z.array(
    z.object({ name: z.string(), hash: hashAlg, ikm: hex, salt: hex, info: hex, length: z.number().int().positive(), prk: hex, okm: hex }),
  ),
});

const Hmac = z.object({
  source: z.string(),
  cases: z.array(z.object({ name: z.string(), key: hex, data: hex, sha256: hex, sha384: hex })),
});

const X25519 = z.object({
  source: z.string(),
  scalarMult: z.array(z.object({ name: z.string(), scalar: hex, u: hex, out: hex })),
  iterated: z.array(z.object({ iterations: z.number().int().positive(), k: hex })),
  dh: z.object({ alicePrivate: hex, alicePublic: hex, bobPrivate: hex, bobPublic: hex, shared: hex }),
});

const Aead = z.object({
  source: z.string(),
  cases: z.array(
    z.object({
      name: z.string(),
      alg: z.enum(['aes-128-gcm', 'aes-256-gcm', 'chacha20-poly1305']),
      key: hex,
      nonce: hex,
      aad: hex,
      plaintext: hex,
      ciphertext: hex,
      tag: hex,
    }),
  ),
});

const Ed25519 = z.object({
  source: z.string(),
  cases: z.array(z.object({ name: z.string(), secret: hex, public: hex, message: hex, signature: hex })),
});

const Ecdh = z.object({
  source: z.string(),
  cases: z.array(z.object({ name: z.string(), group: z.enum(['p256', 'p384']), i: hex, gi: hex, r: hex, gr: hex, shared: hex })),
});

const MlKem768 = z.object({
  source: z.string(),
  keyGen: z.array(z.object({ tcId: z.number().int(), d: hex, z: hex, ek: hex, dk: hex })),
  encapsulation: z.array(z.object({ tcId: z.number().int(), ek: hex, m: hex, c: hex, k: hex })),
  decapsulation: z.object({
    tgId: z.number().int(),
    dk: hex,
    tests: z.array(z.object({ tcId: z.number().int(), reason: z.enum(['valid decapsulation', 'modified ciphertext']), c: hex, k: hex })),
  }),
  encapsulationKeyCheck: z.array(z.object({ tcId: z.number().int(), ek: hex, testPassed: z.boolean() })),
});

function load<S extends z.ZodType>(file: string, schema: S): z.output<S> {
  const text = readFileSync(new URL(`./vectors/${file}`, import.meta.url), 'utf8');
  return schema.parse(JSON.parse(text));
}

export const vectors = {
  hkdf: () => load('hkdf.json', Hkdf),
  hmac: () => load('hmac.json', Hmac),
  x25519: () => load('x25519.json', X25519),
  aead: () => load('aead.json', Aead),
  ed25519: () => load('ed25519.json', Ed25519),
  ecdh: () => load('ecdh.json', Ecdh),
  mlKem768: () => load('ml-kem-768-acvp.json', MlKem768),
};
