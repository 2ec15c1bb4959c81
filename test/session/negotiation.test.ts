/** [SPEC 4.1, 5.5] Which suites an endpoint offers and accepts: its `suites` list, less what its provider lacks. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createNodeProvider } from '../../src/crypto/node.js';
import type { CryptoProvider } from '../../src/crypto/provider.js';
import { suiteByName } from '../../src/crypto/suites.js';
import { handshake, makePair } from '../support/session-pair.js';
import { HopsafeError } from '../../src/errors/index.js';

/** A provider that lacks ChaCha20-Poly1305 (as a build without it would). */
function withoutChacha(p: CryptoProvider): CryptoProvider {
  return { ...p, supportsAead: (a) => a !== 'chacha20-poly1305' && p.supportsAead(a) };
}

const CHACHA = 'X25519_CHACHA20POLY1305_SHA256';
const AES = 'X25519_AES128GCM_SHA256';

test('[SPEC 5.5] a responder never selects a suite whose AEAD its provider lacks: it takes the next one offered', async () => {
  const node = createNodeProvider();
  const p = await makePair({ providerA: node, providerB: withoutChacha(node), suitesA: [CHACHA, AES], suitesB: [CHACHA, AES] });
  const { sa, sb } = await handshake(p);
  assert.equal(sb.suite.id, suiteByName(AES).id);
  assert.equal(sa.suite.id, suiteByName(AES).id);
});

test('[SPEC 4.1, 5.5] `suites` is also the accept list: a suite the responder does not list is not selected', async () => {
  const p = await makePair({ suitesA: ['P256_AES128GCM_SHA256'] }); // B keeps the default (X25519 only)
  await assert.rejects(handshake(p), (e) => e instanceof HopsafeError && e.code === 'ERR_NEGOTIATION');
  const q = await makePair({ suitesA: [CHACHA, AES], suitesB: [AES] });
  assert.equal((await handshake(q)).sb.suite.id, suiteByName(AES).id);
});
