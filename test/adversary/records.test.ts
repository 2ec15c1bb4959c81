/**
 * A hostile intermediary against established sessions (memory hub): every record attack ends in a
 * typed rejection, nothing wrong is delivered, and the session goes on. [SPEC 7.1, 7.3, 7.4, 8.1]
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { arena, settle, until, text } from '../support/arena.js';
import { forgeRecord, forgeKeyUpdate, forgeHandshakeAlert, type AdversaryRule } from '../../src/adversary/index.js';
import { decodeRecordHeader } from '../../src/codec/frame.js';
import { GROUP_IDS } from '../../src/crypto/suites.js';

const MODES = ['integrity', 'confidentiality'] as const;
/** HMAC-SHA256 tag in integrity mode (default suites), AEAD tag otherwise. */
const tagLen = (m: (typeof MODES)[number]): number => (m === 'integrity' ? 32 : 16);

async function established(protection: (typeof MODES)[number], ids: readonly string[] = ['a', 'b'], opts = {}) {
  const x = await arena(ids, [], { protection, ...opts });
  await x.roundTrip('a', 'b', 'hello');
  await x.roundTrip('b', 'a', 'hi');
  return x;
}

for (const mode of MODES) {
  describe(`records under attack (${mode})`, () => {
    const flips: Array<[string, AdversaryRule['action'], string]> = [
      ['payload', { kind: 'flip', region: 'payload', tagLength: tagLen(mode) }, 'ERR_BAD_MAC'],
      ['tag', { kind: 'flip', region: 'tag' }, 'ERR_BAD_MAC'],
      // header bytes: 0 = version|type, 1-8 = session id, 9-10 = epoch, 11 = seq varint (1 byte below 64)
      ['header version nibble', { kind: 'flip', region: 'header', bit: 1 }, 'ERR_VERSION'],
      ['header type (DATA → 11, unknown)', { kind: 'flip', region: 'header', bit: 4 }, 'ERR_MALFORMED'],
      // the type is authenticated: DATA turned into another record type (ACK) fails the tag [SPEC 3.3, 7.6]
      ['header type (DATA → ACK)', { kind: 'flip', region: 'header', bit: 5 }, 'ERR_BAD_MAC'],
      ['header session id', { kind: 'flip', region: 'header', bit: 8 + 3 }, 'ERR_UNKNOWN_SESSION'],
      ['header epoch (high bit)', { kind: 'flip', region: 'header', bit: 72 }, 'ERR_UNKNOWN_EPOCH'],
      ['header sequence number', { kind: 'flip', region: 'header', bit: 88 + 2 }, 'ERR_BAD_MAC'],
    ];
    for (const [what, action, code] of flips) {
      test(`[SPEC 7.1] bit flip in the record ${what} → ${code}, not delivered, session goes on`, async () => {
        const x = await established(mode);
        try {
          x.adv.add({ name: 'flip', match: { type: 'DATA', from: 'a', nth: 1 }, action });
          await x.send('a', 'b', 'tampered');
          await x.rejected('b', code as never);
          x.adv.clear();
          await x.roundTrip('a', 'b', 'after');
          assert.equal(x.adv.hits('flip'), 1);
          assert.ok(!x.inbox.b!.map(text).includes('tampered'));
          x.assertClean();
        } finally {
          await x.close();
        }
      });
    }

    test('[SPEC 7.1] random bit flips anywhere in records (seeded, 40 frames): none delivered, every one refused', async () => {
      const x = await established(mode);
      try {
        x.adv.add({ name: 'flip', match: { type: 'DATA', from: 'a' }, action: { kind: 'flip', bits: 1 } });
        for (let i = 0; i < 40; i++) await x.send('a', 'b', `t${i}`);
        await until(() => x.rejects.b!.length + x.adv.held() >= 40 || x.rejects.b!.length >= 40, 5000, 'rejections');
        await x.hub.drain();
        await settle();
        const allowed = new Set(['ERR_BAD_MAC', 'ERR_VERSION', 'ERR_MALFORMED', 'ERR_UNKNOWN_SESSION', 'ERR_UNKNOWN_EPOCH', 'ERR_REPLAY']);
        for (const r of x.rejects.b!) assert.ok(allowed.has(r.code), r.code);
        assert.equal(x.inbox.b!.filter((m) => text(m).startsWith('t')).length, 0);
        x.adv.clear();
        await x.roundTrip('a', 'b', 'after');
        x.assertClean();
      } finally {
        await x.close();
      }
    });

    test('[SPEC 7.1] truncated and extended records → ERR_BAD_MAC / ERR_MALFORMED; session goes on', async () => {
      const x = await established(mode);
      try {
        x.adv.add({ name: 'cut', match: { type: 'DATA', from: 'a', nth: 1 }, action: { kind: 'truncate', by: 1 } });
        x.adv.add({ name: 'ext', match: { type: 'DATA', from: 'a', nth: 2 }, action: { kind: 'extend', length: 3 } });
        x.adv.add({ name: 'stub', match: { type: 'DATA', from: 'a', nth: 3 }, action: { kind: 'truncate', to: 11 } });
        await x.send('a', 'b', 'cut');
        await x.send('a', 'b', 'ext');
        await x.send('a', 'b', 'stub');
        await until(() => x.rejects.b!.length === 3);
        assert.deepEqual(
          x.rejects.b!.map((r) => r.code),
          ['ERR_BAD_MAC', 'ERR_BAD_MAC', 'ERR_MALFORMED'],
        );
        await x.roundTrip('a', 'b', 'after');
        assert.deepEqual(x.inbox.b!.map(text), ['hello', 'after']);
      } finally {
        await x.close();
      }
    });

    test('[SPEC 7.4] dropped records do not kill the session: later ones are delivered', async () => {
      const x = await established(mode);
      try {
        x.adv.add({ name: 'drop', match: { type: 'DATA', from: 'a', nth: [1, 3] }, action: { kind: 'drop' } });
        for (const m of ['d1', 'd2', 'd3', 'd4']) await x.send('a', 'b', m);
        await until(() => x.inbox.b!.length === 3);
        assert.deepEqual(x.inbox.b!.map(text), ['hello', 'd2', 'd4']);
        assert.equal(x.rejects.b!.length, 0);
      } finally {
        await x.close();
      }
    });

    test('[SPEC 7.4] duplicated records reach the application exactly once (ERR_REPLAY for the copies)', async () => {
      const x = await established(mode);
      try {
        x.adv.add({ name: 'dup', match: { type: 'DATA', from: 'a' }, action: { kind: 'duplicate', copies: 2 } });
        for (let i = 0; i < 10; i++) await x.send('a', 'b', `m${i}`);
        await until(() => x.inbox.b!.length === 11);
        await x.hub.drain();
        await settle();
        assert.deepEqual(
          x.inbox.b!.map(text).slice(1),
          Array.from({ length: 10 }, (_, i) => `m${i}`),
        );
        assert.equal(x.eps.b!.stats().rejected.ERR_REPLAY, 20);
        x.assertClean();
      } finally {
        await x.close();
      }
    });

    test('[SPEC 7.4] a record replayed later (after 3 frames) → ERR_REPLAY, delivered once', async () => {
      const x = await established(mode);
      try {
        x.adv.add({ name: 'replay', match: { type: 'DATA', from: 'a', nth: 1 }, action: { kind: 'replay', after: 3 } });
        for (const m of ['r1', 'r2', 'r3', 'r4', 'r5']) await x.send('a', 'b', m);
        await x.rejected('b', 'ERR_REPLAY');
        await until(() => x.inbox.b!.length === 6);
        assert.deepEqual(x.inbox.b!.map(text), ['hello', 'r1', 'r2', 'r3', 'r4', 'r5']);
        x.assertClean();
      } finally {
        await x.close();
      }
    });

    test('[SPEC 7.4] a record replayed more than 64 records later is too old → ERR_REPLAY', async () => {
      const x = await established(mode);
      try {
        x.adv.add({ name: 'replay', match: { type: 'DATA', from: 'a', nth: 1 }, action: { kind: 'delay' } });
        await x.send('a', 'b', 'old');
        for (let i = 0; i < 70; i++) await x.send('a', 'b', `n${i}`);
        await until(() => x.inbox.b!.length === 71);
        assert.equal(x.adv.release(), 1);
        await x.rejected('b', 'ERR_REPLAY');
        assert.ok(!x.inbox.b!.map(text).includes('old'), 'a record older than the window is refused even though never delivered');
      } finally {
        await x.close();
      }
    });

    test('[SPEC 7.4] reordered records are each delivered once', async () => {
      const x = await established(mode);
      try {
        x.adv.add({ name: 'swap', match: { type: 'DATA', from: 'a', nth: [1, 3] }, action: { kind: 'reorder' } });
        for (const m of ['o1', 'o2', 'o3', 'o4']) await x.send('a', 'b', m);
        await until(() => x.inbox.b!.length === 5);
        assert.deepEqual(x.inbox.b!.map(text), ['hello', 'o2', 'o1', 'o4', 'o3']);
        assert.equal(x.rejects.b!.length, 0);
      } finally {
        await x.close();
      }
    });

    test('[SPEC 7.1] a record reflected back to its sender → ERR_BAD_MAC (per-direction keys)', async () => {
      const x = await established(mode);
      try {
        // (a's sequence numbers run ahead of b's, so the reflected one is not refused as a replay before its tag is checked)
        x.adv.add({ name: 'reflect', match: { type: 'DATA', from: 'a', nth: 3 }, action: { kind: 'reflect', keep: true } });
        await x.send('a', 'b', 'w1');
        await x.send('a', 'b', 'w2');
        await x.send('a', 'b', 'mirror');
        await x.rejected('a', 'ERR_BAD_MAC');
        await until(() => x.inbox.b!.length === 4);
        assert.equal(x.inbox.a!.filter((m) => text(m) === 'mirror').length, 0);
        await x.roundTrip('b', 'a', 'after');
        x.assertClean();
      } finally {
        await x.close();
      }
    });

    test('[SPEC 8.1] a record redirected to a third endpoint → ERR_UNKNOWN_SESSION there', async () => {
      const x = await established(mode, ['a', 'b', 'c']);
      try {
        await x.roundTrip('a', 'c', 'to-c');
        x.adv.add({ name: 'redirect', match: { type: 'DATA', from: 'a', to: 'b', nth: 1 }, action: { kind: 'redirect', to: 'c' } });
        await x.send('a', 'b', 'for-b');
        await x.rejected('c', 'ERR_UNKNOWN_SESSION');
        assert.deepEqual(x.inbox.c!.map(text), ['to-c']);
        await x.roundTrip('a', 'c', 'c-after');
        await x.roundTrip('a', 'b', 'b-after');
        x.assertClean();
      } finally {
        await x.close();
      }
    });

    test('[SPEC 8.1] a record re-addressed as coming from another peer → ERR_WRONG_PEER', async () => {
      const x = await established(mode, ['a', 'b', 'c']);
      try {
        await x.roundTrip('c', 'b', 'c-hello');
        x.adv.add({ name: 'spoof', match: { type: 'DATA', from: 'a', to: 'b', nth: 1 }, action: { kind: 'redirect', to: 'b', as: 'c' } });
        await x.send('a', 'b', 'spoofed');
        await x.rejected('b', 'ERR_WRONG_PEER');
        assert.ok(!x.inbox.b!.some((m) => m.from === 'c' && text(m) === 'spoofed'));
        await x.roundTrip('a', 'b', 'a-after');
        x.assertClean();
      } finally {
        await x.close();
      }
    });

    test('[SPEC 7.1, 7.4] splices: this header + an earlier body → ERR_BAD_MAC; an earlier header + this body → ERR_REPLAY', async () => {
      const x = await established(mode);
      try {
        x.adv.add({ name: 'splice-h', match: { type: 'DATA', from: 'a', nth: 2 }, action: { kind: 'splice', keep: 'header' } });
        x.adv.add({ name: 'splice-b', match: { type: 'DATA', from: 'a', nth: 4 }, action: { kind: 'splice', keep: 'body' } });
        for (const m of ['s1', 's2', 's3', 's4']) await x.send('a', 'b', m);
        await until(() => x.rejects.b!.length === 2);
        assert.deepEqual(
          x.rejects.b!.map((r) => r.code),
          ['ERR_BAD_MAC', 'ERR_REPLAY'],
        );
        await x.roundTrip('a', 'b', 'after');
        assert.deepEqual(x.inbox.b!.map(text), ['hello', 's1', 's3', 'after']);
      } finally {
        await x.close();
      }
    });

    test('[SPEC 7.1, 7.2] forged records (right session id and next seq, guessed tag), forged KEY_UPDATE and ALERT → ERR_BAD_MAC', async () => {
      const x = await established(mode);
      try {
        let sid: Uint8Array | undefined;
        x.adv.add({
          name: 'forge',
          match: { type: 'DATA', from: 'a', nth: 1 },
          action: {
            kind: 'inject',
            position: 'after',
            make: (f) => {
              const h = decodeRecordHeader(f.bytes);
              sid = h.sessionId.slice();
              return [
                forgeRecord({
                  sessionId: sid,
                  epoch: h.epoch,
                  seq: h.seq + 1,
                  payload: new TextEncoder().encode('forged!'),
                  tagLength: tagLen(mode),
                }),
                forgeKeyUpdate(sid, h.epoch, h.seq + 2, {
                  version: 1,
                  newEpoch: 1,
                  group: GROUP_IDS.x25519,
                  publicKey: new Uint8Array(32).fill(9),
                  peerKeyEpoch: 0,
                  requestUpdate: true,
                }),
                forgeRecord({
                  type: 'ALERT',
                  sessionId: sid,
                  epoch: h.epoch,
                  seq: h.seq + 3,
                  payload: new Uint8Array([0x30, 0x0c, 0x0c, 0x0a, ...new TextEncoder().encode('ERR_CLOSED')]),
                }),
              ];
            },
          },
        });
        await x.send('a', 'b', 'real');
        await until(() => x.rejects.b!.length === 3);
        assert.deepEqual(
          x.rejects.b!.map((r) => r.code),
          ['ERR_BAD_MAC', 'ERR_BAD_MAC', 'ERR_BAD_MAC'],
        );
        assert.equal(x.eps.b!.sessions()[0]!.receiveEpoch, 0, 'no key update applied');
        await x.roundTrip('a', 'b', 'after'); // seq of the forged frames is still usable by the genuine sender
        assert.deepEqual(x.inbox.b!.map(text), ['hello', 'real', 'after']);
        assert.equal(x.eps.b!.sessions().length, 1, 'forged ERR_CLOSED did not end the session');
      } finally {
        await x.close();
      }
    });

    test('[SPEC 3.6, 8.8] a forged HS_ALERT ERR_UNKNOWN_SESSION never ends an established session', async () => {
      const x = await established(mode);
      try {
        x.adv.add({
          name: 'hint',
          match: { type: 'DATA', from: 'b', nth: 1 },
          action: {
            kind: 'inject',
            position: 'after',
            make: (f) => forgeHandshakeAlert(decodeRecordHeader(f.bytes).sessionId, 'ERR_UNKNOWN_SESSION'),
          },
        });
        await x.roundTrip('b', 'a', 'ping');
        await x.hub.drain();
        await settle(50);
        await x.roundTrip('a', 'b', 'still-works');
        await x.roundTrip('b', 'a', 'both-ways');
        assert.equal(x.adv.hits('hint'), 1);
        assert.equal(x.eps.a!.sessions().length, 1);
        x.assertClean();
      } finally {
        await x.close();
      }
    });

    test('[SPEC 7.2, 7.3] KEY_UPDATE attacks: duplicated → ERR_REPLAY; reordered after data → data held then delivered once; dropped → later frames refused (ERR_UNKNOWN_EPOCH after the hold bound)', async () => {
      const x = await established(mode, ['a', 'b'], { session: { maxEarlyFrames: 4 } });
      try {
        x.adv.add({ name: 'dup-ku', match: { type: 'KEY_UPDATE', from: 'a', nth: 1 }, action: { kind: 'duplicate' } });
        await x.eps.a!.rekey('b');
        await x.roundTrip('a', 'b', 'e1');
        await x.rejected('b', 'ERR_REPLAY');
        x.adv.clear();
        x.adv.add({ name: 'swap-ku', match: { type: 'KEY_UPDATE', from: 'a', nth: 1 }, action: { kind: 'reorder' } });
        await x.eps.a!.rekey('b');
        await x.roundTrip('a', 'b', 'e2');
        x.adv.clear();
        assert.deepEqual(x.inbox.b!.map(text), ['hello', 'e1', 'e2']);
        // A dropped key update: frames of the next epoch are held (bounded); past the bound they are refused
        // (ERR_UNKNOWN_EPOCH), b reports the missing update, a sends the same KEY_UPDATE again and the held
        // frames are delivered, once each. [SPEC 7.3]
        // The hold bound counts records of any type: let a's delayed ACK (acks.delayMs, SPEC 7.6) go out under the
        // old epoch first, so the 4 held slots are the DATA records below.
        await settle(60);
        x.adv.add({ name: 'drop-ku', match: { type: 'KEY_UPDATE', from: 'a', nth: 1 }, action: { kind: 'drop' } });
        await x.eps.a!.rekey('b');
        for (let i = 0; i < 6; i++) await x.send('a', 'b', `lost${i}`);
        await x.rejected('b', 'ERR_UNKNOWN_EPOCH');
        await x.roundTrip('a', 'b', 'after-recovery', 3000);
        const held = x.inbox.b!.map(text).filter((t) => t.startsWith('lost'));
        assert.equal(new Set(held).size, held.length, 'each held frame delivered at most once');
        assert.ok(held.length >= 4, `the 4 held frames are delivered after the resent key update (got ${held.join(',')})`);
        x.assertClean();
      } finally {
        await x.close();
      }
    });

    test('[SPEC 7.2, 7.3] after a dropped KEY_UPDATE the session recovers: a later message is delivered', async () => {
      const x = await established(mode, ['a', 'b'], { session: { maxEarlyFrames: 2 } });
      try {
        x.adv.add({ name: 'drop-ku', match: { type: 'KEY_UPDATE', from: 'a', nth: 1 }, action: { kind: 'drop' } });
        await x.eps.a!.rekey('b');
        for (let i = 0; i < 4; i++) await x.send('a', 'b', `lost${i}`);
        await x.rejected('b', 'ERR_UNKNOWN_EPOCH');
        await x.roundTrip('b', 'a', 'b-still-talks');
        await settle(1100); // let any recovery (rate-limited to 1/s) run
        await x.roundTrip('a', 'b', 'recovered', 3000);
      } finally {
        await x.close();
      }
    });

    test('[SPEC 7.3] a record of the previous epoch replayed after the grace period → ERR_UNKNOWN_EPOCH; within it → ERR_REPLAY', async () => {
      const x = await established(mode);
      try {
        x.adv.add({ name: 'keep', match: { type: 'DATA', from: 'a', nth: 1 }, action: { kind: 'replay', after: 0 } });
        await x.roundTrip('a', 'b', 'epoch0');
        await x.eps.a!.rekey('b');
        await x.roundTrip('a', 'b', 'epoch1');
        x.adv.release();
        await x.rejected('b', 'ERR_REPLAY');
        x.adv.clear();
        x.adv.add({ name: 'keep2', match: { type: 'DATA', from: 'a', nth: 1 }, action: { kind: 'replay', after: 0 } });
        await x.roundTrip('a', 'b', 'epoch1-b');
        await x.eps.a!.rekey('b');
        await x.roundTrip('a', 'b', 'epoch2');
        x.skew.b = 31_000; // past graceMs (30 s) on b's clock
        x.adv.release();
        await x.rejected('b', 'ERR_UNKNOWN_EPOCH');
        await x.roundTrip('a', 'b', 'after');
        x.assertClean();
      } finally {
        await x.close();
      }
    });

    describe('ACK records under attack [SPEC 7.6]', () => {
      const confirmSend = (x: Awaited<ReturnType<typeof established>>, msg: string): Promise<void> => {
        x.sent.b!.push(msg);
        return x.eps.a!.send('b', new TextEncoder().encode(msg), { confirm: true });
      };

      test('[SPEC 7.6] a tampered ACK → ERR_BAD_MAC and confirms nothing; the next genuine ACK covers the whole window', async () => {
        const x = await established(mode);
        try {
          await until(() => x.eps.a!.unconfirmed('b').length === 0, 3000, "'hello' acknowledged");
          x.adv.add({ name: 'flip-ack', match: { type: 'ACK', from: 'b' }, action: { kind: 'flip', region: 'payload' } });
          const before = x.eps.a!.stats().confirmed;
          const pending = ['c1', 'c2', 'c3'].map((m) => confirmSend(x, m));
          await x.rejected('a', 'ERR_BAD_MAC');
          await until(() => x.inbox.b!.length === 4);
          await settle(60);
          assert.equal(x.eps.a!.stats().confirmed, before, 'a forged ACK never confirms');
          x.adv.clear();
          await confirmSend(x, 'c4');
          await Promise.all(pending);
          assert.equal(x.eps.a!.stats().confirmed, before + 4);
          assert.ok(x.adv.hits('flip-ack') >= 1);
          x.assertClean();
        } finally {
          await x.close();
        }
      });

      test('[SPEC 7.4, 7.6] a duplicated ACK → ERR_REPLAY; a reflected ACK is refused by its sender; nothing confirmed twice', async () => {
        const x = await established(mode);
        try {
          await until(() => x.eps.a!.unconfirmed('b').length === 0, 3000, "'hello' acknowledged");
          x.adv.add({ name: 'dup', match: { type: 'ACK', from: 'b', nth: 1 }, action: { kind: 'duplicate' } });
          x.adv.add({ name: 'reflect', match: { type: 'ACK', from: 'b', nth: 2 }, action: { kind: 'reflect', keep: true } });
          const before = x.eps.a!.stats().confirmed;
          await confirmSend(x, 'd1');
          await x.rejected('a', 'ERR_REPLAY');
          await confirmSend(x, 'd2');
          // per-direction keys: ERR_BAD_MAC, or ERR_REPLAY first when that sequence number was already seen from a (the window is checked before the tag)
          await until(
            () => x.adv.hits('reflect') === 1 && x.rejects.b!.some((r) => r.code === 'ERR_BAD_MAC' || r.code === 'ERR_REPLAY'),
            3000,
            'reflected ACK refused at b',
          );
          await confirmSend(x, 'd3');
          assert.equal(x.eps.a!.stats().confirmed, before + 3);
          assert.equal(x.eps.a!.stats().unconfirmed, 0);
          x.assertClean();
        } finally {
          await x.close();
        }
      });
    });
  });
}
