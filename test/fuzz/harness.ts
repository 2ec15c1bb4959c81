/**
 * Fuzz targets shared by the CI-sized property tests (test/fuzz/*.test.ts) and the long run
 * (scripts/fuzz.mjs): each target has a generator and a runner; the property is that the runner
 * returns or throws a HopsafeError, within a time bound, and (for endpoints) delivers nothing.
 */
import fc from 'fast-check';
import { concat, equal, utf8 } from '../../src/bytes/index.js';
import { createNodeProvider } from '../../src/crypto/node.js';
import { DEFAULT_SUITES, suiteByName } from '../../src/crypto/suites.js';
import { createTrustStore, loadIdentity } from '../../src/pki/index.js';
import { HandshakeReplayCache } from '../../src/session/freshness.js';
import {
  complete,
  initiate,
  respond,
  responseFrame,
  SIGN_CONTEXT,
  type HandshakeContext,
  type PendingHandshake,
} from '../../src/session/handshake.js';
import type { Session } from '../../src/session/session.js';
import { decodeAlert, decodeClearToken2, decodeSignedClearToken1, encodeClearToken2, type ClearToken2 } from '../../src/codec/tokens.js';
import { decodeHandshakeResponse, decodeRecordHeader } from '../../src/codec/frame.js';
import { decodeAck } from '../../src/codec/ack.js';
import { decodeBatch, encodeBatch } from '../../src/codec/batch.js';
import { createMemoryHub } from '../../src/bindings/memory.js';
import { createEndpoint, type Endpoint } from '../../src/endpoint/endpoint.js';
import { createTestPki } from '../../src/testing/index.js';
import { GROUP_IDS } from '../../src/crypto/suites.js';
import { isHopsafeError } from '../../src/errors/index.js';
import * as A from './arbitraries.js';
import { frameKind, PeerMachine, type PeerEnv } from '../../src/session/peer.js';
import { AlertLimiter, HandshakeAdmission } from '../../src/session/admission.js';
import { decodeGroupControl, encodeGroupControl } from '../../src/codec/group.js';
import { GroupSender } from '../../src/session/group-sender.js';
import { GroupReceiver } from '../../src/session/group-receiver.js';

export interface FuzzTarget {
  readonly name: string;
  readonly arb: fc.Arbitrary<Uint8Array>;
  /** Resolves or throws; the property checks what it throws. */
  run(input: Uint8Array): unknown;
}

export interface Harness {
  readonly targets: readonly FuzzTarget[];
  /** Messages the fuzzed endpoint delivered to its application (must stay 0). */
  delivered(): number;
  close(): Promise<void>;
}

const IDS = ['alice', 'bob'] as const;

function context(
  pki: Awaited<ReturnType<typeof createTestPki>>,
  id: string,
  protection: 'integrity' | 'confidentiality',
): HandshakeContext {
  const provider = createNodeProvider();
  return {
    provider,
    identity: loadIdentity(pki.identities[id]!, id, { provider }),
    verifier: createTrustStore({ roots: pki.roots }, { provider }),
    suites: DEFAULT_SUITES.map(suiteByName),
    protection,
    acceptProtection: ['integrity', 'confidentiality'],
    replayCache: new HandshakeReplayCache(30_000, 10_000),
  };
}

export async function createHarness(): Promise<Harness> {
  const pki = await createTestPki({ endpoints: IDS.map((id) => ({ id })) });
  const now = Date.now();
  const a = context(pki, 'alice', 'integrity');
  const b = context(pki, 'bob', 'confidentiality');
  const signA = (tbs: Uint8Array): Uint8Array => a.provider.sign(a.identity.privateKey, concat(SIGN_CONTEXT.initiator, tbs));

  // Genuine material to mutate: an HS_INIT (with early data), its HS_RESP (with a piggybacked record), records, a key update.
  const init = initiate(a, 'bob', now, utf8('early'));
  const r = await respond(b, init.frame, 'alice', now);
  const resp = responseFrame(r.token, r.session.seal(utf8('piggyback')));
  const c = await complete(a, init.pending, resp, 'bob', now);
  const sa: Session = c.session;
  const sb: Session = r.session;
  const records = [sa.seal(utf8('one')), sa.seal(new Uint8Array(40)), sa.sealAlert('ERR_FORBIDDEN', 1)];
  const ku = sa.keyUpdate(now, true);
  records.push(ku, sa.seal(utf8('after update')));
  // [SPEC 7.6] a genuine ACK of the responder's piggybacked record, sealed by a (opened by b like the rest)
  sa.open(decodeHandshakeResponse(resp).record as Uint8Array, now);
  records.push(sa.sealAck(now) as Uint8Array);
  const initToken = decodeSignedClearToken1(init.frame.subarray(1));
  const respToken = decodeSignedClearToken1(decodeHandshakeResponse(resp).token);
  const certs = [...initToken.token.certificates, ...respToken.token.certificates];
  const ct2: ClearToken2 = {
    version: 1,
    newEpoch: 1,
    group: GROUP_IDS.x25519,
    publicKey: new Uint8Array(32).fill(5),
    peerKeyEpoch: 0,
    requestUpdate: false,
  };

  // A pending handshake of alice for complete(); a fresh one every 5000 cases keeps early paths reachable.
  let pending: PendingHandshake = initiate(a, 'bob', now).pending;

  const initMut = A.clearToken1Mutations(initToken.token, now, certs);
  const respMut = A.clearToken1Mutations(respToken.token, now, certs);
  const signB = (tbs: Uint8Array): Uint8Array => b.provider.sign(b.identity.privateKey, tbs);
  const initFrames: fc.Arbitrary<Uint8Array> = fc.oneof(
    {
      weight: 4,
      arbitrary: fc
        .tuple(initMut, fc.boolean())
        .map(([t, resign]) => A.asInit(A.signedToken(t, initToken.signature, resign ? signA : undefined) ?? new Uint8Array(0))),
    },
    { weight: 2, arbitrary: A.mutationsOf([init.frame]) },
    { weight: 1, arbitrary: A.typedGarbage() },
  );
  // For the endpoint: the same without tokens re-signed with alice's genuine key — a re-signed, fresh token
  // with early data IS an authenticated message from alice and may rightly be delivered.
  const forgedInitFrames: fc.Arbitrary<Uint8Array> = fc.oneof(
    {
      weight: 4,
      // a mutation that happens to keep every field is the genuine token again: not a forgery
      arbitrary: initMut
        .map((t) => A.asInit(A.signedToken(t, initToken.signature) ?? new Uint8Array(0)))
        .filter((f) => !equal(f, init.frame)),
    },
    { weight: 2, arbitrary: A.mutationsOf([init.frame]) },
    { weight: 1, arbitrary: A.typedGarbage() },
  );
  const respFrames: fc.Arbitrary<Uint8Array> = fc.oneof(
    {
      weight: 4,
      arbitrary: fc
        .tuple(respMut, fc.boolean(), fc.option(fc.constantFrom(...records), { nil: undefined }))
        .map(([t, resign, rec]) =>
          A.asResp(
            A.signedToken(t, respToken.signature, resign ? (tbs) => signB(concat(SIGN_CONTEXT.responder, tbs)) : undefined) ??
              new Uint8Array(0),
            rec,
          ),
        ),
    },
    { weight: 2, arbitrary: A.mutationsOf([resp]) },
    { weight: 1, arbitrary: A.typedGarbage() },
  );
  const recordArb: fc.Arbitrary<Uint8Array> = fc.oneof(
    { weight: 3, arbitrary: A.recordFrames([sa.id, sb.id]) },
    { weight: 3, arbitrary: A.mutationsOf(records) },
    { weight: 1, arbitrary: A.typedGarbage(64) },
  );

  // [SPEC 3.7] BATCH frames: of genuine and generated records, and mutations of a genuine one.
  const batchArb: fc.Arbitrary<Uint8Array> = fc.oneof(
    {
      weight: 3,
      arbitrary: fc
        .array(fc.oneof(fc.constantFrom(...records), A.recordFrames([sa.id, sb.id])), { minLength: 2, maxLength: 6 })
        .map((rs) => encodeBatch(rs)),
    },
    { weight: 3, arbitrary: A.mutationsOf([encodeBatch(records.slice(0, 3))]) },
    { weight: 1, arbitrary: A.typedGarbage(64) },
  );

  // An endpoint under fuzz, with an established session with its peer on a memory hub.
  const hub = createMemoryHub();
  const epB: Endpoint = await createEndpoint({
    id: 'bob',
    identity: pki.identities.bob!,
    trust: { roots: pki.roots },
    transport: hub.transport(),
    handshakesPerSecond: 1e6,
    maxConcurrentHandshakes: 1e6,
  });
  const epA: Endpoint = await createEndpoint({
    id: 'alice',
    identity: pki.identities.alice!,
    trust: { roots: pki.roots },
    transport: hub.transport(),
  });
  epA.on('reject', () => undefined);
  epB.on('reject', () => undefined);
  let delivered = 0;
  await epA.send('bob', utf8('hello'));
  await new Promise<void>((resolve) => epB.once('message', () => resolve()));
  epB.on('message', () => delivered++);

  // [SPEC 5.7, 5.9, 8.8] The per-peer machine on its own: bob's machine for sender alice, with a live session
  // (established through the machine itself), fed frames the way the endpoint does (HS_INIT screened at arrival).
  const envB: PeerEnv = {
    ctx: b,
    limits: {
      handshakeTimeoutMs: 10_000,
      handshakeRetryMs: 1000,
      maxQueued: 1000,
      offlineStartMs: 0,
      acks: { every: 32, delayMs: 20, track: 1024, timeoutMs: 30_000, gapMs: 500 },
      probeTimeoutMs: 1000,
      maxSessionLifetimeMs: 86_400_000,
    },
    admission: new HandshakeAdmission(
      { handshakesPerSecond: 1e6, handshakesPerSecondPerPeer: 1e6, maxConcurrentHandshakes: 1e6, knownPeerChecksPerSecond: 1e6 },
      now,
    ),
    alerts: new AlertLimiter({ perSecond: 1e6 }, now),
    counters: { sent: 0, received: 0, handshakes: { initiated: 0, completed: 0, failed: 0 }, keyUpdates: { sent: 0, received: 0 } },
    index: { add: () => undefined, remove: () => undefined, heldByOther: () => false },
    authorize: undefined,
    pause: async () => undefined,
  };
  const mB = new PeerMachine('alice', envB);
  const machineInit = initiate(a, 'bob', now);
  const opened = await mB.receive(machineInit.frame, now, mB.screenInit(machineInit.frame, now));
  const respAction = opened.find((x) => x.type === 'transmit');
  if (!respAction || respAction.type !== 'transmit') throw new Error('the machine did not answer the genuine HS_INIT');
  const mSession = (await complete(a, machineInit.pending, respAction.frame, 'bob', now)).session;
  const machineRecords = [
    mSession.seal(utf8('m-one')),
    mSession.seal(new Uint8Array(40)),
    mSession.keyUpdate(now, true),
    mSession.seal(utf8('m-two')),
  ];
  let machineDelivered = 0;
  const machineRun = async (x: Uint8Array): Promise<void> => {
    const t = Date.now();
    const init = frameKind(x) === 'init' ? mB.screenInit(x, t) : undefined;
    if (init) mB.initQueued();
    const acts = await mB.receive(x, t, init);
    for (const act of acts) if (act.type === 'deliver') machineDelivered++;
  };

  // [SPEC 13.4, 13.6] Group decoders: GroupControl DER and GROUP_DATA frames at a member (no signatures: every
  // mutation reaches the MAC; a delivery is a frame the sender sealed, counted as delivered).
  const gSender = new GroupSender({
    ctx: { provider: createNodeProvider(), suite: suiteByName('X25519_AES128GCM_SHA256'), protection: 'confidentiality' },
    groupId: new Uint8Array(16).fill(3),
    sourceAuth: 'none',
    now: Date.now(),
  });
  const gFrames = Array.from({ length: 8 }, (_, i) => gSender.seal(new Uint8Array(i * 9)));
  const gKey = gSender.currentKey();
  const gControls = [
    encodeGroupControl({ kind: 'key', name: 'telemetry', key: gKey }),
    encodeGroupControl({ kind: 'join', name: 'telemetry' }),
    encodeGroupControl({ kind: 'refused', name: 'telemetry', code: 'ERR_FORBIDDEN' }),
  ];
  let gReceiver = new GroupReceiver({ provider: createNodeProvider(), key: gKey });
  let gOpened = 0;
  const targets: FuzzTarget[] = [
    { name: 'decodeGroupControl', arb: fc.oneof(A.mutationsOf(gControls), A.randomBytes(96)), run: (x) => decodeGroupControl(x) },
    {
      name: 'group.open',
      arb: fc.oneof(A.mutationsOf(gFrames), A.randomBytes(64)),
      run: (x) => {
        gReceiver.open(x, Date.now());
        // only a genuine frame (byte for byte) may open; a fresh receiver keeps the window from filling up
        if (!gFrames.some((f) => f.length === x.length && f.every((b, i) => b === x[i]))) throw new Error('a mutated group frame opened');
        if (++gOpened % 8 === 0) gReceiver = new GroupReceiver({ provider: createNodeProvider(), key: gKey });
      },
    },
    {
      name: 'decodeSignedClearToken1',
      arb: fc.oneof(
        initFrames.map((f) => f.subarray(1)),
        A.randomBytes(),
      ),
      run: (x) => decodeSignedClearToken1(x),
    },
    {
      name: 'decodeClearToken2',
      arb: fc.oneof(A.clearToken2Mutations(ct2), A.mutationsOf([encodeClearToken2(ct2)]), A.randomBytes(64)),
      run: (x) => decodeClearToken2(x),
    },
    { name: 'decodeAlert', arb: fc.oneof(A.alertMutations(), A.randomBytes(64)), run: (x) => decodeAlert(x) },
    { name: 'decodeAck', arb: fc.oneof(A.ackMutations(), A.randomBytes(64)), run: (x) => decodeAck(x) },
    { name: 'decodeBatch', arb: batchArb, run: (x) => decodeBatch(x) },
    { name: 'decodeRecordHeader', arb: fc.oneof(recordArb, A.randomBytes(24)), run: (x) => decodeRecordHeader(x) },
    { name: 'respond', arb: initFrames, run: (x) => respond(b, x, 'alice', Date.now()) },
    {
      name: 'complete',
      arb: respFrames,
      run: (x) =>
        complete(a, pending, x, 'bob', Date.now()).then((done) => {
          done.session.destroy();
          pending = initiate(a, 'bob', Date.now()).pending; // a forged response that completes (re-signed by bob's own key) needs a new pending one
        }),
    },
    { name: 'session.open', arb: recordArb, run: (x) => (x.length % 2 === 0 ? sb : sa).open(x, Date.now()) },
    {
      name: 'peer.receive',
      arb: fc.oneof(forgedInitFrames, respFrames, A.mutationsOf(machineRecords), recordArb, batchArb, A.randomBytes()),
      run: machineRun,
    },
    {
      name: 'endpoint.onFrame',
      arb: fc.oneof(forgedInitFrames, respFrames, recordArb, batchArb, A.randomBytes()),
      run: async (x) => {
        const p = epB.onFrame({ from: 'alice', bytes: x });
        if (!(p instanceof Promise)) throw new Error('onFrame must return a promise');
        await p; // must never reject
      },
    },
  ];
  return {
    targets,
    delivered: () => delivered + machineDelivered,
    async close() {
      sa.destroy();
      sb.destroy();
      mSession.destroy();
      await Promise.all([epA.close(), epB.close()]);
    },
  };
}

export interface CaseResult {
  readonly ok: boolean;
  /**
   * Known bug (reported, src/codec/der.ts is not ours): asn1js throws plain Errors/RangeErrors while
   * parsing universal types hopsafe never uses (GeneralizedTime 0x18, UniversalString 0x1c, BMPString
   * 0x1e, …) and `der.decode` lets them through instead of turning them into ERR_MALFORMED.
   * Counted separately; test/fuzz/der-leak.test.ts holds the failing (todo) test.
   */
  readonly asn1Leak?: boolean;
  readonly error?: string;
  readonly ms: number;
}

export function isAsn1jsLeak(e: unknown): boolean {
  return e instanceof Error && !isHopsafeError(e) && /[\\/]asn1js[\\/]/.test(e.stack ?? '');
}

/** Runs one case: ok when it returned or threw a HopsafeError within `timeoutMs`. */
export async function runCase(t: FuzzTarget, input: Uint8Array, timeoutMs: number): Promise<CaseResult> {
  const start = performance.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    const r = t.run(input);
    if (r instanceof Promise) {
      await Promise.race([
        r,
        new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`hung > ${timeoutMs} ms`)), timeoutMs))),
      ]);
    }
    return { ok: true, ms: performance.now() - start };
  } catch (e) {
    const ms = performance.now() - start;
    if (isHopsafeError(e)) return { ok: true, ms };
    if (isAsn1jsLeak(e)) return { ok: true, asn1Leak: true, error: e instanceof Error ? `${e.name}: ${e.message}` : String(e), ms };
    return { ok: false, error: e instanceof Error ? `${e.name}: ${e.message}` : String(e), ms };
  } finally {
    if (timer) clearTimeout(timer);
  }
}
