/** [SPEC 13.6] A member holds a bounded few frames of the next epoch until its key arrives (sans-I/O). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { HopsafeError } from '../../src/errors/index.js';
import { utf8 } from '../../src/bytes/index.js';
import { suiteByName } from '../../src/crypto/suites.js';
import { encodeGroupHeader } from '../../src/codec/group.js';
import { computeGroupId } from '../../src/session/group-keys.js';
import { GroupSender } from '../../src/session/group-sender.js';
import { GroupReceiver, type GroupHoldLimits, type GroupOpened } from '../../src/session/group-receiver.js';
import { HoldBudget } from '../../src/session/session.js';
import { node } from '../support/crypto-fixtures.js';

const code = (c: string) => (e: unknown) => e instanceof HopsafeError && e.code === c;
const suite = suiteByName('X25519_AES128GCM_SHA256');
const gid = computeGroupId(node, 'der-1', 'telemetry');

/** `hold: null`: a receiver without a hold. */
function pair(hold: Partial<GroupHoldLimits> | null = {}) {
  const sender = new GroupSender({
    ctx: { provider: node, suite, protection: 'confidentiality' },
    groupId: gid,
    sourceAuth: 'none',
    now: 0,
  });
  const receiver = new GroupReceiver({
    provider: node,
    key: sender.currentKey(),
    graceMs: 1000,
    ...(hold ? { hold: { frames: 4, bytes: 4096, ms: 100, ...hold } } : {}),
  });
  return { sender, receiver };
}

const texts = (out: (GroupOpened | HopsafeError)[]): string[] =>
  out.map((r) => (r instanceof HopsafeError ? r.code : new TextDecoder().decode(r.payload)));

/** A frame nobody can verify: a valid header of this group claiming `epoch`, random body. */
const forged = (epoch: number, seq: number): Uint8Array => {
  const body = randomBytes(40);
  const f = encodeGroupHeader(gid, epoch, seq, body.length);
  f.set(body, f.length - body.length);
  return f;
};

test('[SPEC 13.6] frames of the next epoch that overtake its key are held, then opened in arrival order once it is installed', () => {
  const { sender, receiver } = pair();
  receiver.open(sender.seal(utf8('e0')), 0);
  const k1 = sender.rotate(1);
  const early = [sender.seal(utf8('a')), sender.seal(utf8('b')), sender.seal(utf8('c'))];
  for (const f of [early[1]!, early[0]!, early[2]!]) assert.equal(receiver.receive(f, 2), 'held');
  assert.equal(receiver.receive(early[0]!, 2), 'dropped', 'an exact copy of a held frame adds nothing');
  assert.equal(receiver.heldFrames, 3);
  assert.ok(receiver.install(k1, undefined, 3));
  assert.deepEqual(texts(receiver.drainHeld(3)), ['b', 'a', 'c']);
  assert.equal(receiver.heldFrames, 0);
  assert.equal(receiver.heldBytes, 0);
  // delivered once: the window saw them
  assert.throws(() => receiver.receive(early[0]!, 4), code('ERR_REPLAY'));
  assert.equal(receiver.takeDropped(), 1);
});

test('[SPEC 13.6] only the next epoch is held: any other unknown epoch is ERR_UNKNOWN_EPOCH; without a hold the next one is too', () => {
  const { sender, receiver } = pair();
  sender.rotate(1);
  sender.rotate(1);
  const e2 = sender.seal(utf8('two ahead'));
  assert.throws(() => receiver.receive(e2, 1), code('ERR_UNKNOWN_EPOCH'));
  assert.throws(() => receiver.receive(forged(0x8000, 0), 1), code('ERR_UNKNOWN_EPOCH'));
  const none = pair(null);
  none.sender.rotate(1);
  assert.throws(() => none.receiver.receive(none.sender.seal(utf8('x')), 1), code('ERR_UNKNOWN_EPOCH'));
  // frames of a held epoch are still checked first for the group: another group's frame is ERR_WRONG_PEER
  const other = forged(1, 0);
  other[1]! ^= 1;
  assert.throws(() => receiver.receive(other, 1), code('ERR_WRONG_PEER'));
});

test('[SPEC 13.6] bounded in count, bytes and the shared budget; past a bound a frame is dropped silently (counted), never an error', () => {
  const budget = new HoldBudget(200);
  const { sender, receiver } = pair({ frames: 3, bytes: 150, budget });
  sender.rotate(1);
  const frames = Array.from({ length: 6 }, (_, i) => sender.seal(utf8(`m${i}`)));
  const got = frames.map((f) => receiver.receive(f, 1));
  // each frame is 16 + 20 + 2 = 38..40 bytes: three fit the count bound
  assert.deepEqual(got, ['held', 'held', 'held', 'dropped', 'dropped', 'dropped']);
  assert.equal(receiver.takeDropped(), 3);
  assert.ok(receiver.heldBytes <= 150 && budget.bytes === receiver.heldBytes);
  // the endpoint-wide budget: a second group's hold cannot take more than what is left
  const second = pair({ frames: 10, bytes: 10_000, budget });
  second.sender.rotate(1);
  const more = Array.from({ length: 5 }, (_, i) => second.receiver.receive(second.sender.seal(utf8(`n${i}`)), 1));
  assert.ok(budget.bytes <= 200, `budget ${budget.bytes}`);
  assert.ok(more.includes('dropped'));
  receiver.destroy();
  second.receiver.destroy();
  assert.equal(budget.bytes, 0, 'everything given back');
});

test('[SPEC 13.6] a held frame is dropped at its deadline (counted); the key arriving later opens nothing of it', () => {
  const { sender, receiver } = pair({ ms: 100 });
  const k1 = sender.rotate(1);
  assert.equal(receiver.receive(sender.seal(utf8('late key')), 10), 'held');
  assert.equal(receiver.heldDeadline, 110);
  receiver.expireHeld(109);
  assert.equal(receiver.heldFrames, 1);
  receiver.expireHeld(110);
  assert.equal(receiver.heldFrames, 0);
  assert.equal(receiver.heldDeadline, undefined);
  assert.equal(receiver.takeDropped(), 1);
  receiver.install(k1, undefined, 120);
  assert.deepEqual(receiver.drainHeld(120), []);
});

test('[SPEC 13.6, 12] forged frames claiming the next epoch: first come, first kept — they never displace held genuine frames, leave no state past the deadline, and are refused (ERR_BAD_MAC) if still held when the key comes', () => {
  const { sender, receiver } = pair({ frames: 4, ms: 100 });
  const k1 = sender.rotate(1);
  const genuine = [sender.seal(utf8('g0')), sender.seal(utf8('g1'))];
  for (const f of genuine) assert.equal(receiver.receive(f, 1), 'held');
  const forgedOutcomes = Array.from({ length: 200 }, (_, i) => receiver.receive(forged(1, 10 + i), 2));
  assert.equal(forgedOutcomes.filter((x) => x === 'held').length, 2, 'only the room left is taken');
  assert.equal(receiver.heldFrames, 4);
  receiver.install(k1, undefined, 3);
  const out = texts(receiver.drainHeld(3));
  assert.deepEqual(out.slice(0, 2), ['g0', 'g1'], 'the genuine frames are all still there');
  assert.deepEqual(out.slice(2), ['ERR_BAD_MAC', 'ERR_BAD_MAC']);
  // a flood at another time: nothing lasts beyond the deadline
  const next = pair({ frames: 4, ms: 100 });
  for (let i = 0; i < 100; i++) next.receiver.receive(forged(1, i), 1000);
  assert.equal(next.receiver.heldFrames, 4);
  next.receiver.expireHeld(1100);
  assert.equal(next.receiver.heldFrames, 0);
  assert.equal(next.receiver.heldBytes, 0);
  // and the genuine traffic of the next epoch is held again
  next.sender.rotate(1);
  assert.equal(next.receiver.receive(next.sender.seal(utf8('after flood')), 1101), 'held');
});
