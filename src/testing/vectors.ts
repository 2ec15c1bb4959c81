/**
 * Test vectors: regenerate every byte of a session (handshake, transcript, keys, records, key
 * update) from fixed identities, a fixed clock and deterministic random streams, with any provider,
 * and compare with a vector file. [SPEC 11]
 */
import { createHash } from 'node:crypto';
import { HopsafeError } from '../errors/index.js';
import { fromHex, toHex } from '../bytes/index.js';
import type { CryptoProvider } from '../crypto/provider.js';
import { suiteByName, type Suite } from '../crypto/suites.js';
import { completeAgreement, updateGroup, updatePublicValue } from '../crypto/key-agreement.js';
import type { Protection } from '../codec/tokens.js';
import { decodeHandshakeResponse } from '../codec/frame.js';
import { createTrustStore, loadIdentity } from '../pki/index.js';
import { HandshakeReplayCache } from '../session/freshness.js';
import { complete, initiate, respond, responseFrame, type HandshakeContext } from '../session/handshake.js';
import { initialChainSecrets, nextChainSecret, trafficKeys, transcriptA, transcriptB, type TrafficKeys } from '../session/key-schedule.js';
import { decodeClearToken2, decodeSignedClearToken1 } from '../codec/tokens.js';
import { decodeRecordHeader } from '../codec/frame.js';
import { openRecord } from '../session/record.js';
import { vectorFileSchema, type VectorFile } from '../schemas/vectors.js';
import { decodeBatch, encodeBatch } from '../codec/batch.js';

/**
 * [SPEC 11.1] Deterministic random stream: block i = SHA-256(seed ‖ uint32be(i)), concatenated;
 * each call consumes the next `n` bytes.
 */
export function deterministicRng(seed: Uint8Array): (n: number) => Uint8Array {
  let buf = new Uint8Array(0);
  let counter = 0;
  return (n) => {
    while (buf.length < n) {
      const c = new Uint8Array(4);
      new DataView(c.buffer).setUint32(0, counter++);
      const block = createHash('sha256').update(seed).update(c).digest();
      const next = new Uint8Array(buf.length + block.length);
      next.set(buf);
      next.set(block, buf.length);
      buf = next;
    }
    const out = buf.slice(0, n);
    buf = buf.slice(n);
    return out;
  };
}

export interface VectorInputs {
  readonly description: string;
  readonly suite: string;
  readonly protection: Protection;
  readonly time: number;
  readonly roots: readonly string[];
  readonly initiator: { id: string; certificate: string; privateKey: string; rngSeed: string };
  readonly responder: { id: string; certificate: string; privateKey: string; rngSeed: string };
  readonly earlyData?: string;
  /** Payloads to protect after the handshake, alternating a2b / b2a. */
  readonly payloads: readonly string[];
  readonly keyUpdate: { direction: 'a2b' | 'b2a'; ephemeralPrivateKey: string; payload: string };
}

function keysHex(k: TrafficKeys, cs: Uint8Array): VectorFile['expected']['a2b'] {
  return { cs: toHex(cs), ik: toHex(k.ik), ...(k.ek ? { ek: toHex(k.ek) } : {}), ...(k.iv ? { iv: toHex(k.iv) } : {}) };
}

function context(provider: CryptoProvider, v: VectorInputs, side: 'initiator' | 'responder', suite: Suite): HandshakeContext {
  const p = v[side];
  return {
    provider,
    identity: loadIdentity({ certificate: p.certificate, privateKey: p.privateKey }, p.id, { provider }),
    verifier: createTrustStore({ roots: [...v.roots] }, { provider }),
    suites: [suite],
    protection: v.protection,
    acceptProtection: [v.protection],
    replayCache: new HandshakeReplayCache(30_000),
    rng: deterministicRng(fromHex(p.rngSeed)),
  };
}

/** Runs the whole session deterministically with `provider` and returns the vector file it yields. */
export async function generateVector(provider: CryptoProvider, v: VectorInputs): Promise<VectorFile> {
  const suite = suiteByName(v.suite);
  const a = context(provider, v, 'initiator', suite);
  const b = context(provider, v, 'responder', suite);
  const t = v.time;
  const early = v.earlyData !== undefined ? fromHex(v.earlyData) : undefined;
  const { pending, frame: hsInit } = initiate(a, v.responder.id, t, early);
  const r = await respond(b, hsInit, v.initiator.id, t);
  const hsResp = responseFrame(r.token);

  // Independent recomputation of the key schedule from the messages and the ephemeral keys (before complete(), which
  // wipes a hybrid ephemeral). [SPEC 6]
  const m1 = hsInit.subarray(1);
  const m2 = decodeHandshakeResponse(hsResp).token;
  const hA = transcriptA(provider, suite, m1);
  const hB = transcriptB(provider, suite, m2, hA);
  const eA = pending.ephemerals.get(suite.group);
  if (!eA) throw new HopsafeError('ERR_STATE', 'no initiator ephemeral');
  const eAPublic = Uint8Array.from(eA.publicKey);
  const bShare = decodeSignedClearToken1(m2).token.keyShares[0];
  if (!bShare) throw new HopsafeError('ERR_STATE', 'no responder share');
  const dhs = completeAgreement(provider, suite.group, eA, bShare.publicKey);

  const c = await complete(a, pending, hsResp, v.responder.id, t);
  const sa = c.session;
  const sb = r.session;
  const cs = initialChainSecrets(provider, suite, dhs, hB);
  const ka = trafficKeys(provider, suite, v.protection, cs.a2b);
  const kb = trafficKeys(provider, suite, v.protection, cs.b2a);

  const records: VectorFile['expected']['records'] = [];
  v.payloads.forEach((p, i) => {
    const direction = i % 2 === 0 ? 'a2b' : 'b2a';
    const [from, to] = direction === 'a2b' ? [sa, sb] : [sb, sa];
    const frame = from.seal(fromHex(p));
    const [d] = to.open(frame, t);
    if (d?.type !== 'data' || toHex(d.payload) !== p) throw new HopsafeError('ERR_STATE', 'record did not round-trip');
    records.push({ direction, payload: p, frame: toHex(frame) });
  });

  // Key update with a fixed ephemeral. [SPEC 7.2]
  const ku = v.keyUpdate;
  const [upd, peer] = ku.direction === 'a2b' ? [sa, sb] : [sb, sa];
  // [SPEC 7.2] the update's DH group (X25519 for the hybrid group).
  const kuGroup = updateGroup(suite.group);
  const kp = provider.kexKeyPair(kuGroup, fromHex(ku.ephemeralPrivateKey));
  const kuFrame = upd.keyUpdate(t, false, kp);
  peer.open(kuFrame, t);
  // The ClearToken2 inside the KEY_UPDATE record, opened independently with the sender's epoch-0 keys.
  const rc = { provider, suite, protection: v.protection };
  const ct2 = openRecord(rc, ku.direction === 'a2b' ? ka : kb, decodeRecordHeader(kuFrame), kuFrame);
  const peerShare = decodeClearToken2(ct2).peerKeyEpoch === 0 ? (ku.direction === 'a2b' ? bShare.publicKey : eAPublic) : undefined;
  if (!peerShare) throw new HopsafeError('ERR_STATE', 'vector key updates start from epoch 0');
  const dh1 = provider.kexDerive(kuGroup, kp.privateKey, updatePublicValue(suite.group, peerShare));
  const next = nextChainSecret(provider, suite, ku.direction === 'a2b' ? cs.a2b : cs.b2a, dh1, ct2);
  const nextKeys = trafficKeys(provider, suite, v.protection, next);
  const after = upd.seal(fromHex(ku.payload));
  const [d] = peer.open(after, t);
  if (d?.type !== 'data' || toHex(d.payload) !== ku.payload) throw new HopsafeError('ERR_STATE', 'post-update record did not round-trip');
  // [SPEC 7.6] The receiver of the update acknowledges: one range for the previous epoch (in grace), one for the new.
  const ackFrame = peer.sealAck(t);
  const [acked] = ackFrame ? upd.open(ackFrame, t) : [];
  if (!ackFrame || acked?.type !== 'ack' || acked.ranges.length !== 2) throw new HopsafeError('ERR_STATE', 'ACK did not round-trip');

  // [SPEC 3.7] The initiator's records of the exchange, coalesced into one BATCH frame; it splits back into them.
  const a2bFrames = records.filter((r) => r.direction === 'a2b').map((r) => fromHex(r.frame));
  const batch = a2bFrames.length >= 2 ? encodeBatch(a2bFrames) : undefined;
  if (batch && decodeBatch(batch).some((r, i) => toHex(r) !== toHex(a2bFrames[i] ?? new Uint8Array(0))))
    throw new HopsafeError('ERR_STATE', 'BATCH did not round-trip');

  return vectorFileSchema.parse({
    version: 1,
    description: v.description,
    suite: v.suite,
    protection: v.protection,
    time: v.time,
    roots: v.roots,
    initiator: v.initiator,
    responder: v.responder,
    ...(v.earlyData !== undefined ? { earlyData: v.earlyData } : {}),
    expected: {
      hsInit: toHex(hsInit),
      hsResp: toHex(hsResp),
      hA: toHex(hA),
      hB: toHex(hB),
      dhs: toHex(dhs),
      a2b: keysHex(ka, cs.a2b),
      b2a: keysHex(kb, cs.b2a),
      records,
      keyUpdate: {
        direction: ku.direction,
        ephemeralPrivateKey: ku.ephemeralPrivateKey,
        frame: toHex(kuFrame),
        next: keysHex(nextKeys, next),
        record: { payload: ku.payload, frame: toHex(after) },
      },
      ack: { direction: ku.direction === 'a2b' ? 'b2a' : 'a2b', frame: toHex(ackFrame) },
      ...(batch ? { batch: { direction: 'a2b', frame: toHex(batch) } } : {}),
    },
  });
}

/** Inputs of a vector file (everything but `expected`) plus the payloads it protects. */
export function inputsOf(f: VectorFile): VectorInputs {
  const ku = f.expected.keyUpdate;
  return {
    description: f.description,
    suite: f.suite,
    protection: f.protection,
    time: f.time,
    roots: f.roots,
    initiator: f.initiator,
    responder: f.responder,
    ...(f.earlyData !== undefined ? { earlyData: f.earlyData } : {}),
    payloads: f.expected.records.map((r) => r.payload),
    keyUpdate: { direction: ku.direction, ephemeralPrivateKey: ku.ephemeralPrivateKey, payload: ku.record.payload },
  };
}

/** Differences between two vector files as JSON paths (empty: identical). */
export function diffVectors(want: unknown, got: unknown, path = '$'): string[] {
  if (typeof want !== 'object' || want === null || typeof got !== 'object' || got === null)
    return want === got ? [] : [`${path}: expected ${JSON.stringify(want)?.slice(0, 80)}, got ${JSON.stringify(got)?.slice(0, 80)}`];
  const keys = new Set([...Object.keys(want), ...Object.keys(got)]);
  const out: string[] = [];
  for (const k of keys) out.push(...diffVectors((want as Record<string, unknown>)[k], (got as Record<string, unknown>)[k], `${path}.${k}`));
  return out;
}

/** Parses (zod) and regenerates a vector file with `provider`; returns the differences. */
export async function verifyVector(provider: CryptoProvider, json: unknown): Promise<string[]> {
  const parsed = vectorFileSchema.safeParse(json);
  if (!parsed.success) return parsed.error.issues.map((i) => `schema: ${i.path.join('.')}: ${i.message}`);
  const regenerated = await generateVector(provider, inputsOf(parsed.data));
  return diffVectors(parsed.data, regenerated);
}
