/**
 * Group 14: groups, the IUT as a member. The kit is the publisher: it opens the pairwise session, asks the IUT to
 * join (control message `join`, Annex C.2), answers the IUT's GROUP_CTRL `join` with GroupKeys, and publishes
 * GROUP_DATA frames on the group address; the IUT echoes every group message it accepts to the publisher on the
 * pairwise session. Genuine messages, bit flips in every region, replays, epochs and rotation, source
 * authentication, key distribution from the wrong session, and limits. [SPEC 13, Annex C.2]
 */
import { concat } from '../../bytes/index.js';
import { encodeGroupControl, encodeGroupHeader, decodeGroupHeader, type SourceAuth } from '../../codec/group.js';
import type { Protection } from '../../codec/tokens.js';
import { CaseFailure, defineCase, Verdict, type CaseEnv, type CaseResult, type ConformanceCase, type RunState } from '../case.js';
import { isJoin, KitGroup, type KitGroupOptions } from '../kit-group.js';
import type { KitParty } from '../party.js';
import { fillWindow, stillAnswers } from './helpers.js';

/** The case group's number (one constant, should the annex renumber the groups). */
export const GROUP_CASES = '14';
const id = (sub: number, n: number): string => `${GROUP_CASES}.${sub}.${n}`;

/** The group name of a case (and of its siblings). */
const nameFor = (env: CaseEnv, suffix?: string): string => `conf ${env.caseId}${suffix ? ` ${suffix}` : ''}`;

/** Thrown when the IUT does not implement groups as a member: the case is informational (Annex C.2). */
class NoGroups extends Error {}

/** Runs in which the IUT sent no GROUP_CTRL join: the later group cases do not wait for one again. */
const withoutGroups = new WeakSet<RunState>();
/** Runs in which the IUT has joined a group. */
const joinedOnce = new WeakSet<RunState>();

/**
 * [Annex C.2] Asks the IUT to join group `name` of `p` and waits for its GROUP_CTRL `join` (SPEC 13.7). No `join`
 * at all, in the first group case of a run, means the IUT does not implement groups (informational from then on);
 * no `join` once one came is a failure.
 */
async function askJoin(env: CaseEnv, p: KitParty, name: string): Promise<void> {
  if (!env.wire.supportsGroups) throw new NoGroups('the kit publishes group frames on its embedded MQTT broker only, not over --broker');
  if (withoutGroups.has(env.state)) throw new NoGroups('the IUT sent no GROUP_CTRL join in an earlier group case');
  const since = p.events.length;
  await p.control({ op: 'join', name });
  const j = await p.waitFor((e) => isJoin(e, name), env.timeoutMs, since);
  if (j) {
    joinedOnce.add(env.state);
    return;
  }
  if (!joinedOnce.has(env.state)) {
    withoutGroups.add(env.state);
    throw new NoGroups('the IUT sent no GROUP_CTRL join after the join control message: it does not implement groups as a member');
  }
  throw new CaseFailure(`the IUT sent no GROUP_CTRL join for group "${name}" after the join control message`);
}

/** Runs `run`; a NoGroups makes the case informational. */
async function orInformational(run: () => Promise<CaseResult>): Promise<CaseResult> {
  try {
    return await run();
  } catch (e) {
    if (e instanceof NoGroups) return { outcome: 'informational', reason: `${e.message} (SPEC 13)` };
    throw e;
  }
}

/**
 * Publishes fresh genuine group messages until one is echoed: the IUT subscribes to the group address after it
 * accepted the key (SPEC 13.7), and the kit cannot see the subscription itself. Frames published before it are lost
 * (the broker has no subscriber for them); each is intended once, so none may be echoed twice.
 */
async function probe(env: CaseEnv, g: KitGroup): Promise<boolean> {
  const deadline = Date.now() + Math.max(2 * env.timeoutMs, 3000);
  for (let i = 0; Date.now() < deadline; i++) {
    const x = env.payload(`probe ${i}`);
    await g.send(x);
    if (await g.publisher.waitEcho(x, Math.min(250 * (i + 1), 1000))) return true;
  }
  return false;
}

/** A member of a new group of `p` (or of a new connected party): joined, key handed over, a genuine message echoed. */
async function member(env: CaseEnv, o: KitGroupOptions & { party?: KitParty; name?: string } = {}): Promise<KitGroup> {
  const p = o.party ?? (await env.connected());
  const g = new KitGroup(p, o.name ?? nameFor(env), o);
  await askJoin(env, p, g.name);
  await g.sendControl(g.control());
  if (!(await probe(env, g))) throw new CaseFailure('the IUT did not echo a genuine group message after it got the key');
  return g;
}

/**
 * The end of every group case: a genuine group message is still echoed, so is a genuine pairwise one, and nothing
 * the kit did not mean to be accepted was echoed (group echoes come to the publisher in acceptance order too).
 */
async function groupAnswers(env: CaseEnv, g: KitGroup, v: Verdict): Promise<void> {
  const x = env.payload('genuine group message');
  await g.send(x);
  v.fail(!(await g.publisher.waitEcho(x)), 'the IUT did not echo a genuine group message after the attack');
  await stillAnswers(env, g.publisher, v);
}

/** A case on a joined group: the attack, then the closing check. */
function groupCase(
  caseId: string,
  title: string,
  clause: string,
  o: KitGroupOptions,
  run: (env: CaseEnv, g: KitGroup, v: Verdict) => Promise<void>,
): ConformanceCase {
  return defineCase(caseId, title, clause, (env) =>
    orInformational(async () => {
      const v = new Verdict();
      const g = await member(env, o);
      await run(env, g, v);
      await groupAnswers(env, g, v);
      return v.result();
    }),
  );
}

/**
 * A case whose key distribution is the attack: the IUT asks to join, `run` hands it something it must refuse and
 * publishes frames only an IUT that took it would accept; then the genuine key follows and the group must work.
 */
function keyCase(
  caseId: string,
  title: string,
  clause: string,
  o: KitGroupOptions,
  run: (env: CaseEnv, g: KitGroup, v: Verdict) => Promise<void>,
): ConformanceCase {
  return defineCase(caseId, title, clause, (env) =>
    orInformational(async () => {
      const v = new Verdict();
      const p = await env.connected();
      const g = new KitGroup(p, nameFor(env), o);
      await askJoin(env, p, g.name);
      await run(env, g, v);
      await env.settle();
      await g.sendControl(g.control());
      v.fail(!(await probe(env, g)), 'the genuine GroupKey that followed was not taken (no group message echoed)');
      await groupAnswers(env, g, v);
      return v.result();
    }),
  );
}

/** Publishes `frames` (sealed for the group, never intended) twice, a settle time apart (a subscription in flight). */
async function publishUnwanted(env: CaseEnv, g: KitGroup, frames: () => Uint8Array[], address = g.address): Promise<void> {
  for (const f of frames()) await g.publish(f, address);
  await env.settle();
  for (const f of frames()) await g.publish(f, address);
}

/** Flips bit `bit` (MSB first) of byte `at` (negative: from the end). */
function flipAt(frame: Uint8Array, at: number, bit = 7): Uint8Array {
  const out = frame.slice();
  const i = at < 0 ? out.length + at : at;
  out[i] = (out[i] as number) ^ (0x80 >>> bit);
  return out;
}

/** [SPEC 13.3] Byte offsets of the regions of a group frame. */
function regions(g: KitGroup, f: Uint8Array): { header: number; tag: number; signature: number; end: number } {
  const h = decodeGroupHeader(f);
  const signed = g.sourceAuth === 'signature';
  const sigLen = signed ? ((f[f.length - 2] as number) << 8) | (f[f.length - 1] as number) : 0;
  const end = signed ? f.length - 2 - sigLen : f.length;
  const tl = g.ctx.protection === 'integrity' ? g.ctx.provider.hashLength(g.ctx.suite.hash) : 16;
  return { header: h.length, tag: end - tl, signature: end, end: f.length };
}

type Flip = readonly [what: string, at: (g: KitGroup, f: Uint8Array) => number, bit: number];
const FLIPS_SIGNED: readonly Flip[] = [
  ['header (type byte)', () => 0, 4],
  ['header (group id)', () => 16, 7],
  ['header (epoch)', () => 18, 7],
  ['header (sequence number)', () => 19, 7],
  ['ciphertext', (g, f) => regions(g, f).header + 1, 0],
  ['tag', (g, f) => regions(g, f).signature - 1, 7],
  ['signature', (g, f) => regions(g, f).signature + 8, 3],
  ['signature length', () => -1, 7],
];
const FLIPS_UNSIGNED: readonly Flip[] = [
  ['header (sequence number)', () => 19, 7],
  ['payload', (g, f) => regions(g, f).header + 1, 0],
  ['tag', () => -1, 7],
];

const flipCases = (sub: number, protection: Protection, sourceAuth: SourceAuth, flips: readonly Flip[]): ConformanceCase[] =>
  flips.map(([what, at, bit], i) =>
    groupCase(
      id(sub, i + 1),
      `${protection}, ${sourceAuth === 'signature' ? 'signed' : 'unsigned'}: a group frame with one bit flipped in its ${what} is not accepted`,
      'SPEC 13.3, 13.6',
      { protection, sourceAuth },
      async (env, g) => {
        const f = g.seal(env.payload(`flip ${what}`));
        await g.publish(flipAt(f, at(g, f), bit));
      },
    ),
  );

/** The DER of `der` with its outer length in long form (not canonical, SPEC 13.4). */
function longFormLength(der: Uint8Array): Uint8Array {
  const len = der[1] as number;
  if (len >= 0x80) throw new Error('the GroupControl is long already');
  return concat(Uint8Array.of(der[0] as number, 0x81, len), der.subarray(2));
}

export const groupCases: ConformanceCase[] = [
  // ---------------------------------------------------------------- 14.1 join and genuine messages
  ...(
    [
      ['confidentiality', 'signature'],
      ['integrity', 'signature'],
      ['confidentiality', 'none'],
      ['integrity', 'none'],
    ] as const
  ).map(([protection, sourceAuth], i) =>
    groupCase(
      id(1, i + 1),
      `${protection}, ${sourceAuth === 'signature' ? 'publisher signatures' : 'no signatures'}: the IUT joins, takes the key and accepts genuine group messages once each`,
      'SPEC 13.4, 13.6, 13.7',
      { protection, sourceAuth },
      async (env, g, v) => {
        const xs = [0, 1, 2].map((k) => env.payload(`genuine ${k}`));
        for (const x of xs) await g.send(x);
        for (const x of xs) v.fail(!(await g.publisher.waitEcho(x)), 'a genuine group message was not echoed');
      },
    ),
  ),

  // ---------------------------------------------------------------- 14.2, 14.3 bit flips
  ...flipCases(2, 'confidentiality', 'signature', FLIPS_SIGNED),
  ...flipCases(3, 'integrity', 'none', FLIPS_UNSIGNED),

  // ---------------------------------------------------------------- 14.4 replay and order
  groupCase(id(4, 1), 'a group frame delivered twice is accepted once', 'SPEC 13.6', {}, async (env, g, v) => {
    const x = env.payload('twice');
    const f = await g.send(x);
    v.fail(!(await g.publisher.waitEcho(x)), 'the group message was not echoed');
    await g.publish(f);
  }),
  groupCase(
    id(4, 2),
    'a group frame replayed after 70 newer ones (outside the window) is not accepted',
    'SPEC 13.6, 7.4',
    {},
    async (env, g, v) => {
      const f = await g.send(env.payload('old'));
      const last = await fillWindow(env, 70, (x) => g.send(x));
      v.fail(!(await g.publisher.waitEcho(last)), 'the 70 group messages were not all echoed');
      await g.publish(f);
    },
  ),
  groupCase(
    id(4, 3),
    'a group frame never delivered, 64 or more below the highest, is not accepted',
    'SPEC 13.6, 7.4',
    {},
    async (env, g, v) => {
      const held = g.seal(env.payload('held back'));
      const last = await fillWindow(env, 66, (x) => g.send(x));
      v.fail(!(await g.publisher.waitEcho(last)), 'the 66 group messages were not all echoed');
      await g.publish(held);
    },
  ),
  groupCase(
    id(4, 4),
    'group frames reordered and duplicated inside the window are each accepted once',
    'SPEC 13.6',
    {},
    async (env, g, v) => {
      const xs = [0, 1, 2, 3].map((i) => env.payload(`mixed ${i}`));
      const fs = xs.map((x) => g.seal(x));
      for (const x of xs) g.publisher.intend(x);
      for (const i of [2, 0, 2, 3, 1, 0, 3]) await g.publish(fs[i] as Uint8Array);
      for (const x of xs) v.fail(!(await g.publisher.waitEcho(x)), 'a reordered group message was not accepted');
    },
  ),

  // ---------------------------------------------------------------- 14.5 epochs, groups and addresses
  groupCase(
    id(5, 1),
    'a group frame of an epoch never distributed (genuinely sealed and signed) is not accepted',
    'SPEC 13.6',
    {},
    async (env, g) => {
      for (const e of [1, 7]) {
        g.newEpoch(e, { current: false });
        await g.publish(g.seal(env.payload(`epoch ${e}`), { epoch: e }));
      }
    },
  ),
  groupCase(
    id(5, 2),
    'a frame of a group the IUT did not join, published on the address of one it did, is not accepted',
    'SPEC 13.6',
    {},
    async (env, g) => {
      const other = new KitGroup(g.publisher, nameFor(env, 'not joined'));
      await g.publish(other.seal(env.payload('other group')));
    },
  ),
  groupCase(
    id(5, 3),
    "a frame of one joined group spliced onto another joined group's address is not accepted, and is accepted on its own",
    'SPEC 13.5, 13.6',
    {},
    async (env, g, v) => {
      const h = await member(env, { party: g.publisher, name: nameFor(env, 'second') });
      const x = env.payload('spliced');
      const f = h.seal(x);
      await h.publish(f, g.address);
      g.publisher.intend(x);
      await h.publish(f);
      v.fail(!(await g.publisher.waitEcho(x)), 'the frame, refused on the other address, was not accepted on its own');
    },
  ),
  groupCase(
    id(5, 4),
    'a pairwise DATA record published on the group address is not accepted, and is accepted in the inbox',
    'SPEC 13.6, 13.9',
    {},
    async (env, g, v) => {
      const p = g.publisher;
      const x = env.payload('record on the group address');
      const f = p.seal(x);
      await g.publish(f);
      await env.settle();
      p.intend(x);
      await p.sendFrame(f);
      v.fail(!(await p.waitEcho(x)), 'the record, refused on the group address, was not accepted in the inbox');
    },
  ),
  groupCase(
    id(5, 5),
    'a GROUP_DATA frame sent to the inbox is not accepted, and is accepted on the group address',
    'SPEC 13.3, 13.9',
    {},
    async (env, g, v) => {
      const x = env.payload('group frame in the inbox');
      const f = g.seal(x);
      await g.publisher.sendFrame(f);
      await env.settle();
      g.publisher.intend(x);
      await g.publish(f);
      v.fail(!(await g.publisher.waitEcho(x)), 'the frame, refused in the inbox, was not accepted on the group address');
    },
  ),

  // ---------------------------------------------------------------- 14.6 source authentication
  groupCase(
    id(6, 1),
    'a group frame sealed with the group key but signed by another certified endpoint (a member forging as the publisher) is not accepted',
    'SPEC 13.6',
    {},
    async (env, g) => {
      const forger = env.party('forger');
      await g.publish(g.seal(env.payload('forged by a member'), { signWith: forger.ctx.identity.privateKey }));
    },
  ),
  groupCase(
    id(6, 2),
    'a signed group whose frame carries no signature, or an empty one, is not accepted',
    'SPEC 13.3, 13.6',
    {},
    async (env, g) => {
      await g.publish(g.seal(env.payload('unsigned'), { signWith: null }));
      await g.publish(concat(g.seal(env.payload('empty signature'), { signWith: null }), Uint8Array.of(0, 0)));
    },
  ),
  keyCase(
    id(6, 3),
    'a GroupKey whose signer is not the certificate of the session carrying it is refused',
    'SPEC 13.4',
    {},
    async (env, g) => {
      const other = env.party('signer');
      await g.sendControl(g.control(g.key(0, { signer: other.ctx.identity.chain[0] as Uint8Array })));
      await publishUnwanted(env, g, () => [g.seal(env.payload('signed by the named signer'), { signWith: other.ctx.identity.privateKey })]);
    },
  ),

  // ---------------------------------------------------------------- 14.7 epoch change
  groupCase(
    id(7, 1),
    'a GroupKey of the next epoch (GROUP_CTRL from the publisher) is taken: messages of the new epoch are accepted',
    'SPEC 13.4, 13.7',
    {},
    async (env, g, v) => {
      g.newEpoch();
      v.nonStrict(!(await g.sendControl(g.control())), 'no ACK for the GROUP_CTRL record');
      const xs = [0, 1].map((i) => env.payload(`epoch 1 ${i}`));
      for (const x of xs) await g.send(x);
      for (const x of xs) v.fail(!(await g.publisher.waitEcho(x)), 'a message of the new epoch was not accepted');
    },
  ),
  groupCase(
    id(7, 2),
    'after a rotation, a frame of the previous epoch below its previousEnd is accepted during the grace',
    'SPEC 13.6, 7.3',
    {},
    async (env, g, v) => {
      const y = env.payload('late, epoch 0');
      const late = g.seal(y);
      g.newEpoch();
      await g.sendControl(g.control());
      const x = env.payload('epoch 1');
      await g.send(x);
      v.fail(!(await g.publisher.waitEcho(x)), 'a message of the new epoch was not accepted');
      g.publisher.intend(y);
      await g.publish(late);
      v.fail(
        !(await g.publisher.waitEcho(y)),
        'a frame of the previous epoch below previousEnd was not accepted within the grace (≥ 5 s, Annex C.2)',
      );
    },
  ),
  groupCase(
    id(7, 3),
    'after a rotation, a frame of the previous epoch at or above its previousEnd is not accepted',
    'SPEC 13.6',
    {},
    async (env, g, v) => {
      const y = env.payload('below previousEnd');
      const below = g.seal(y);
      const above = [g.seal(env.payload('at previousEnd')), g.seal(env.payload('above previousEnd'))];
      g.newEpoch();
      // the publisher says it sealed nothing in epoch 0 after `below`
      await g.sendControl(g.control(g.key(1, { previousEnd: decodeGroupHeader(below).seq + 1 })));
      const x = env.payload('epoch 1');
      await g.send(x);
      v.fail(!(await g.publisher.waitEcho(x)), 'a message of the new epoch was not accepted');
      for (const f of above) await g.publish(f);
      g.publisher.intend(y);
      await g.publish(below);
      v.fail(!(await g.publisher.waitEcho(y)), 'the frame below previousEnd was not accepted');
    },
  ),
  groupCase(
    id(7, 4),
    'after two rotations, a frame of the epoch two back is not accepted, even below its previousEnd',
    'SPEC 13.6',
    {},
    async (env, g, v) => {
      const old = g.seal(env.payload('epoch 0, two rotations back'));
      g.newEpoch();
      await g.sendControl(g.control());
      await g.send(env.payload('epoch 1'));
      g.newEpoch();
      await g.sendControl(g.control());
      const x = env.payload('epoch 2');
      await g.send(x);
      v.fail(!(await g.publisher.waitEcho(x)), 'a message of epoch 2 was not accepted');
      await g.publish(old);
    },
  ),
  groupCase(
    id(7, 5),
    'a GroupKey whose epoch is not the next (the publisher restarted) replaces every epoch held',
    'SPEC 13.7',
    {},
    async (env, g, v) => {
      g.newEpoch();
      await g.sendControl(g.control());
      await g.send(env.payload('epoch 1'));
      const held = g.seal(env.payload('epoch 1, held'));
      // the publisher starts over: epoch 0 again, a fresh secret
      g.newEpoch(0);
      await g.sendControl(g.control(g.key(0, { previousEnd: 0 })));
      const x = env.payload('epoch 0 after the restart');
      await g.send(x);
      v.fail(!(await g.publisher.waitEcho(x)), 'a message of the new epoch 0 was not accepted');
      await g.publish(held);
    },
  ),

  // ---------------------------------------------------------------- 14.8 key distribution
  keyCase(
    id(8, 1),
    "unsigned group: a GroupKey of the next epoch sent over another endpoint's session is refused",
    'SPEC 13.4',
    { sourceAuth: 'none' },
    async (env, g) => {
      // the genuine key first: the forged one would be a rotation, the most a forger could hope for
      await g.sendControl(g.control());
      if (!(await probe(env, g))) throw new CaseFailure('the genuine GroupKey was not taken');
      const q = await env.connected('other');
      g.newEpoch(1, { current: false });
      await g.sendControl(g.control(g.key(1)), q);
      await publishUnwanted(env, g, () => [g.seal(env.payload('epoch 1 from another session'), { epoch: 1 })]);
    },
  ),
  keyCase(
    id(8, 2),
    "signed group: a GroupKey naming the sender's own certificate, sent over its own session for another publisher's group, is refused",
    'SPEC 13.4',
    {},
    async (env, g) => {
      const q = await env.connected('other');
      const cert = q.ctx.identity.chain[0] as Uint8Array;
      await g.sendControl(g.control(g.key(0, { signer: cert })), q);
      await publishUnwanted(env, g, () => [g.seal(env.payload('signed by the other endpoint'), { signWith: q.ctx.identity.privateKey })]);
    },
  ),
  groupCase(
    id(8, 3),
    'a GroupKey from the publisher for a group the IUT did not ask to join is ignored',
    'SPEC 13.4',
    {},
    async (env, g) => {
      const other = new KitGroup(g.publisher, nameFor(env, 'never joined'));
      await other.sendControl(other.control());
      await publishUnwanted(env, other, () => [other.seal(env.payload('unrequested group'))]);
    },
  ),
  keyCase(id(8, 4), "a GroupKey carrying another group's id is refused", 'SPEC 13.2, 13.4', {}, async (env, g) => {
    const other = new KitGroup(g.publisher, nameFor(env, 'other id'));
    await g.sendControl(encodeGroupControl({ kind: 'key', name: g.name, key: other.key() }));
    const frames = (): Uint8Array[] => [other.seal(env.payload('under the other id'))];
    await publishUnwanted(env, other, frames, g.address);
    await publishUnwanted(env, other, frames);
  }),
  keyCase(
    id(8, 5),
    'a GroupControl that is not canonical DER (outer length in long form) is refused',
    'SPEC 13.4',
    { sourceAuth: 'none' },
    async (env, g) => {
      await g.sendControl(longFormLength(g.control()));
      await publishUnwanted(env, g, () => [g.seal(env.payload('under a non-canonical key'))]);
    },
  ),
  keyCase(
    id(8, 6),
    'a GroupControl sent as an application message (a DATA record) is echoed, never taken as a key',
    'SPEC 13.4, Annex C.2',
    {},
    async (env, g, v) => {
      const der = g.control();
      await g.publisher.send(der);
      v.fail(!(await g.publisher.waitEcho(der)), 'the DATA record carrying a GroupControl was not echoed');
      await publishUnwanted(env, g, () => [g.seal(env.payload('under a key sent as data'))]);
    },
  ),

  groupCase(
    id(8, 7),
    "a GroupControl `removed` for the group sent over another endpoint's session does not end the membership",
    'SPEC 13.4',
    {},
    async (env, g) => {
      const q = await env.connected('other');
      await g.sendControl(encodeGroupControl({ kind: 'removed', name: g.name }), q);
      await env.settle();
    },
  ),
  defineCase(
    id(8, 8),
    'after `removed` from the publisher the IUT accepts no more frames of the group; joining again, it takes the new epoch',
    'SPEC 13.4, 13.7',
    (env) =>
      orInformational(async () => {
        const v = new Verdict();
        const g = await member(env);
        await g.sendControl(encodeGroupControl({ kind: 'removed', name: g.name }));
        // frames a removed member could still open (the epoch it held): the publisher seals none after a removal
        await publishUnwanted(env, g, () => [g.seal(env.payload('after removed'))]);
        const late = g.publisher.overDelivered();
        v.nonStrict(late.length > 0, `frames of the group were still accepted after removed: ${late.join('; ')}`);
        // the publisher rotates after a removal; the member joins again and gets the new epoch
        g.newEpoch();
        await askJoin(env, g.publisher, g.name);
        await g.sendControl(g.control());
        v.fail(!(await probe(env, g)), 'after joining again, the IUT did not accept a message of the new epoch');
        if (late.length > 0) {
          // the echoes after removed are the finding above: only the pairwise session is checked still
          v.fail(!(await g.publisher.roundTrip()), 'the IUT did not echo a genuine message afterwards');
          return v.result();
        }
        await groupAnswers(env, g, v);
        return v.result();
      }),
  ),

  // ---------------------------------------------------------------- 14.9 limits
  groupCase(id(9, 1), 'a 200 KiB group message (within the 256 KiB frame bound) is accepted', 'SPEC 13.6, 8.2', {}, async (env, g, v) => {
    const x = concat(env.payload('large'), new Uint8Array(200 * 1024).fill(0x67));
    await g.send(x);
    v.fail(!(await g.publisher.waitEcho(x, env.timeoutMs * 2)), 'a 200 KiB group message was not echoed');
  }),
  groupCase(id(9, 2), 'a group frame larger than 256 KiB is dropped', 'SPEC 13.6, 8.9', {}, async (env, g) => {
    await g.publish(g.seal(concat(env.payload('too large'), new Uint8Array(300 * 1024))));
  }),
  groupCase(id(9, 3), 'a group frame whose sequence number exceeds 2^48 − 1 is refused', 'SPEC 13.3, 3.3', {}, async (env, g) => {
    const body = env.kit.provider.randomBytes(120);
    const f = encodeGroupHeader(g.groupId, g.epoch, 2 ** 48, body.length);
    f.set(body, f.length - body.length);
    await g.publish(f);
  }),
  groupCase(
    id(9, 4),
    'an unsigned integrity group frame whose sequence number is not minimally encoded (tag valid over it) is refused',
    'SPEC 13.3, 3.2',
    { protection: 'integrity', sourceAuth: 'none' },
    async (env, g) => {
      const x = env.payload('non-minimal');
      const seq = g.sealed();
      if (seq >= 64) throw new Error('a two-byte varint is minimal from 64 on');
      g.seal(env.payload('burn'), { seq: seq + 1 }); // the number after it is used up, the frame below takes `seq`
      const head = encodeGroupHeader(g.groupId, g.epoch, 0, 0).subarray(0, 19);
      const header = concat(head, Uint8Array.of(0x40 | ((seq >>> 8) & 0x3f), seq & 0xff));
      const body = concat(header, x);
      const mac = g.ctx.provider.hmac(g.ctx.suite.hash, g.keysOf().key, body);
      await g.publish(concat(body, mac));
    },
  ),
];

/** Ids of this group's cases (the broken variants and tests name them). */
export const GROUP_CASE_IDS = groupCases.map((c) => c.id);
