/**
 * One-round-trip handshake: the initiator's signed ClearToken1 and the responder's signed
 * ClearToken1 reply. [SPEC 5]
 * Order of checks on receipt (cheap first, so floods cost little): size → DER → version/role →
 * ids → freshness → replay → negotiation → certificate chain → signature. [SPEC 5.7]
 */
import type { FramePool } from '../bytes/frame-pool.js';
import { HopsafeError } from '../errors/index.js';
import { signWith } from '../crypto/signer.js';
import { concat, equal, utf8, wipe } from '../bytes/index.js';
import type { CryptoProvider, KeyPair } from '../crypto/provider.js';
import {
  completeAgreement,
  initiatorEphemeral,
  respondAgreement,
  updateKeyPair,
  updatePublicValue,
  retireHandshakeEphemeral,
} from '../crypto/key-agreement.js';
import { GROUP_IDS, SIGNATURE_IDS, groupFromId, signatureFromId, suiteById, type Suite } from '../crypto/suites.js';
import {
  decodeSignedClearToken1,
  encodeClearToken1,
  encodeSignedClearToken1,
  RANDOM_LENGTH,
  TOKEN_LIMITS,
  TOKEN_VERSION,
  type ClearToken1,
  type Protection,
  type SignedClearToken1,
} from '../codec/tokens.js';
import {
  decodeHandshakeResponse,
  encodeHandshakeInit,
  encodeHandshakeResponse,
  frameType,
  FrameType,
  SESSION_ID_LENGTH,
} from '../codec/frame.js';
import type { LocalIdentity, PeerVerifier, VerifiedPeer } from '../pki/types.js';
import { initialChainSecrets, transcriptA, transcriptB } from './key-schedule.js';
import { HandshakeReplayCache } from './freshness.js';
import { Session, type HoldBudget, type SessionOptions } from './session.js';

/** [SPEC 5.3] Signature contexts. */
export const SIGN_CONTEXT = {
  initiator: utf8('hopsafe/1 ClearToken1 initiator\0'),
  responder: utf8('hopsafe/1 ClearToken1 responder\0'),
} as const;

export const DEFAULT_MAX_HANDSHAKE = 64 * 1024;

export interface HandshakeContext {
  readonly provider: CryptoProvider;
  readonly identity: LocalIdentity;
  readonly verifier: PeerVerifier;
  /** Suites this side offers (initiator, in preference order) and accepts (responder). */
  readonly suites: readonly Suite[];
  /** Mode requested when initiating. */
  readonly protection: Protection;
  /** Modes accepted when responding. */
  readonly acceptProtection: readonly Protection[];
  readonly replayCache: HandshakeReplayCache;
  readonly maxHandshakeSize?: number;
  readonly sessionOptions?: Partial<SessionOptions>;
  /** [SPEC 7.3] Bound on held frames across the sessions this context creates. */
  readonly holdBudget?: HoldBudget;
  /** Where the sessions this context creates seal large DATA frames (SessionInit.framePool). */
  readonly framePool?: FramePool;
  /** Deterministic randomness for test vectors; defaults to the provider's CSPRNG. */
  readonly rng?: (length: number) => Uint8Array;
}

export interface PendingHandshake {
  readonly sessionId: Uint8Array;
  readonly peerId: string;
  readonly protection: Protection;
  readonly offered: readonly Suite[];
  readonly ephemerals: ReadonlyMap<string, KeyPair>;
  /** The initiator's SignedClearToken1 (DER) = transcript message m1. */
  readonly m1: Uint8Array;
  readonly createdAt: number;
}

export interface Established {
  readonly session: Session;
  readonly peer: VerifiedPeer;
}

function rand(ctx: HandshakeContext, n: number): Uint8Array {
  return ctx.rng ? ctx.rng(n) : ctx.provider.randomBytes(n);
}

/** [SPEC 5.4, 11.1] The initiator's ephemeral for a suite's group (hybrid: X25519 ‖ ML-KEM-768). */
function keyPair(ctx: HandshakeContext, s: Suite): KeyPair {
  return initiatorEphemeral(ctx.provider, s.group, ctx.rng);
}

/** [SPEC 4.3, 10.6] Our signature: the provider's (synchronous), or the identity's asynchronous signer's. */
function sign(ctx: HandshakeContext, context: Uint8Array, ...parts: Uint8Array[]): Uint8Array | Promise<Uint8Array> {
  const data = concat(context, ...parts);
  const signer = ctx.identity.signer;
  return signer ? signWith(signer, data) : ctx.provider.sign(ctx.identity.privateKey, data);
}

function signatureId(ctx: HandshakeContext): number {
  return SIGNATURE_IDS[ctx.identity.privateKey.signatureAlg];
}

/** [SPEC 5.2, 5.4] Key shares in a ClearToken1 (one per distinct group): at most the decoder's limit. */
export const MAX_OFFERED_GROUPS: number = TOKEN_LIMITS.maxKeyShares;

/**
 * [SPEC 4.1, 5.4] What an initiator with these (usable) suites offers, in their order: the suites of its first
 * four distinct groups (one key share each); those of a fifth or later group are left out.
 */
export function offeredSuites(suites: readonly Suite[]): Suite[] {
  const groups = new Set<string>();
  return suites.filter((s) => {
    if (!groups.has(s.group) && groups.size < MAX_OFFERED_GROUPS) groups.add(s.group);
    return groups.has(s.group);
  });
}

/** A started handshake: what to keep until the response, and the HS_INIT frame to send. */
export interface Initiated {
  readonly pending: PendingHandshake;
  readonly frame: Uint8Array;
}

/** [SPEC 5.3] An initiator's ClearToken1 before its signature: `tbs` is what is signed (after the context). */
export interface UnsignedInit {
  readonly pending: Omit<PendingHandshake, 'm1'>;
  readonly tbs: Uint8Array;
}

/**
 * [SPEC 5.3] Builds the initiator's HS_INIT frame. `earlyData` is allowed in integrity mode only. Synchronous: an
 * identity with an asynchronous signer (SPEC 10.6) needs `initiateAsync` (ERR_CONFIG here).
 */
export function initiate(
  ctx: HandshakeContext,
  peerId: string,
  now: number,
  earlyData?: Uint8Array,
  /** [SPEC 5.11] The session id of the stale token this one replaces (default: a new random one). */
  reuseSessionId?: Uint8Array,
): Initiated {
  if (ctx.identity.signer) throw new HopsafeError('ERR_CONFIG', 'this identity signs asynchronously: use initiateAsync');
  const u = prepareInit(ctx, peerId, now, earlyData, reuseSessionId);
  return signedInit(u, ctx.provider.sign(ctx.identity.privateKey, concat(SIGN_CONTEXT.initiator, u.tbs)));
}

/** [SPEC 5.3, 10.6] `initiate` with either kind of key: the signature is awaited when the identity's signer is asynchronous. */
export async function initiateAsync(ctx: HandshakeContext, peerId: string, now: number, earlyData?: Uint8Array): Promise<Initiated> {
  const u = prepareInit(ctx, peerId, now, earlyData);
  return signedInit(u, await sign(ctx, SIGN_CONTEXT.initiator, u.tbs));
}

/** [SPEC 5.3] The initiator's HS_INIT once its ClearToken1 is signed. */
export function signedInit(u: UnsignedInit, signature: Uint8Array): Initiated {
  const m1 = encodeSignedClearToken1(u.tbs, signature);
  return { pending: { ...u.pending, m1 }, frame: encodeHandshakeInit(m1) };
}

/** [SPEC 5.3] The initiator's ClearToken1 (ephemerals made, nothing signed yet). */
export function prepareInit(
  ctx: HandshakeContext,
  peerId: string,
  now: number,
  earlyData?: Uint8Array,
  /** [SPEC 5.11] The session id of the stale token this one replaces (default: a new random one). */
  reuseSessionId?: Uint8Array,
): UnsignedInit {
  if (earlyData && ctx.protection !== 'integrity')
    throw new HopsafeError('ERR_CONFIG', 'early data rides in the clear-signed token: integrity mode only');
  const usable = ctx.suites.filter((s) => ctx.provider.supportsGroup(s.group) && ctx.provider.supportsAead(s.aead));
  if (usable.length === 0) throw new HopsafeError('ERR_NEGOTIATION', 'no usable suite');
  const offered = offeredSuites(usable);
  const ephemerals = new Map<string, KeyPair>();
  for (const s of offered) if (!ephemerals.has(s.group)) ephemerals.set(s.group, keyPair(ctx, s));
  const sessionId = reuseSessionId ? Uint8Array.from(reuseSessionId) : rand(ctx, SESSION_ID_LENGTH);
  const token: ClearToken1 = {
    version: TOKEN_VERSION,
    role: 'initiator',
    sessionId,
    senderId: ctx.identity.id,
    receiverId: peerId,
    timestamp: now,
    random: rand(ctx, RANDOM_LENGTH),
    protection: ctx.protection,
    suites: offered.map((s) => s.id),
    keyShares: [...ephemerals].map(([g, kp]) => ({ group: GROUP_IDS[g as Suite['group']], publicKey: kp.publicKey })),
    signatureAlgorithm: signatureId(ctx),
    certificates: ctx.identity.chain,
    ...(ctx.identity.attributeCertificates.length > 0 ? { attributeCertificates: ctx.identity.attributeCertificates } : {}),
    ...(earlyData ? { earlyData } : {}),
  };
  return {
    pending: { sessionId, peerId, protection: ctx.protection, offered, ephemerals, createdAt: now },
    tbs: encodeClearToken1(token),
  };
}

function decodeHandshake(ctx: HandshakeContext, bytes: Uint8Array, type: FrameType): SignedClearToken1 {
  const max = ctx.maxHandshakeSize ?? DEFAULT_MAX_HANDSHAKE;
  if (bytes.length > max) throw new HopsafeError('ERR_TOO_LARGE', 'handshake frame too large');
  if (frameType(bytes) !== type) throw new HopsafeError('ERR_MALFORMED', 'unexpected frame type');
  return decodeSignedClearToken1(type === FrameType.HS_INIT ? bytes.subarray(1) : decodeHandshakeResponse(bytes).token);
}

/** [SPEC 5.7] Certificate chain, then the token signature. */
async function authenticate(ctx: HandshakeContext, st: SignedClearToken1, now: number, signed: Uint8Array): Promise<VerifiedPeer> {
  const alg = signatureFromId(st.token.signatureAlgorithm);
  if (!alg) throw new HopsafeError('ERR_UNSUPPORTED', 'unknown signature algorithm');
  const peer = await ctx.verifier.verify({
    chain: st.token.certificates,
    ...(st.token.attributeCertificates ? { attributeCertificates: st.token.attributeCertificates } : {}),
    claimedId: st.token.senderId,
    now: new Date(now),
  });
  // [SPEC 5.7] The algorithm named in the token must be the one the certificate key implies.
  if (peer.publicKey.signatureAlg !== alg)
    throw new HopsafeError('ERR_BAD_SIGNATURE', 'signature algorithm does not match the certificate key');
  if (!ctx.provider.verify(peer.publicKey, signed, st.signature)) throw new HopsafeError('ERR_BAD_SIGNATURE', 'token signature invalid');
  return peer;
}

export interface Responded extends Established {
  /**
   * The responder's SignedClearToken1 (m2). Send it with `responseFrame(token, record?)`, where
   * `record` may be a first DATA record sealed with `session` (piggybacked payload). [SPEC 3.4]
   */
  readonly token: Uint8Array;
  /** The initiator's early data (integrity mode), authenticated by its signature. */
  readonly earlyData?: Uint8Array;
}

/** An HS_INIT that passed the cheap checks (§5.7) and awaits authentication. */
export interface Prechecked {
  readonly st: SignedClearToken1;
  readonly suite: Suite;
  readonly share: Uint8Array;
}

/**
 * [SPEC 5.4 steps 1–5, 5.7] The cheap checks of an HS_INIT from transport sender `from`: size, DER,
 * version, role, ids, freshness, replay, negotiation. No certificate or signature work: callers
 * apply their rate limits after this and before `respondPrechecked`.
 */
export function precheckInit(ctx: HandshakeContext, bytes: Uint8Array, from: string, now: number): Prechecked {
  const st = decodeHandshake(ctx, bytes, FrameType.HS_INIT);
  const t = st.token;
  if (t.role !== 'initiator') throw new HopsafeError('ERR_MALFORMED', 'expected an initiator token');
  // [SPEC 5.4] Both ids are bound: the token must be addressed to us and come from whom the transport says.
  if (t.receiverId !== ctx.identity.id || t.senderId !== from)
    throw new HopsafeError('ERR_WRONG_PEER', 'token addressed to/from another endpoint');
  ctx.replayCache.checkTimestamp(t.timestamp, now);
  ctx.replayCache.checkRandom(t.random, now);
  if (!ctx.acceptProtection.includes(t.protection)) throw new HopsafeError('ERR_NEGOTIATION', `protection ${t.protection} not accepted`);
  if (t.earlyData && t.protection !== 'integrity') throw new HopsafeError('ERR_NEGOTIATION', 'early data outside integrity mode');
  // [SPEC 5.5] Selection: the initiator's most preferred suite that we accept (listed, group and AEAD supported by
  // our provider) and it sent a key share for.
  const accepted = new Set(
    ctx.suites.filter((s) => ctx.provider.supportsGroup(s.group) && ctx.provider.supportsAead(s.aead)).map((s) => s.id),
  );
  for (const id of t.suites) {
    const s = suiteById(id);
    if (!s || !accepted.has(id)) continue;
    const ks = t.keyShares.find((k) => groupFromId(k.group) === s.group);
    if (ks) return { st, suite: s, share: ks.publicKey };
  }
  throw new HopsafeError('ERR_NEGOTIATION', 'no common suite');
}

/** [SPEC 5.4] Responder: verifies an HS_INIT from transport sender `from` and answers it. */
export async function respond(ctx: HandshakeContext, bytes: Uint8Array, from: string, now: number): Promise<Responded> {
  return respondPrechecked(ctx, precheckInit(ctx, bytes, from, now), now);
}

/** [SPEC 5.4 steps 6–7] Certificate chain and signature of a prechecked HS_INIT, then the response. */
export async function respondPrechecked(ctx: HandshakeContext, p: Prechecked, now: number): Promise<Responded> {
  const { st, suite, share } = p;
  const t = st.token;
  const peer = await authenticate(ctx, st, now, concat(SIGN_CONTEXT.initiator, st.tbs));
  // [SPEC 5.6] Checked again after verification: a copy verified meanwhile (duplicated by an intermediary, or
  // re-sent by the initiator) must not make a second session.
  ctx.replayCache.checkRandom(t.random, now);
  ctx.replayCache.add(t.random, t.timestamp, now);

  // [SPEC 4.2, 6.2] DHS: X25519/EC DH, or the hybrid's ML-KEM ‖ X25519 secrets (encapsulating to the initiator's key).
  const agreed = respondAgreement(ctx.provider, suite.group, share, ctx.rng);
  const dhs = agreed.secret;
  const reply: ClearToken1 = {
    version: TOKEN_VERSION,
    role: 'responder',
    sessionId: t.sessionId,
    senderId: ctx.identity.id,
    receiverId: t.senderId,
    timestamp: now,
    random: rand(ctx, RANDOM_LENGTH),
    protection: t.protection,
    suites: [suite.id],
    keyShares: [{ group: GROUP_IDS[suite.group], publicKey: agreed.share }],
    signatureAlgorithm: signatureId(ctx),
    certificates: ctx.identity.chain,
    ...(ctx.identity.attributeCertificates.length > 0 ? { attributeCertificates: ctx.identity.attributeCertificates } : {}),
  };
  const hA = transcriptA(ctx.provider, suite, st.encoded);
  const tbs = encodeClearToken1(reply);
  const m2 = encodeSignedClearToken1(tbs, await sign(ctx, SIGN_CONTEXT.responder, hA, tbs));
  const hB = transcriptB(ctx.provider, suite, m2, hA);
  const session = new Session({
    provider: ctx.provider,
    suite,
    protection: t.protection,
    role: 'responder',
    sessionId: t.sessionId,
    localId: ctx.identity.id,
    peer,
    chainSecrets: initialChainSecrets(ctx.provider, suite, dhs, hB),
    // [SPEC 7.2] key updates combine DH values: the hybrid's X25519 parts.
    localEphemeral: agreed.keyPair,
    peerEphemeral: updatePublicValue(suite.group, share),
    now,
    ...(ctx.sessionOptions ? { options: ctx.sessionOptions } : {}),
    ...(ctx.holdBudget ? { holdBudget: ctx.holdBudget } : {}),
    ...(ctx.framePool ? { framePool: ctx.framePool } : {}),
  });
  wipe(dhs);
  return { session, peer, token: m2, ...(t.earlyData ? { earlyData: t.earlyData } : {}) };
}

/** [SPEC 3.4] The HS_RESP frame: the responder's token, optionally followed by one sealed record. */
export function responseFrame(token: Uint8Array, record?: Uint8Array): Uint8Array {
  return encodeHandshakeResponse(token, record);
}

export interface Completed extends Established {
  /** A record piggybacked on the response, to be passed to `session.open`. */
  readonly record?: Uint8Array;
}

/** [SPEC 5.4] Initiator: verifies the HS_RESP for `pending` and establishes the session. */
export async function complete(
  ctx: HandshakeContext,
  pending: PendingHandshake,
  bytes: Uint8Array,
  from: string,
  now: number,
): Promise<Completed> {
  const frame = decodeHandshakeResponse(bytes);
  const st = decodeHandshake(ctx, bytes, FrameType.HS_RESP);
  const t = st.token;
  if (t.role !== 'responder') throw new HopsafeError('ERR_MALFORMED', 'expected a responder token');
  if (!equal(t.sessionId, pending.sessionId)) throw new HopsafeError('ERR_UNKNOWN_SESSION', 'response to another handshake');
  if (t.receiverId !== ctx.identity.id || t.senderId !== pending.peerId || from !== pending.peerId)
    throw new HopsafeError('ERR_WRONG_PEER', 'response from/to another endpoint');
  // [SPEC 5.5] Downgrade protection: the choice must come from our offer; the responder's signature covers hA, i.e. our offer.
  const suite = t.suites.length === 1 ? pending.offered.find((s) => s.id === t.suites[0]) : undefined;
  if (!suite) throw new HopsafeError('ERR_NEGOTIATION', 'selected suite was not offered');
  if (t.protection !== pending.protection) throw new HopsafeError('ERR_NEGOTIATION', 'protection mode changed');
  const ks = t.keyShares.length === 1 ? t.keyShares[0] : undefined;
  const mine = pending.ephemerals.get(suite.group);
  if (!ks || groupFromId(ks.group) !== suite.group || !mine)
    throw new HopsafeError('ERR_NEGOTIATION', 'key share does not match the suite');
  if (t.earlyData) throw new HopsafeError('ERR_MALFORMED', 'early data in a response');

  const hA = transcriptA(ctx.provider, suite, pending.m1);
  const peer = await authenticate(ctx, st, now, concat(SIGN_CONTEXT.responder, hA, st.tbs));
  const hB = transcriptB(ctx.provider, suite, st.encoded, hA);
  const dhs = completeAgreement(ctx.provider, suite.group, mine, ks.publicKey);
  const session = new Session({
    provider: ctx.provider,
    suite,
    protection: pending.protection,
    role: 'initiator',
    sessionId: pending.sessionId,
    localId: ctx.identity.id,
    peer,
    chainSecrets: initialChainSecrets(ctx.provider, suite, dhs, hB),
    localEphemeral: updateKeyPair(suite.group, mine),
    peerEphemeral: updatePublicValue(suite.group, ks.publicKey),
    now,
    ...(ctx.sessionOptions ? { options: ctx.sessionOptions } : {}),
    ...(ctx.holdBudget ? { holdBudget: ctx.holdBudget } : {}),
    ...(ctx.framePool ? { framePool: ctx.framePool } : {}),
  });
  wipe(dhs);
  retireHandshakeEphemeral(suite.group, mine);
  for (const [g, kp] of pending.ephemerals) if (g !== suite.group) wipe(kp.privateKey);
  return frame.record ? { session, peer, record: frame.record } : { session, peer };
}
