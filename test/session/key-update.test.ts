import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { utf8 } from '../../src/bytes/index.js';
import type { Delivery, Session } from '../../src/session/session.js';
import type { KeyPair } from '../../src/crypto/provider.js';
import { complete, initiate, respond, responseFrame } from '../../src/session/handshake.js';
import { codeOf } from '../support/codes.js';
import { handshake, makePair, type Pair } from '../support/session-pair.js';

function data(ds: Delivery[]): string[] {
  return ds.flatMap((d) => (d.type === 'data' ? [new TextDecoder().decode(d.payload)] : []));
}

describe('[SPEC 7.2] key update', () => {
  let pair: Pair;
  before(async () => {
    pair = await makePair();
  });

  test('[SPEC 7.2] one message from either side moves that direction to a new epoch', async () => {
    const { sa, sb } = await handshake(pair);
    const t = Date.now();
    const ku = sa.keyUpdate(t);
    const ds = sb.open(ku, t);
    assert.deepEqual(ds, [{ type: 'key-update', epoch: 1, requestUpdate: false }]);
    assert.equal(sa.sendEpoch, 1);
    assert.equal(sb.receiveEpoch, 1);
    assert.deepEqual(data(sb.open(sa.seal(utf8('after')), t)), ['after']);
    // the other side independently
    sa.open(sb.keyUpdate(t), t);
    assert.deepEqual(data(sa.open(sb.seal(utf8('back')), t)), ['back']);
  });

  test('[SPEC 7.2] simultaneous updates from both sides do not conflict', async () => {
    const { sa, sb } = await handshake(pair);
    const t = Date.now();
    const kuA = sa.keyUpdate(t);
    const kuB = sb.keyUpdate(t);
    const mA = sa.seal(utf8('a1'));
    const mB = sb.seal(utf8('b1'));
    assert.equal(sb.open(kuA, t)[0]?.type, 'key-update');
    assert.equal(sa.open(kuB, t)[0]?.type, 'key-update');
    assert.deepEqual(data(sb.open(mA, t)), ['a1']);
    assert.deepEqual(data(sa.open(mB, t)), ['b1']);
    // and again, crossing several times, with each side's latest ephemeral in play
    for (let i = 0; i < 5; i++) {
      const x = sa.keyUpdate(t);
      const y = sb.keyUpdate(t);
      sb.open(x, t);
      sa.open(y, t);
      assert.deepEqual(data(sb.open(sa.seal(utf8(`a${i}`)), t)), [`a${i}`]);
      assert.deepEqual(data(sa.open(sb.seal(utf8(`b${i}`)), t)), [`b${i}`]);
    }
  });

  test('[SPEC 7.3] frames under the previous epoch are accepted during the grace period only', async () => {
    const { sa, sb } = await handshake(pair);
    const t = Date.now();
    const old1 = sa.seal(utf8('old1'));
    const old2 = sa.seal(utf8('old2'));
    const ku = sa.keyUpdate(t);
    sb.open(ku, t);
    assert.deepEqual(data(sb.open(old1, t + 1000)), ['old1']);
    assert.equal(
      codeOf(() => sb.open(old1, t + 1000)),
      'ERR_REPLAY',
    );
    assert.equal(
      codeOf(() => sb.open(old2, t + sb.options.graceMs + 1)),
      'ERR_UNKNOWN_EPOCH',
    );
  });

  test('[SPEC 7.3] frames of the next epoch that overtake the key update are held and delivered after it', async () => {
    const { sa, sb } = await handshake(pair);
    const t = Date.now();
    const ku = sa.keyUpdate(t);
    const n1 = sa.seal(utf8('n1'));
    const n2 = sa.seal(utf8('n2'));
    assert.deepEqual(sb.open(n2, t), []);
    assert.deepEqual(sb.open(n1, t), []);
    assert.deepEqual(data(sb.open(ku, t)), ['n2', 'n1']);
  });

  test('[SPEC 7.3] held frames are bounded', async () => {
    const { sa, sb } = await handshake(pair);
    const t = Date.now();
    sa.keyUpdate(t); // lost
    for (let i = 0; i < sb.options.maxEarlyFrames; i++) sb.open(sa.seal(utf8('x')), t);
    assert.equal(
      codeOf(() => sb.open(sa.seal(utf8('x')), t)),
      'ERR_UNKNOWN_EPOCH',
    );
  });

  test('[SPEC 7.2] a forged or altered key update is refused and keys stay as they were', async () => {
    const { sa, sb } = await handshake(pair);
    const t = Date.now();
    const ku = sa.keyUpdate(t);
    fc.assert(
      fc.property(fc.nat(ku.length * 8 - 1), (bit) => {
        const f = ku.slice();
        f[bit >> 3] = (f[bit >> 3] as number) ^ (1 << (bit & 7));
        assert.notEqual(
          codeOf(() => sb.open(f, t)),
          'accepted',
        );
      }),
      { numRuns: 200 },
    );
    assert.equal(sb.receiveEpoch, 0);
    sb.open(ku, t);
    assert.equal(sb.receiveEpoch, 1);
  });

  test('[SPEC 7.2] a replayed key update is refused', async () => {
    const { sa, sb } = await handshake(pair);
    const t = Date.now();
    const ku = sa.keyUpdate(t);
    sb.open(ku, t);
    assert.equal(
      codeOf(() => sb.open(ku, t)),
      'ERR_REPLAY',
    );
  });

  test('[SPEC 7.2] old keys cannot open new-epoch frames and vice versa', async () => {
    const { sa, sb } = await handshake(pair);
    const t = Date.now();
    const before = sa.seal(utf8('e0'));
    const kuFrame = sa.keyUpdate(t);
    const after = sa.seal(utf8('e1'));
    // Rewrite the epoch field of a new frame to 0: the old keys do not verify it.
    const forged = after.slice();
    forged[10] = 0;
    assert.equal(
      codeOf(() => sb.open(forged, t)),
      'ERR_BAD_MAC',
    );
    sb.open(before, t);
    sb.open(kuFrame, t);
    assert.deepEqual(data(sb.open(after, t)), ['e1']);
  });

  test('[SPEC 7.2] requestUpdate asks the peer to update too', async () => {
    const { sa, sb } = await handshake(pair);
    const t = Date.now();
    const [d] = sb.open(sa.keyUpdate(t, true), t);
    assert.deepEqual(d, { type: 'key-update', epoch: 1, requestUpdate: true });
  });

  test("[SPEC 7.2] an own ephemeral is wiped once the peer's ClearToken2 names a later one of ours", async () => {
    const now = Date.now();
    const { pending, frame } = initiate(pair.a, pair.idB, now);
    const r = await respond(pair.b, frame, pair.idA, now);
    const sb = r.session;
    const sa = (await complete(pair.a, pending, responseFrame(r.token), pair.idB, now)).session;
    // The session keeps its copy of the handshake ephemeral in its key buffer and wipes the caller's array at once.
    const given = pending.ephemerals.get(sa.suite.group)?.privateKey;
    assert.ok(
      given?.every((b) => b === 0),
      "the caller's array wiped once copied",
    );
    const eph0 = (sa as unknown as { ownEphemeral(e: number): Uint8Array | undefined }).ownEphemeral(0); // a view of the copy
    assert.ok(eph0 && eph0.length === 32 && eph0.some((b) => b !== 0));
    const group = sa.suite.group;
    assert.ok(group !== 'x25519mlkem768', 'a DH suite');
    const kp = (): KeyPair => sa.provider.kexKeyPair(group);
    assert.deepEqual(sa.ephemeralEpochs, [0]);
    const [k1, k2] = [kp(), kp()];
    const u1 = sa.keyUpdate(now, false, k1);
    // B updates before it sees A's update: it names A's handshake share (peerKeyEpoch 0); nothing can go yet.
    sa.open(sb.keyUpdate(now), now);
    assert.deepEqual(sa.ephemeralEpochs, [0, 1]);
    sb.open(u1, now);
    const u2 = sa.keyUpdate(now, false, k2);
    assert.deepEqual(sa.ephemeralEpochs, [0, 1, 2]);
    sb.open(u2, now);
    // B's next update names A's epoch 2: A's keys of epochs 0 and 1 are zeroed and dropped, epoch 2's is kept.
    sa.open(sb.keyUpdate(now), now);
    assert.deepEqual(sa.ephemeralEpochs, [2]);
    assert.ok(
      eph0.every((b) => b === 0),
      'handshake ephemeral wiped',
    );
    assert.ok(
      k1.privateKey.every((b) => b === 0),
      'epoch 1 ephemeral wiped',
    );
    assert.ok(
      k2.privateKey.some((b) => b !== 0),
      'epoch 2 ephemeral still needed',
    );
    // B can update again (still naming epoch 2) and both directions keep working.
    sa.open(sb.keyUpdate(now), now);
    assert.deepEqual(sa.ephemeralEpochs, [2]);
    assert.deepEqual(data(sb.open(sa.seal(utf8('a')), now)), ['a']);
    assert.deepEqual(data(sa.open(sb.seal(utf8('b')), now)), ['b']);
  });

  test('[SPEC 7.2] several rounds of updates from both sides: exactly the ephemerals the peer can still name are retained', async () => {
    const { sa, sb } = await handshake(pair);
    const t = Date.now();
    // The peer names our latest ephemeral it has seen, i.e. its receive epoch when it updates; once that update
    // arrives, everything of ours older than the named epoch is gone.
    const named = new Map<Session, number>([
      [sa, 0],
      [sb, 0],
    ]);
    const names = new WeakMap<Uint8Array, number>();
    const update = (x: Session, requestUpdate = false): Uint8Array => {
      const f = x.keyUpdate(t, requestUpdate);
      names.set(f, x.receiveEpoch);
      return f;
    };
    const deliver = (to: Session, f: Uint8Array): Delivery[] => {
      const ds = to.open(f, t);
      named.set(to, names.get(f) as number);
      return ds;
    };
    const rounds: ((x: Session, y: Session) => void)[] = [
      (x, y) => void deliver(y, update(x)), // one side alone
      (x, y) => {
        // requestUpdate, answered at once (as the endpoint does: with requestUpdate = false)
        const [d] = deliver(y, update(x, true));
        assert.ok(d?.type === 'key-update' && d.requestUpdate);
        const [back] = deliver(x, update(y));
        assert.ok(back?.type === 'key-update' && !back.requestUpdate);
      },
      (x, y) => {
        // crossing updates
        const ux = update(x);
        const uy = update(y);
        deliver(y, ux);
        deliver(x, uy);
      },
    ];
    for (let i = 0; i < 15; i++) {
      const [x, y] = i % 2 === 0 ? [sa, sb] : [sb, sa];
      (rounds[i % rounds.length] as (x: Session, y: Session) => void)(x, y);
      assert.deepEqual(data(sb.open(sa.seal(utf8(`a${i}`)), t)), [`a${i}`]);
      assert.deepEqual(data(sa.open(sb.seal(utf8(`b${i}`)), t)), [`b${i}`]);
      for (const s of [sa, sb]) {
        const from = named.get(s) as number;
        const want = Array.from({ length: s.sendEpoch - from + 1 }, (_, k) => from + k).slice(-s.options.retainedEphemerals);
        assert.deepEqual(s.ephemeralEpochs, want, `round ${i}`);
      }
    }
    assert.ok(sa.sendEpoch >= 8 && sb.sendEpoch >= 8);
  });

  test('[SPEC 7.5] automatic key update is due after the configured message count', async () => {
    const p = await makePair();
    const { sa } = await handshake(p);
    const s = sa as Session;
    assert.equal(s.needsKeyUpdate(Date.now()), false);
    assert.equal(s.needsKeyUpdate(Date.now() + s.options.rekeyAfterMs), true);
  });
});
