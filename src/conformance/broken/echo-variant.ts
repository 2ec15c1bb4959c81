/**
 * Deliberately broken implementations under test, for `hopsafe conformance --self-test` only: hopsafe's echo peer
 * with one defect patched into this process (never into product code paths). Run as
 * `node echo-variant.js VARIANT --id ID --cert FILE --key FILE --trust FILE --crl FILE --url URL`.
 * - accepts-replays: the record replay window and the handshake random cache accept everything again;
 * - skips-mac: record tags are not checked, in either mode: the AEAD tag (confidentiality: ciphertext decrypted and
 *   released whatever its tag) and the HMAC (integrity: the received tag is taken for the computed one); nor are
 *   the tags of group frames (a signed group's publisher signature still is);
 * - ignores-freshness: ClearToken1 timestamps are not checked;
 * - ignores-limits: the ClearToken1 decoder's caps on key shares, suites and early data are raised far above the
 *   limits of SPEC 5.2 (the token is otherwise checked as usual). The decoder's other caps are left: hopsafe checks
 *   the certificate count again in the trust store and the id length in the transport (topic parsing), so lifting
 *   them in the decoder alone would not be observable (12.1.6 and 12.1.7 would still pass);
 * - replaces-at-once: a verified HS_INIT from a peer with a live session replaces that session at once, its early
 *   data delivered, without waiting for the initiator to prove the candidate's keys;
 * - group-skips-signature: a member takes every group frame's publisher signature as valid (the tag is still checked,
 *   so only someone holding the group key — a member — can forge);
 * - group-trusts-any-session: a member takes a GroupKey (or a `removed`) for a group it joined from whichever peer's
 *   session carries it, not only the publisher's (the signer check then compares with the carrying session's
 *   certificate);
 * - group-ignores-previous-end: a member accepts the previous epoch during the grace whatever its `previousEnd`.
 * [SPEC 5.2, 5.6, 5.9, 7.1, 7.4, 13.4, 13.6]
 */
import { createDecipheriv } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { createEndpoint } from '../../endpoint/endpoint.js';
import { mqttTransport } from '../../bindings/mqtt.js';
import type { Transport } from '../../transport/transport.js';
import { createNodeProvider } from '../../crypto/node.js';
import type { CryptoProvider } from '../../crypto/provider.js';
import { SUITES } from '../../crypto/suites.js';
import { ReplayWindow } from '../../session/replay.js';
import { Session } from '../../session/session.js';
import { HandshakeReplayCache } from '../../session/freshness.js';
import { PeerMachine } from '../../session/peer.js';
import { TOKEN_LIMITS } from '../../codec/tokens.js';
import { attachEcho, untilStopped } from '../echo.js';
import { GroupManager } from '../../endpoint/groups.js';
import { GroupReceiver } from '../../session/group-receiver.js';
import { GROUP_LABEL } from '../../session/group-keys.js';
import { decodeGroupControl } from '../../codec/group.js';
import { equal } from '../../bytes/index.js';

export const VARIANTS = [
  'accepts-replays',
  'skips-mac',
  'ignores-freshness',
  'ignores-limits',
  'replaces-at-once',
  'group-skips-signature',
  'group-trusts-any-session',
  'group-ignores-previous-end',
] as const;
export type Variant = (typeof VARIANTS)[number];

/** The cases each variant must fail (the self-test checks they do). */
export const CAUGHT_BY: Record<Variant, readonly string[]> = {
  'accepts-replays': ['4.2.2', '6.6.1', '6.6.2', '6.7.2', '9.1.3', '14.4.1', '14.4.2', '14.4.4'],
  'skips-mac': ['6.1.1', '6.1.2', '6.2.1', '6.2.2', '8.1.4', '14.3.2', '14.3.3'],
  'ignores-freshness': ['4.1.1', '4.1.2', '4.1.3'],
  'ignores-limits': ['12.1.3', '12.1.4', '12.1.5'],
  'replaces-at-once': ['1.2.1', '1.2.2'],
  'group-skips-signature': ['14.2.7', '14.6.1'],
  'group-trusts-any-session': ['14.8.1', '14.8.2', '14.8.7'],
  'group-ignores-previous-end': ['14.7.3'],
};

/**
 * Cases each variant must still pass besides 1.1.1: neighbours of the catching cases that test a rule the variant
 * keeps, so a variant is shown caught for its defect, not for being broken in general.
 */
export const STILL_PASSES: Record<Variant, readonly string[]> = {
  'accepts-replays': ['4.1.1', '6.1.1'],
  'skips-mac': ['4.2.2', '6.6.1'],
  'ignores-freshness': ['4.1.4', '4.2.2'],
  'ignores-limits': ['12.1.1', '12.1.6', '12.1.7'],
  'replaces-at-once': ['1.1.2', '4.2.1'],
  'group-skips-signature': ['14.1.1', '14.2.6', '14.6.3'],
  'group-trusts-any-session': ['14.1.1', '14.8.3', '14.8.4'],
  'group-ignores-previous-end': ['14.7.2', '14.7.4'],
};

/** The PeerMachine internals the replaces-at-once variant reaches (private in the product: reached here only). */
interface PeerInternals {
  candidate: unknown;
  responded(this: PeerInternals, r: unknown, now: number): void;
  promote(this: PeerInternals, now: number): void;
}

/** The GroupManager internals the group-trusts-any-session variant reaches (private in the product). */
interface GroupManagerInternals {
  readonly joined: Map<string, { readonly publisher: string; readonly name: string }>;
  onControl(this: GroupManagerInternals, peer: string, bytes: Uint8Array, fingerprint: string, roles: readonly unknown[]): void;
}

/** The GroupReceiver internals the group-ignores-previous-end variant reaches. */
interface GroupReceiverInternals {
  readonly previous: { end: number } | undefined;
  install(this: GroupReceiverInternals, ...args: unknown[]): boolean;
}

/** AEAD decryption that releases the plaintext without checking the tag (the defect). */
function uncheckedOpen(alg: string, key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array, aad: Uint8Array): Uint8Array | null {
  if (sealed.length < 16) return null;
  const d = createDecipheriv(alg as 'aes-128-gcm', key, nonce, { authTagLength: 16 });
  d.setAAD(aad);
  return new Uint8Array(d.update(sealed.subarray(0, sealed.length - 16)));
}

/** Non-zero while a session or group receiver opens a received frame (the skips-mac variant wraps those methods). */
let opening = 0;

/**
 * HMAC that, while a session opens a record, returns the tag the record carries (the defect): `record.ts` MACs a
 * view of the frame whose tag follows it in the same buffer. Sealing (outside `open`) gets the real HMAC.
 */
function uncheckedHmac(provider: CryptoProvider): CryptoProvider['hmac'] {
  return (alg, key, data) => {
    const mac = provider.hmac(alg, key, data);
    const end = data.byteOffset + data.length;
    if (opening === 0 || data.buffer.byteLength - end < mac.length) return mac;
    return new Uint8Array(data.buffer, end, mac.length).slice();
  };
}

/** The names of the methods of `P`. */
type MethodOf<P> = { [K in keyof P]: P[K] extends (...args: never[]) => unknown ? K : never }[keyof P];

/** Wraps method `name` of `proto` so that `opening` counts the calls in progress (for `uncheckedHmac`). */
function countWhileIn<P extends object>(proto: P, name: MethodOf<P>): void {
  const original = proto[name] as (this: unknown, ...args: unknown[]) => unknown;
  proto[name] = function (this: unknown, ...args: unknown[]) {
    opening++;
    try {
      return original.apply(this, args);
    } finally {
      opening--;
    }
  } as P[typeof name];
}

function patch(variant: Variant): CryptoProvider {
  const provider = createNodeProvider();
  switch (variant) {
    case 'accepts-replays':
      ReplayWindow.prototype.check = () => true;
      HandshakeReplayCache.prototype.checkRandom = () => undefined;
      return provider;
    case 'ignores-freshness':
      HandshakeReplayCache.prototype.checkTimestamp = () => undefined;
      return provider;
    case 'ignores-limits':
      // the decoder reads TOKEN_LIMITS at every decode; `as const` is a type, the object itself is writable
      Object.assign(TOKEN_LIMITS as unknown as Record<string, number>, { maxSuites: 256, maxKeyShares: 64, maxEarlyData: 60 * 1024 });
      return provider;
    case 'replaces-at-once': {
      const proto = PeerMachine.prototype as unknown as PeerInternals;
      const responded = proto.responded;
      proto.responded = function (this: PeerInternals, r: unknown, now: number) {
        responded.call(this, r, now);
        if (this.candidate) this.promote(now); // the defect: no proof awaited (SPEC 5.9)
      };
      return provider;
    }
    case 'group-skips-signature': {
      const label = GROUP_LABEL.data;
      return {
        ...provider,
        // the defect: a group frame's signature is never checked (handshake signatures still are)
        verify: (key, data, sig) =>
          (data.length >= label.length && equal(data.subarray(0, label.length), label)) || provider.verify(key, data, sig),
      };
    }
    case 'group-trusts-any-session': {
      const proto = GroupManager.prototype as unknown as GroupManagerInternals;
      const onControl = proto.onControl;
      proto.onControl = function (this: GroupManagerInternals, peer, bytes, fingerprint, roles) {
        let from = peer;
        try {
          const c = decodeGroupControl(bytes);
          // the defect: a key (or removal) for a group we joined is taken from any peer, as if the publisher sent it
          if (c.kind === 'key' || c.kind === 'removed') for (const m of this.joined.values()) if (m.name === c.name) from = m.publisher;
        } catch {
          // refused by the original below
        }
        onControl.call(this, from, bytes, fingerprint, roles);
      };
      return provider;
    }
    case 'group-ignores-previous-end': {
      const proto = GroupReceiver.prototype as unknown as GroupReceiverInternals;
      const install = proto.install;
      proto.install = function (this: GroupReceiverInternals, ...args: unknown[]) {
        const r = install.apply(this, args);
        if (this.previous) this.previous.end = Number.POSITIVE_INFINITY; // the defect (SPEC 13.6 step 3)
        return r;
      };
      return provider;
    }
    case 'skips-mac': {
      countWhileIn(Session.prototype, 'open');
      // group frames too (SPEC 13.6): the tag of an integrity group frame follows the MACed bytes the same way. Both
      // entry points: `receive` opens a frame itself (the header decoded once), `open` opens held frames
      countWhileIn(GroupReceiver.prototype, 'open');
      countWhileIn(GroupReceiver.prototype, 'receive');
      return {
        ...provider,
        aeadOpen: (alg, key, nonce, sealed, aad) =>
          provider.aeadOpen(alg, key, nonce, sealed, aad) ?? uncheckedOpen(alg, key, nonce, sealed, aad),
        hmac: uncheckedHmac(provider),
      };
    }
  }
}

/** The transport of `url`: MQTT (the kit's embedded broker), or AMQP / core NATS (`--broker`), with `prefix`. */
async function transportFor(url: string, prefix: string | undefined): Promise<Transport> {
  if (url.startsWith('amqp')) {
    const { amqpTransport } = await import('../../bindings/amqp.js');
    return amqpTransport({ url, ...(prefix ? { exchange: prefix } : {}) });
  }
  if (url.startsWith('nats')) {
    const { natsTransport } = await import('../../bindings/nats.js');
    const u = new URL(url);
    return natsTransport({ servers: [`${u.hostname}:${u.port || '4222'}`], ...(prefix ? { prefix } : {}) });
  }
  return mqttTransport({ url, ...(prefix ? { prefix } : {}) });
}

async function main(): Promise<void> {
  const [variant, ...rest] = process.argv.slice(2);
  if (!(VARIANTS as readonly string[]).includes(variant ?? '')) throw new Error(`variant must be one of ${VARIANTS.join(', ')}`);
  const { values } = parseArgs({
    args: rest,
    options: {
      id: { type: 'string' },
      cert: { type: 'string' },
      key: { type: 'string' },
      trust: { type: 'string' },
      crl: { type: 'string' },
      url: { type: 'string' },
      prefix: { type: 'string' },
    },
    strict: true,
  });
  const { id, cert, key, trust, crl, url } = values;
  if (!id || !cert || !key || !trust || !crl || !url) throw new Error('--id, --cert, --key, --trust, --crl and --url are required');
  const provider = patch(variant as Variant);
  const ep = await createEndpoint({
    id,
    identity: { certificate: await readFile(cert, 'utf8'), privateKey: await readFile(key, 'utf8') },
    trust: { roots: [await readFile(trust, 'utf8')], crls: [await readFile(crl, 'utf8')] },
    transport: await transportFor(url, values.prefix),
    provider,
    protection: 'confidentiality',
    acceptProtection: ['integrity', 'confidentiality'],
    suites: SUITES.filter((s) => provider.supportsGroup(s.group) && provider.supportsAead(s.aead)).map((s) => s.name),
  });
  attachEcho(ep);
  process.stdout.write(`${JSON.stringify({ event: 'ready', id, variant })}\n`);
  await untilStopped();
  await ep.close();
}

// Run only as a program (the self-test imports VARIANTS and CAUGHT_BY).
if (process.argv[1] !== undefined && /echo-variant\.(ts|js)$/.test(process.argv[1])) {
  main().then(
    () => process.exit(0),
    (e: unknown) => {
      process.stderr.write(`echo-variant: ${e instanceof Error ? e.message : String(e)}\n`);
      process.exit(1);
    },
  );
}
