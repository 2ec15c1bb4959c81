/**
 * A hostile intermediary (and a hostile member) against groups: every attack on a group frame ends in a typed
 * rejection and nothing is delivered; genuine group messages still flow afterwards. [SPEC 13.6, 13.7, 13.9]
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey, randomBytes } from 'node:crypto';
import { utf8 } from '../../src/bytes/index.js';
import { frameType, FrameType } from '../../src/codec/frame.js';
import { derObjects } from '../../src/codec/pem.js';
import { createNodeProvider } from '../../src/crypto/node.js';
import { suiteByName } from '../../src/crypto/suites.js';
import { startBroker } from '../../src/broker/index.js';
import { encodeGroupHeader } from '../../src/codec/group.js';
import { mqttTransport } from '../../src/bindings/mqtt.js';
import type { Endpoint } from '../../src/endpoint/endpoint.js';
import type { Group } from '../../src/endpoint/groups.js';
import { sealGroupFrame, type GroupTrafficKeys } from '../../src/session/group-keys.js';
import type { Transport } from '../../src/transport/transport.js';
import { lateKeys } from '../support/late-keys.js';
import { cast, text, until, type Cast } from '../support/endpoints.js';

const MODES = ['integrity', 'confidentiality'] as const;
const isGroupTopic = (t: string): boolean => t.includes('/~g/');
const epochOf = (b: Uint8Array): number => (b[17]! << 8) | b[18]!;

interface World {
  readonly c: Cast;
  readonly g: Group;
  /** Group frames as the intermediary saw them. */
  readonly frames: Uint8Array[];
  /** A raw hub transport of an outsider (publishes and subscribes on group addresses). */
  readonly raw: Transport;
  close(): Promise<void>;
}

async function world(protection: (typeof MODES)[number], sourceAuth: 'signature' | 'none' = 'signature', graceMs?: number): Promise<World> {
  const c = await cast(['der', 'a', 'b', 'mallory'], { protection, ...(graceMs !== undefined ? { session: { graceMs } } : {}) });
  const frames: Uint8Array[] = [];
  c.hub.tap((f) => {
    if (isGroupTopic(f.topic)) frames.push(f.bytes.slice());
  });
  const g = await c.eps.der!.group('telemetry', { members: ['a', 'b', 'mallory'], sourceAuth });
  for (const id of ['a', 'b', 'mallory']) await c.eps[id]!.join('der', 'telemetry');
  const raw = c.hub.transport();
  await raw.open('outsider', () => undefined);
  await g.publish(utf8('genuine 0'));
  await until(() => ['a', 'b', 'mallory'].every((id) => c.inbox[id]!.length === 1));
  return {
    c,
    g,
    frames,
    raw,
    async close() {
      await raw.close();
      await c.close();
    },
  };
}

/** Members a and b refused `code` (n times each) and got nothing but `genuine` messages. */
async function refusedBy(w: World, code: string, n = 1): Promise<void> {
  for (const id of ['a', 'b']) await until(() => w.c.rejects[id]!.filter((r) => r.code === code).length >= n, 3000, `${id}: ${code}`);
  for (const id of ['a', 'b'])
    assert.ok(
      w.c.inbox[id]!.every((m) => text(m).startsWith('genuine')),
      `${id} got ${w.c.inbox[id]!.map(text)}`,
    );
}

/** The group still works: a genuine message reaches a and b exactly once. */
async function stillWorks(w: World, label: string): Promise<void> {
  const before = { a: w.c.inbox.a!.length, b: w.c.inbox.b!.length };
  await w.g.publish(utf8(`genuine ${label}`));
  await until(() => w.c.inbox.a!.length === before.a + 1 && w.c.inbox.b!.length === before.b + 1, 3000, 'genuine after attack');
  await w.c.hub.drain();
  assert.equal(w.c.inbox.a!.filter((m) => text(m) === `genuine ${label}`).length, 1);
}

/** What a member holds of the current epoch: read from its endpoint's state, as a hostile member would. */
function memberKeys(ep: Endpoint): { keys: GroupTrafficKeys; groupId: Uint8Array; epoch: number } {
  // biome-ignore lint/complexity/useLiteralKeys: reads private state, as an insider would (TypeScript allows it by index)
  const gm = ep['groups'];
  // biome-ignore lint/complexity/useLiteralKeys: see above
  const m = [...gm['joined'].values()][0]!;
  const r = m.receiver!;
  // biome-ignore lint/complexity/useLiteralKeys: see above
  return { keys: r['current'].keys, groupId: r.groupId, epoch: r.epoch };
}

for (const mode of MODES) {
  describe(`groups under attack (${mode})`, () => {
    const flips: [string, (b: Uint8Array) => void, string][] = [
      ['version nibble', (b) => void (b[0]! ^= 0x20), 'ERR_VERSION'],
      ['type (GROUP_DATA → unknown 11)', (b) => void (b[0]! ^= 0x02), 'ERR_MALFORMED'],
      ['group id', (b) => void (b[3]! ^= 0x01), 'ERR_WRONG_PEER'],
      ['epoch (high bit)', (b) => void (b[17]! ^= 0x80), 'ERR_UNKNOWN_EPOCH'],
      ['sequence number', (b) => void (b[19]! ^= 0x04), 'ERR_BAD_MAC'],
      ['payload', (b) => void (b[22]! ^= 0x01), 'ERR_BAD_MAC'],
      ['signature', (b) => void (b[b.length - 10]! ^= 0x01), 'ERR_BAD_SIGNATURE'],
    ];
    for (const [what, flip, code] of flips)
      test(`[SPEC 13.6] a group frame with its ${what} altered → ${code}, nothing delivered, the group goes on`, async () => {
        const w = await world(mode);
        let n = 0;
        const off = w.c.hub.tap((f) => {
          if (!isGroupTopic(f.topic) || n++ > 0) return undefined;
          const b = f.bytes.slice();
          flip(b);
          return b;
        });
        try {
          await w.g.publish(utf8('tampered'));
          await refusedBy(w, code);
          off();
          await stillWorks(w, 'after');
        } finally {
          await w.close();
        }
      });

    test('[SPEC 13.6, 7.4] a group frame replayed later → ERR_REPLAY; delivered once', async () => {
      const w = await world(mode);
      try {
        await w.raw.publishGroup!(w.g.address, w.frames[0]!);
        await refusedBy(w, 'ERR_REPLAY');
        assert.equal(w.c.inbox.a!.length, 1);
        await stillWorks(w, 'after');
      } finally {
        await w.close();
      }
    });

    test("[SPEC 13.2, 13.6] cross-group splice: another group's frame on this address → ERR_WRONG_PEER; its body under this group's id → ERR_BAD_MAC", async () => {
      const w = await world(mode);
      try {
        const other = await w.c.eps.der!.group('other', { members: ['a', 'b'] });
        await w.c.eps.a!.join('der', 'other');
        await w.c.eps.b!.join('der', 'other');
        // seq 2 in 'other': a sequence number 'telemetry' has not seen (else the window refuses it first, ERR_REPLAY)
        for (let i = 0; i < 3; i++) await other.publish(utf8(`genuine other ${i}`));
        await until(() => w.c.inbox.a!.length === 4 && w.c.inbox.b!.length === 4);
        const foreign = w.frames[w.frames.length - 1]!;
        await w.raw.publishGroup!(w.g.address, foreign);
        await refusedBy(w, 'ERR_WRONG_PEER');
        const spliced = foreign.slice();
        spliced.set(w.frames[0]!.subarray(1, 17), 1);
        await w.raw.publishGroup!(w.g.address, spliced);
        await refusedBy(w, 'ERR_BAD_MAC');
        await stillWorks(w, 'after');
      } finally {
        await w.close();
      }
    });

    test('[SPEC 13.7, 13.6] old epoch after a removal: a frame of the old epoch replayed after grace → ERR_UNKNOWN_EPOCH', async () => {
      const w = await world(mode, 'signature', 50);
      try {
        await w.g.remove('mallory');
        await stillWorks(w, 'new epoch');
        assert.ok(epochOf(w.frames[w.frames.length - 1]!) > epochOf(w.frames[0]!));
        await w.raw.publishGroup!(w.g.address, w.frames[0]!); // within grace: already seen
        await refusedBy(w, 'ERR_REPLAY');
        await new Promise((r) => setTimeout(r, 80));
        await w.raw.publishGroup!(w.g.address, w.frames[0]!);
        await refusedBy(w, 'ERR_UNKNOWN_EPOCH');
        await stillWorks(w, 'after');
      } finally {
        await w.close();
      }
    });

    test('[SPEC 13.6] a member forging a group message as the publisher: ERR_BAD_SIGNATURE with signatures; delivered without (documented)', async () => {
      for (const sourceAuth of ['signature', 'none'] as const) {
        const w = await world(mode, sourceAuth);
        try {
          const k = memberKeys(w.c.eps.mallory!);
          const p = createNodeProvider();
          const suite = suiteByName('X25519_AES128GCM_SHA256');
          const mine = p.importPrivateKey(
            new Uint8Array(createPrivateKey(w.c.pki.identities.mallory!.privateKey).export({ format: 'der', type: 'pkcs8' })),
          );
          const forged = sealGroupFrame(
            { provider: p, suite, protection: mode },
            k.keys,
            k.groupId,
            k.epoch,
            40,
            utf8('forged: open breaker'),
            sourceAuth === 'signature' ? mine : undefined,
          );
          await w.raw.publishGroup!(w.g.address, forged);
          if (sourceAuth === 'signature') {
            await refusedBy(w, 'ERR_BAD_SIGNATURE');
            await stillWorks(w, 'after');
          } else {
            // the documented 'none' mode: members can forge — the test shows it is so
            await until(() => w.c.inbox.a!.some((m) => text(m) === 'forged: open breaker'));
          }
        } finally {
          await w.close();
        }
      }
    });

    test('[SPEC 13.9] a group frame redirected into an inbox, and a pairwise record onto the group address → ERR_MALFORMED, nothing delivered', async () => {
      const w = await world(mode);
      try {
        // group → inbox: the broker delivers a captured group frame as if from der to a and b
        for (const id of ['a', 'b']) await injectInbox(w, id, w.frames[0]!);
        await refusedBy(w, 'ERR_MALFORMED');
        // inbox → group: the next pairwise record der → a replaces a group frame on the address
        let record: Uint8Array | undefined;
        const off = w.c.hub.tap((f) => {
          if (!isGroupTopic(f.topic) && f.from === 'der' && f.bytes.length > 12 && frameType(f.bytes) === FrameType.DATA)
            record = f.bytes.slice();
        });
        await w.c.eps.der!.send('a', utf8('genuine pairwise'));
        await until(() => record !== undefined);
        off();
        await w.raw.publishGroup!(w.g.address, record!);
        await refusedBy(w, 'ERR_MALFORMED', 2);
        await stillWorks(w, 'after');
      } finally {
        await w.close();
      }
    });
  });
}

/** The hub delivers `bytes` into `to`'s inbox as if sent by der (a hostile intermediary's redirect). */
async function injectInbox(w: World, to: string, bytes: Uint8Array): Promise<void> {
  let armed = true;
  const off = w.c.hub.tap((f) => {
    if (!armed || isGroupTopic(f.topic) || f.to !== to || f.from !== 'der') return undefined;
    armed = false;
    return [f.bytes, bytes];
  });
  await w.c.eps.der!.send(to, utf8('genuine carrier'));
  await until(() => !armed);
  off();
}

test('[SPEC 13.6, 13.9] aedes: broker duplicates of group frames are delivered once; a group frame injected into an inbox is refused', async () => {
  const broker = await startBroker({ adversary: (f) => (isGroupTopic(f.topic) ? [f.bytes, f.bytes] : undefined) });
  const frames: Uint8Array[] = [];
  broker.tap((f) => {
    if (isGroupTopic(f.topic)) frames.push(f.bytes.slice());
  });
  const c = await cast(['der', 'a', 'b'], { transport: (id) => mqttTransport({ url: broker.url, clientId: id }) });
  try {
    const g = await c.eps.der!.group('t', { members: ['a', 'b'] });
    await c.eps.a!.join('der', 't');
    await c.eps.b!.join('der', 't');
    for (let i = 0; i < 5; i++) await g.publish(utf8(`genuine ${i}`));
    await until(() => c.inbox.a!.length === 5 && c.inbox.b!.length === 5 && (c.eps.a!.stats().rejected.ERR_REPLAY ?? 0) === 5, 10_000);
    await broker.inject({ from: 'der', to: 'a', bytes: frames[0]! });
    await until(() => (c.eps.a!.stats().rejected.ERR_MALFORMED ?? 0) === 1, 5000);
    assert.deepEqual(
      c.inbox.a!.map(text),
      [0, 1, 2, 3, 4].map((i) => `genuine ${i}`),
    );
    void derObjects;
  } finally {
    await c.close();
    await broker.close();
  }
});

/** A valid header of `address`'s group claiming `epoch`, with a random body: a frame nobody can verify before the key of `epoch`. */
function futureFrame(groupId: Uint8Array, epoch: number, seq: number): Uint8Array {
  const body = randomBytes(48);
  const f = encodeGroupHeader(groupId, epoch, seq, body.length);
  f.set(body, f.length - body.length);
  return f;
}

for (const mode of MODES)
  test(`[SPEC 13.6, 12] ${mode}: forged frames claiming the next epoch are held at most groupHold.frames, dropped at the deadline, never displace genuine held frames, and leave nothing behind`, async () => {
    const late = lateKeys();
    const c = await cast(['der', 'a', 'b'], {
      protection: mode,
      groupHold: { frames: 8, ms: 400 },
      transport: late.transport,
    });
    const raw = late.hub.transport();
    await raw.open('outsider', () => undefined);
    try {
      const g = await c.eps.der!.group('t', { members: ['a', 'b'] });
      await c.eps.a!.join('der', 't');
      await c.eps.b!.join('der', 't');
      await g.publish(utf8('genuine 0'));
      await until(() => c.inbox.a!.length === 1 && c.inbox.b!.length === 1);
      const k = memberKeys(c.eps.a!);
      // 1. A flood at a quiet time: bounded, silent, gone at the deadline.
      for (let i = 0; i < 100; i++) await raw.publishGroup!(g.address, futureFrame(k.groupId, k.epoch + 1, 100 + i));
      await until(() => c.eps.a!.stats().groups.held + c.eps.a!.stats().groups.dropped >= 100, 5000, 'flood seen');
      assert.equal(c.eps.a!.stats().groups.held, 8);
      assert.ok(c.eps.a!.queues().heldBytes <= 8 * 100, `held ${c.eps.a!.queues().heldBytes} B`);
      await until(() => c.eps.a!.stats().groups.dropped === 100 && c.eps.b!.stats().groups.dropped === 100, 5000, 'deadline');
      assert.equal(c.eps.a!.queues().heldBytes, 0, 'no lasting state');
      assert.equal(c.rejects.a!.length, 0, 'the forger selected no error');
      // 2. Genuine frames overtaking their key, then a flood: the genuine ones stay held and are delivered.
      late.ctl.holding = true;
      await g.remove('b');
      await g.publish(utf8('genuine 1'));
      await g.publish(utf8('genuine 2'));
      await until(() => c.eps.a!.stats().groups.held === 10, 3000, 'genuine held');
      for (let i = 0; i < 100; i++) await raw.publishGroup!(g.address, futureFrame(k.groupId, k.epoch + 1, 200 + i));
      await until(() => c.eps.a!.stats().groups.dropped >= 194, 3000, 'second flood seen');
      await late.release();
      await until(() => c.inbox.a!.length === 3, 3000, 'genuine delivered');
      assert.deepEqual(c.inbox.a!.map(text), ['genuine 0', 'genuine 1', 'genuine 2']);
      // the forged frames that were still held when the key came are refused like any forged frame (random bytes:
      // the signature trailer does not fit, ERR_MALFORMED, or the tag fails)
      await until(() => c.rejects.a!.length === 6, 3000, 'forged held frames refused');
      assert.ok(
        c.rejects.a!.every((r) => r.code === 'ERR_MALFORMED' || r.code === 'ERR_BAD_MAC'),
        c.rejects.a!.map((r) => r.code).join(),
      );
      assert.equal(c.eps.a!.queues().heldBytes, 0);
      await g.publish(utf8('genuine 3'));
      await until(() => c.inbox.a!.length === 4);
    } finally {
      await raw.close();
      await c.close();
    }
  });
