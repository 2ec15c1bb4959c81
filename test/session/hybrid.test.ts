/**
 * Sessions with the hybrid X25519MLKEM768 suites: handshake, records and key updates in both modes across provider
 * pairings; negotiation next to the classical suites; a stripped hybrid offer and an altered KEM share or ciphertext
 * are refused with a typed error and nothing delivered. [SPEC 4.1, 4.2, 5.4, 5.5, 6.2, 7.2]
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createNodeProvider } from '../../src/crypto/node.js';
import { createNobleProvider } from '../../src/crypto/noble.js';
import { concat, utf8 } from '../../src/bytes/index.js';
import { GROUP_IDS, suiteByName } from '../../src/crypto/suites.js';
import { decodeClearToken2, decodeSignedClearToken1, encodeClearToken2, type ClearToken1 } from '../../src/codec/tokens.js';
import { decodeHandshakeResponse, decodeRecordHeader, FrameType } from '../../src/codec/frame.js';
import { openRecord, sealRecord } from '../../src/session/record.js';
import { completeAgreement } from '../../src/crypto/key-agreement.js';
import { complete, initiate, respond, responseFrame, SIGN_CONTEXT } from '../../src/session/handshake.js';
import { initialChainSecrets, trafficKeys, transcriptA, transcriptB } from '../../src/session/key-schedule.js';
import { rewriteClearToken1 } from '../../src/adversary/index.js';
import { isHopsafeError } from '../../src/errors/index.js';
import { handshake, makePair, type Pair } from '../support/session-pair.js';

const node = createNodeProvider();
const noble = createNobleProvider();
const HYBRID = ['X25519MLKEM768_AES256GCM_SHA384', 'X25519MLKEM768_CHACHA20POLY1305_SHA256'] as const;
const HYBRID_GROUP = GROUP_IDS.x25519mlkem768;

async function codeOfAsync(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    assert.ok(isHopsafeError(e), String(e));
    return e.code;
  }
  return 'accepted';
}

const tokenOf = (frame: Uint8Array, resp = false) =>
  decodeSignedClearToken1(resp ? decodeHandshakeResponse(frame).token : frame.subarray(1)).token;

for (const [a, b] of [
  [node, node],
  [node, noble],
  [noble, node],
  [noble, noble],
] as const) {
  for (const suite of HYBRID) {
    for (const protection of ['integrity', 'confidentiality'] as const) {
      test(`[SPEC 4.1, 7.2] ${suite}, ${protection}: ${a.name} initiator ↔ ${b.name} responder — handshake, records, key updates`, async () => {
        const p = await makePair({ providerA: a, providerB: b, suitesA: [suite], suitesB: [suite], protection, keyType: 'ed25519' });
        const { sa, sb, init, resp } = await handshake(p);
        assert.equal(sa.suite.name, suite);
        assert.equal(sb.suite.name, suite);
        // [SPEC 4.2] the shares: X25519 ‖ ek from the initiator, X25519 ‖ ciphertext from the responder
        const ti = tokenOf(init);
        const tr = tokenOf(resp, true);
        assert.deepEqual(
          ti.keyShares.map((k) => [k.group, k.publicKey.length]),
          [[HYBRID_GROUP, 1216]],
        );
        assert.deepEqual(
          tr.keyShares.map((k) => [k.group, k.publicKey.length]),
          [[HYBRID_GROUP, 1120]],
        );
        const t = Date.now();
        assert.deepEqual(sb.open(sa.seal(utf8('to B')), t)[0], { type: 'data', payload: utf8('to B'), epoch: 0, seq: 0 });
        assert.deepEqual(sa.open(sb.seal(utf8('to A')), t)[0], { type: 'data', payload: utf8('to A'), epoch: 0, seq: 0 });
        // [SPEC 7.2] the update stays one message, in X25519 (group 1, a 32-byte value)
        const [u] = sb.open(sa.keyUpdate(t, true), t);
        assert.deepEqual(u, { type: 'key-update', epoch: 1, requestUpdate: true });
        const back = sb.keyUpdate(t);
        assert.equal(sa.open(back, t)[0]?.type, 'key-update');
        for (let i = 0; i < 2; i++) {
          const [d] = sb.open(sa.seal(utf8(`a${i}`)), t);
          assert.equal(d?.type === 'data' && d.epoch, 1 + i);
          const [e] = sa.open(sb.seal(utf8(`b${i}`)), t);
          assert.equal(e?.type === 'data' && e.epoch, 1 + i);
          sb.open(sa.keyUpdate(t), t);
          sa.open(sb.keyUpdate(t), t);
        }
      });
    }
  }
}

test("[SPEC 7.2] a hybrid session's KEY_UPDATE carries an X25519 ClearToken2 (group 1, 32 bytes, peerKeyEpoch 0 = the X25519 part of the handshake share); one naming group 5 is ERR_NEGOTIATION", async () => {
  const suite = suiteByName('X25519MLKEM768_CHACHA20POLY1305_SHA256');
  const protection = 'confidentiality';
  const p = await makePair({ suitesA: [suite.name], suitesB: [suite.name], protection, keyType: 'ed25519' });
  const now = Date.now();
  const { pending, frame } = initiate(p.a, p.idB, now);
  const r = await respond(p.b, frame, p.idA, now);
  const resp = responseFrame(r.token);
  // The initiator's epoch-0 send keys, recomputed with the public key schedule before complete() wipes the ephemeral.
  const m2 = decodeHandshakeResponse(resp).token;
  const share = decodeSignedClearToken1(m2).token.keyShares[0]!.publicKey;
  const eph = pending.ephemerals.get('x25519mlkem768')!;
  const dhs = completeAgreement(node, suite.group, eph, share);
  const hA = transcriptA(node, suite, pending.m1);
  const keys = trafficKeys(node, suite, protection, initialChainSecrets(node, suite, dhs, transcriptB(node, suite, m2, hA)).a2b);
  const c = await complete(p.a, pending, resp, p.idB, now);
  // [SPEC 6.2] complete() wipes the hybrid ephemeral (X25519 private key and ML-KEM decapsulation key) once DHS is known.
  assert.ok(
    eph.privateKey.every((x) => x === 0),
    'hybrid ephemeral wiped',
  );
  const kp = node.kexKeyPair('x25519');
  const ku = c.session.keyUpdate(now, false, kp);
  const ct2 = decodeClearToken2(openRecord({ provider: node, suite, protection }, keys, decodeRecordHeader(ku), ku));
  assert.deepEqual([ct2.group, ct2.publicKey.length, ct2.peerKeyEpoch, ct2.newEpoch], [1, 32, 0, 1]);
  assert.deepEqual(ct2.publicKey, kp.publicKey);
  assert.equal(r.session.open(ku, now)[0]?.type, 'key-update');
  assert.equal(r.session.open(c.session.seal(utf8('epoch 1')), now)[0]?.type, 'data');
  // A ClearToken2 naming the hybrid group itself (on a fresh pair, sealed under valid keys) is refused.
  const q = await makePair({ suitesA: [suite.name], suitesB: [suite.name], protection, keyType: 'ed25519' });
  const i2 = initiate(q.a, q.idB, now);
  const r2 = await respond(q.b, i2.frame, q.idA, now);
  const resp2 = responseFrame(r2.token);
  const m2b = decodeHandshakeResponse(resp2).token;
  const eph2 = i2.pending.ephemerals.get('x25519mlkem768')!;
  const dhs2 = completeAgreement(node, suite.group, eph2, decodeSignedClearToken1(m2b).token.keyShares[0]!.publicKey);
  const keys2 = trafficKeys(
    node,
    suite,
    protection,
    initialChainSecrets(node, suite, dhs2, transcriptB(node, suite, m2b, transcriptA(node, suite, i2.pending.m1))).a2b,
  );
  await complete(q.a, i2.pending, resp2, q.idB, now);
  const bad = encodeClearToken2({
    version: 1,
    newEpoch: 1,
    group: HYBRID_GROUP,
    publicKey: node.kexKeyPair('x25519').publicKey,
    peerKeyEpoch: 0,
    requestUpdate: false,
  });
  const rec = sealRecord({ provider: node, suite, protection }, keys2, FrameType.KEY_UPDATE, i2.pending.sessionId, 0, 0, bad);
  assert.throws(
    () => r2.session.open(rec, now),
    (e: unknown) => isHopsafeError(e) && e.code === 'ERR_NEGOTIATION',
  );
});

async function offerPair(suitesA: readonly string[], suitesB: readonly string[]): Promise<Pair> {
  return makePair({ suitesA, suitesB, protection: 'confidentiality', keyType: 'ed25519' });
}

test('[SPEC 5.4, 5.5] offered with a classical suite: two key shares (1216 + 32 bytes); a hybrid-capable responder selects the hybrid suite, a classical one the classical suite', async () => {
  const offer = ['X25519MLKEM768_AES256GCM_SHA384', 'X25519_AES128GCM_SHA256'];
  const p = await offerPair(offer, offer);
  const { sa, init } = await handshake(p);
  assert.deepEqual(
    tokenOf(init).keyShares.map((k) => [k.group, k.publicKey.length]),
    [
      [HYBRID_GROUP, 1216],
      [1, 32],
    ],
  );
  assert.equal(sa.suite.name, 'X25519MLKEM768_AES256GCM_SHA384');
  const q = await offerPair(offer, ['X25519_AES128GCM_SHA256']);
  const { sa: qa, sb: qb } = await handshake(q);
  assert.equal(qa.suite.name, 'X25519_AES128GCM_SHA256');
  assert.equal(qb.open(qa.seal(utf8('classical')), Date.now())[0]?.type, 'data');
  // The default offer has no hybrid suite: a hybrid-only responder refuses a default initiator.
  const d = await makePair({ suitesB: ['X25519MLKEM768_AES256GCM_SHA384'], keyType: 'ed25519' });
  const { frame } = initiate(d.a, d.idB, Date.now());
  assert.equal(await codeOfAsync(respond(d.b, frame, d.idA, Date.now())), 'ERR_NEGOTIATION');
});

const strip = (t: ClearToken1): ClearToken1 => ({
  ...t,
  suites: t.suites.filter((s) => s !== suiteByName('X25519MLKEM768_AES256GCM_SHA384').id),
  keyShares: t.keyShares.filter((k) => k.group !== HYBRID_GROUP),
});

test('[SPEC 5.5] a broker that strips the hybrid suite and its key share from HS_INIT (to force X25519) → ERR_BAD_SIGNATURE, no session', async () => {
  const offer = ['X25519MLKEM768_AES256GCM_SHA384', 'X25519_AES128GCM_SHA256'];
  const p = await offerPair(offer, offer);
  const now = Date.now();
  const { frame } = initiate(p.a, p.idB, now);
  const stripped = rewriteClearToken1(frame, strip);
  assert.deepEqual(tokenOf(stripped).suites, [suiteByName('X25519_AES128GCM_SHA256').id]);
  assert.equal(await codeOfAsync(respond(p.b, stripped, p.idA, now)), 'ERR_BAD_SIGNATURE');
  // only the suite list stripped (the key share left): still the signature
  const onlySuite = rewriteClearToken1(frame, (t) => ({ ...t, suites: strip(t).suites }));
  assert.equal(await codeOfAsync(respond(p.b, onlySuite, p.idA, now)), 'ERR_BAD_SIGNATURE');
  // the genuine HS_INIT still works afterwards
  const r = await respond(p.b, frame, p.idA, now);
  assert.equal(r.session.suite.name, 'X25519MLKEM768_AES256GCM_SHA384');
});

test('[SPEC 5.5] an HS_RESP whose selection is rewritten to the classical suite (hybrid stripped from the answer) → ERR_BAD_SIGNATURE at the initiator; the genuine one still completes', async () => {
  const offer = ['X25519MLKEM768_AES256GCM_SHA384', 'X25519_AES128GCM_SHA256'];
  const p = await offerPair(offer, offer);
  const now = Date.now();
  const { pending, frame } = initiate(p.a, p.idB, now);
  const r = await respond(p.b, frame, p.idA, now);
  const genuine = responseFrame(r.token);
  const classical = p.a.provider.kexKeyPair('x25519').publicKey;
  const forged = rewriteClearToken1(genuine, (t) => ({
    ...t,
    suites: [suiteByName('X25519_AES128GCM_SHA256').id],
    keyShares: [{ group: 1, publicKey: classical }],
  }));
  assert.equal(await codeOfAsync(complete(p.a, pending, forged, p.idB, now)), 'ERR_BAD_SIGNATURE');
  const c = await complete(p.a, pending, genuine, p.idB, now);
  assert.equal(c.session.suite.name, 'X25519MLKEM768_AES256GCM_SHA384');
});

for (const protection of ['integrity', 'confidentiality'] as const) {
  test(`[SPEC 4.2, 5.4] ${protection}: an altered ML-KEM encapsulation key in HS_INIT or ciphertext in HS_RESP → ERR_BAD_SIGNATURE; wrong lengths too; nothing delivered`, async () => {
    const suite = 'X25519MLKEM768_CHACHA20POLY1305_SHA256';
    const p = await makePair({ suitesA: [suite], suitesB: [suite], protection, keyType: 'ed25519' });
    const now = Date.now();
    const early = protection === 'integrity' ? utf8('early') : undefined;
    const { pending, frame } = initiate(p.a, p.idB, now, early);
    const flip = (share: Uint8Array, at: number) => {
      const out = Uint8Array.from(share);
      out[at]! ^= 0x01;
      return out;
    };
    const withShare = (f: Uint8Array, change: (s: Uint8Array) => Uint8Array) =>
      rewriteClearToken1(f, (t) => ({ ...t, keyShares: t.keyShares.map((k) => ({ ...k, publicKey: change(k.publicKey) })) }));
    // ek bit, X25519 bit, truncated: the initiator's signature; one byte over the 1216-byte bound: the decoder (§5.2)
    for (const change of [(s: Uint8Array) => flip(s, 32 + 100), (s: Uint8Array) => flip(s, 5), (s: Uint8Array) => s.subarray(1)])
      assert.equal(await codeOfAsync(respond(p.b, withShare(frame, change), p.idA, now)), 'ERR_BAD_SIGNATURE');
    assert.equal(
      await codeOfAsync(
        respond(
          p.b,
          withShare(frame, (s) => concat(s, Uint8Array.of(0))),
          p.idA,
          now,
        ),
      ),
      'ERR_MALFORMED',
    );
    const r = await respond(p.b, frame, p.idA, now);
    const genuine = responseFrame(r.token);
    for (const change of [
      (s: Uint8Array) => flip(s, 32 + 700),
      (s: Uint8Array) => flip(s, 0),
      (s: Uint8Array) => s.subarray(0, 1119),
      (s: Uint8Array) => concat(s, Uint8Array.of(0)),
    ])
      assert.equal(await codeOfAsync(complete(p.a, pending, withShare(genuine, change), p.idB, now)), 'ERR_BAD_SIGNATURE');
    const c = await complete(p.a, pending, genuine, p.idB, now);
    assert.equal(r.session.open(c.session.seal(utf8('ok')), now)[0]?.type, 'data');
    // nothing of the refused tokens reached anyone: the early data rode only on the genuine HS_INIT
    if (early) assert.deepEqual(r.earlyData, early);
  });
}

test('[SPEC 4.2, 4.4, 7.1] a responder that signs a wrong ciphertext (implicit rejection): the initiator gets no KEM error, its keys differ, the first record is ERR_BAD_MAC both ways and nothing is delivered', async () => {
  const suite = 'X25519MLKEM768_AES256GCM_SHA384';
  const p = await makePair({ suitesA: [suite], suitesB: [suite], protection: 'confidentiality', keyType: 'ed25519' });
  const now = Date.now();
  const { pending, frame } = initiate(p.a, p.idB, now);
  const r = await respond(p.b, frame, p.idA, now);
  const hA = transcriptA(p.b.provider, r.session.suite, frame.subarray(1));
  // The responder's own key re-signs a token whose ciphertext has one bit changed (as a faulty or hostile signer would).
  const resigned = rewriteClearToken1(
    responseFrame(r.token),
    (t) => ({
      ...t,
      keyShares: t.keyShares.map((k) => ({ ...k, publicKey: Uint8Array.from(k.publicKey, (x, i) => (i === 32 + 9 ? x ^ 0x80 : x)) })),
    }),
    (tbs) => p.b.provider.sign(p.b.identity.privateKey, concat(SIGN_CONTEXT.responder, hA, tbs)),
  );
  const c = await complete(p.a, pending, resigned, p.idB, now);
  assert.throws(
    () => r.session.open(c.session.seal(utf8('secret')), now),
    (e: unknown) => isHopsafeError(e) && e.code === 'ERR_BAD_MAC',
  );
  assert.throws(
    () => c.session.open(r.session.seal(utf8('secret')), now),
    (e: unknown) => isHopsafeError(e) && e.code === 'ERR_BAD_MAC',
  );
});
