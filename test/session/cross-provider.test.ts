import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createNodeProvider } from '../../src/crypto/node.js';
import { createNobleProvider } from '../../src/crypto/noble.js';
import { utf8 } from '../../src/bytes/index.js';
import { handshake, makePair } from '../support/session-pair.js';

const node = createNodeProvider();
const noble = createNobleProvider();

for (const [a, b] of [
  [node, noble],
  [noble, node],
] as const) {
  for (const suite of ['X25519_AES128GCM_SHA256', 'X25519_CHACHA20POLY1305_SHA256', 'P256_AES128GCM_SHA256', 'P384_AES256GCM_SHA384']) {
    for (const protection of ['integrity', 'confidentiality'] as const) {
      test(`[SPEC 4.4] a session with the initiator on ${a.name} and the responder on ${b.name} works (${suite}, ${protection})`, async () => {
        const p = await makePair({ providerA: a, providerB: b, suitesA: [suite], suitesB: [suite], protection });
        const { sa, sb } = await handshake(p);
        const t = Date.now();
        assert.deepEqual(sb.open(sa.seal(utf8('to B')), t)[0], { type: 'data', payload: utf8('to B'), epoch: 0, seq: 0 });
        assert.equal(sa.open(sb.seal(utf8('to A')), t)[0]?.type, 'data');
        // key updates cross providers too
        sb.open(sa.keyUpdate(t, true), t);
        sa.open(sb.keyUpdate(t), t);
        const [d] = sb.open(sa.seal(utf8('epoch 1')), t);
        assert.equal(d?.type === 'data' && d.epoch, 1);
        assert.equal(sa.open(sb.seal(utf8('back')), t)[0]?.type, 'data');
      });
    }
  }
}
