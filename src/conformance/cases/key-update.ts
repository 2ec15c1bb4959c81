/** Groups 7 and 8: key update from both sides, lost and reordered KEY_UPDATEs; end-to-end acknowledgements. [SPEC 7.2, 7.3, 7.6] */
import { FrameType } from '../../codec/frame.js';
import { equal } from '../../bytes/index.js';
import { encodeClearToken2, encodeAlert } from '../../codec/tokens.js';
import { acknowledges, type AckRange } from '../../codec/ack.js';
import { encodeControl } from '../contract.js';
import type { ConformanceCase } from '../case.js';
import { flip, onSession } from './helpers.js';

export const keyUpdateCases: ConformanceCase[] = [
  onSession(
    '7.1.1',
    'kit updates its keys (requestUpdate = false); records of the new epoch are accepted',
    'SPEC 7.2',
    async (env, p, v) => {
      const s = p.session!;
      await p.sendFrame(s.keyUpdate(Date.now(), false));
      const x = env.payload('epoch 1');
      await p.send(x);
      v.fail(!(await p.waitEcho(x)), 'a record of the new epoch was not accepted');
    },
  ),
  onSession(
    '7.1.2',
    'kit updates with requestUpdate = true; the IUT answers with its own update (requestUpdate = false)',
    'SPEC 7.2',
    async (env, p, v) => {
      const s = p.session!;
      await p.sendFrame(s.keyUpdate(Date.now(), true));
      const ku = await p.waitFor((e) => e.kind === 'key-update');
      v.nonStrict(!ku, 'no KEY_UPDATE in answer to requestUpdate');
      if (ku && ku.kind === 'key-update')
        v.fail(ku.requestUpdate, 'the answering KEY_UPDATE has requestUpdate = true (requests would bounce)');
      const x = env.payload('after both updates');
      await p.send(x);
      const echo = await p.waitFor((e) => e.kind === 'data' && e.epoch >= 1, env.timeoutMs);
      if (ku) v.fail(!echo, "no echo under the IUT's new epoch");
    },
  ),
  onSession(
    '7.1.3',
    'IUT updates its keys on request (control rekey) and echoes under the new epoch',
    'SPEC 7.2, Annex C.2',
    async (env, p, v) => {
      const ctl = encodeControl({ op: 'rekey' });
      await p.send(ctl);
      const ku = await p.waitFor((e) => e.kind === 'key-update');
      v.fail(!ku, 'no KEY_UPDATE after the rekey control message');
      const echo = await p.waitFor((e) => e.kind === 'data' && equal(e.payload, ctl));
      v.fail(!echo, 'the control message was not echoed');
      if (echo && echo.kind === 'data') v.fail(echo.epoch !== 1, `the echo came under epoch ${echo.epoch}, not the new epoch 1`);
      // a second update: epochs follow one another
      await p.send(ctl);
      p.intend(ctl); // the second echo of the same control payload is meant
      const second = await p.waitFor((e) => e.kind === 'key-update' && e.newEpoch === 2);
      v.fail(!second, 'the second update does not introduce epoch 2');
    },
  ),
  onSession('7.1.4', 'both sides update at once; both directions move on', 'SPEC 7.2', async (env, p, v) => {
    const s = p.session!;
    const ku = s.keyUpdate(Date.now(), false);
    const c = encodeControl({ op: 'rekey' });
    const ctl = p.seal(c);
    p.intend(c);
    await p.sendFrame(ctl);
    await p.sendFrame(ku);
    v.fail(!(await p.waitFor((e) => e.kind === 'key-update')), 'no KEY_UPDATE from the IUT');
    const x = env.payload('both updated');
    await p.send(x);
    v.fail(!(await p.waitEcho(x)), 'no echo after both updates');
  }),
  onSession(
    '7.1.5',
    'a record of the previous epoch in flight during the update is accepted once (grace)',
    'SPEC 7.3',
    async (env, p, v) => {
      const s = p.session!;
      const late = env.payload('previous epoch');
      const f = p.seal(late);
      p.intend(late);
      await p.sendFrame(s.keyUpdate(Date.now(), false));
      const now = env.payload('new epoch');
      await p.send(now);
      v.fail(!(await p.waitEcho(now)), 'record of the new epoch not accepted');
      await p.sendFrame(f);
      v.fail(!(await p.waitEcho(late)), 'the previous epoch was not accepted during its grace period');
      await p.sendFrame(f);
    },
  ),
  onSession(
    '7.2.1',
    'records of the new epoch that overtake the KEY_UPDATE are held and accepted after it',
    'SPEC 7.3',
    async (env, p, v) => {
      const s = p.session!;
      const ku = s.keyUpdate(Date.now(), false);
      const xs = [0, 1, 2].map((i) => env.payload(`ahead ${i}`));
      const fs = xs.map((x) => p.seal(x));
      for (const x of xs) p.intend(x);
      for (const f of fs) await p.sendFrame(f);
      await p.sendFrame(ku);
      for (const x of xs) v.fail(!(await p.waitEcho(x)), 'a held record was not accepted after its KEY_UPDATE');
    },
  ),
  onSession(
    '7.2.2',
    'a lost KEY_UPDATE is recovered: ALERT ERR_UNKNOWN_EPOCH, the update re-sent, held records accepted',
    'SPEC 7.3',
    async (env, p, v) => {
      const s = p.session!;
      const ku = s.keyUpdate(Date.now(), false); // "lost": not sent yet
      const xs = Array.from({ length: 17 }, (_, i) => env.payload(`held ${i}`));
      const fs = xs.map((x) => p.seal(x));
      for (const f of fs) await p.sendFrame(f);
      const alert = await p.waitFor((e) => e.kind === 'alert' && e.code === 'ERR_UNKNOWN_EPOCH');
      v.fail(!alert, 'no protected ALERT ERR_UNKNOWN_EPOCH when the hold bound was exceeded');
      if (alert && alert.kind === 'alert') v.nonStrict(alert.reference !== 1, `the alert references epoch ${alert.reference}, not 1`);
      for (const x of xs.slice(0, 16)) p.intend(x);
      await p.sendFrame(ku);
      let held = 0;
      for (const x of xs.slice(0, 16)) if (await p.waitEcho(x, 500)) held++;
      v.fail(held < 16, `${held} of the 16 held records were accepted after the KEY_UPDATE was re-sent`);
    },
  ),
  onSession('7.3.1', 'a KEY_UPDATE that skips an epoch is refused and changes nothing', 'SPEC 7.2', async (env, p) => {
    const t = {
      version: 1,
      newEpoch: 2,
      group: 1,
      publicKey: env.kit.provider.kexKeyPair('x25519').publicKey,
      peerKeyEpoch: 0,
      requestUpdate: false,
    };
    await p.sendFrame(p.sealType(FrameType.KEY_UPDATE, encodeClearToken2(t)));
  }),
  onSession('7.3.2', 'a KEY_UPDATE naming another group is refused and changes nothing', 'SPEC 7.2', async (env, p) => {
    const t = {
      version: 1,
      newEpoch: 1,
      group: 2,
      publicKey: env.kit.provider.kexKeyPair('p256').publicKey,
      peerKeyEpoch: 0,
      requestUpdate: false,
    };
    await p.sendFrame(p.sealType(FrameType.KEY_UPDATE, encodeClearToken2(t)));
  }),
  onSession('7.3.3', 'a KEY_UPDATE with a bad tag is refused; a genuine one afterwards works', 'SPEC 7.1, 7.2', async (env, p, v) => {
    const s = p.session!;
    const ku = s.keyUpdate(Date.now(), false);
    await p.sendFrame(flip(ku, 'tag', 3));
    await p.sendFrame(ku);
    const x = env.payload('after genuine update');
    await p.send(x);
    v.fail(!(await p.waitEcho(x)), 'the genuine KEY_UPDATE after a forged one did not work');
  }),
];

function marks(ranges: readonly AckRange[], epoch: number, seq: number): boolean {
  return ranges.some((r) => r.epoch === epoch && acknowledges(r, seq));
}

export const ackCases: ConformanceCase[] = [
  onSession('8.1.1', 'an accepted DATA record is acknowledged (within acks.delayMs ≤ 1 s)', 'SPEC 7.6', async (env, p, v) => {
    const seq = p.session!.nextSeq;
    const t0 = Date.now();
    await p.send(env.payload('acked'));
    const ack = await p.waitFor((e) => e.kind === 'ack' && marks(e.ranges, 0, seq), 1000 + env.timeoutMs);
    v.nonStrict(!ack, 'no ACK for a single DATA record');
    v.nonStrict(ack !== undefined && Date.now() - t0 > 1000, 'the ACK came later than 1 s');
  }),
  onSession('8.1.2', '33 DATA records in a burst are acknowledged (MUST after at most 32)', 'SPEC 7.6', async (env, p, v) => {
    const first = p.session!.nextSeq;
    for (let i = 0; i < 33; i++) await p.send(env.payload(`burst ${i}`));
    const ack = await p.waitFor((e) => e.kind === 'ack' && e.ranges.some((r) => r.epoch === 0 && r.highest >= first + 31), env.timeoutMs);
    v.fail(!ack, 'no ACK covering the first 32 records of the burst');
  }),
  onSession('8.1.3', 'a refused record is never marked in an ACK', 'SPEC 7.6', async (env, p, v) => {
    const s = p.session!;
    await p.send(env.payload('good 1'));
    const badSeq = s.nextSeq;
    await p.sendFrame(flip(p.seal(env.payload('bad')), 'tag', 2));
    const last = env.payload('good 2');
    const lastSeq = s.nextSeq;
    await p.send(last);
    const ack = await p.waitFor(
      (e) => e.kind === 'ack' && e.ranges.some((r) => r.epoch === 0 && r.highest >= lastSeq),
      1000 + env.timeoutMs,
    );
    v.nonStrict(!ack, 'no ACK for the records around the refused one');
    if (ack && ack.kind === 'ack') v.fail(marks(ack.ranges, 0, badSeq), 'the ACK marks the refused record');
    v.fail(
      p.events.some((e) => e.kind === 'unreadable' && e.code === 'ERR_MALFORMED'),
      'the IUT sent a record the kit could not parse (malformed ACK?)',
    );
  }),
  onSession(
    '8.1.4',
    'records the kit altered are never marked in any ACK; every genuine one around them is',
    'SPEC 7.6',
    async (env, p, v) => {
      const s = p.session!;
      const altered = new Map<number, string>([
        [3, 'tag'],
        [17, 'payload'],
        [35, 'tag'],
      ]);
      const first = s.nextSeq;
      for (let i = 0; i < 40; i++) {
        const seq = s.nextSeq;
        const region = altered.get(i);
        if (region) {
          altered.set(i, `${region}@${seq}`);
          await p.sendFrame(flip(p.seal(env.payload(`altered ${i}`)), region === 'tag' ? 'tag' : 'payload', 5));
        } else await p.send(env.payload(`genuine ${i}`));
      }
      const last = first + 39;
      await p.waitFor((e) => e.kind === 'ack' && e.ranges.some((r) => r.epoch === 0 && r.highest >= last), 1000 + env.timeoutMs);
      await env.sleep(env.settleMs);
      const acks = p.events.filter((e) => e.kind === 'ack').map((e) => (e.kind === 'ack' ? e.ranges : []));
      v.nonStrict(acks.length === 0, 'no ACK at all');
      const bad = [...altered.entries()].filter(([i]) => acks.some((rs) => marks(rs, 0, first + i)));
      v.fail(
        bad.length > 0,
        `an ACK marks the altered record(s) ${bad.map(([i, w]) => `#${i} (${w})`).join(', ')}: the sender would take them for confirmed`,
      );
      const genuine = Array.from({ length: 40 }, (_, i) => i).filter((i) => !altered.has(i));
      const unmarked = genuine.filter((i) => !acks.some((rs) => marks(rs, 0, first + i)));
      if (acks.length > 0)
        v.fail(unmarked.length > 0, `genuine records never marked in an ACK: ${unmarked.map((i) => `#${i}`).join(', ')}`);
      v.fail(
        p.events.some((e) => e.kind === 'unreadable' && e.code === 'ERR_MALFORMED'),
        'the IUT sent a record the kit could not parse (malformed ACK?)',
      );
      if (!v.failed && acks.length > 0)
        v.pass(
          `${acks.length} ACK(s): the 37 genuine records marked, the 3 altered never (their gap is what the sender reports as ERR_NOT_CONFIRMED)`,
        );
    },
  ),
  onSession(
    '8.1.5',
    'across a key update an ACK carries two ranges in ascending epoch order, each marking its records',
    'SPEC 7.6, 7.3',
    async (env, p, v) => {
      const s = p.session!;
      const base = s.nextSeq;
      const old = [base, base + 1, base + 2];
      for (let i = 0; i < 3; i++) await p.send(env.payload(`epoch 0 #${i}`));
      await p.sendFrame(s.keyUpdate(Date.now(), false));
      const fresh = [0, 1, 2];
      for (let i = 0; i < 3; i++) await p.send(env.payload(`epoch 1 #${i}`));
      const ack = await p.waitFor((e) => e.kind === 'ack' && e.ranges.some((r) => r.epoch === 1 && r.highest >= 2), 1000 + env.timeoutMs);
      v.fail(
        p.events.some((e) => e.kind === 'unreadable' && e.code === 'ERR_MALFORMED'),
        'the IUT sent a record the kit could not parse (ranges out of order or of one epoch?)',
      );
      if (!ack || ack.kind !== 'ack') {
        v.nonStrict(true, 'no ACK for the records of the new epoch');
        return;
      }
      const epochs = ack.ranges.map((r) => r.epoch);
      v.fail(
        epochs.length === 2 && !(epochs[0] === 0 && epochs[1] === 1),
        `the two ranges are for epochs ${epochs.join(', ')}, not 0 then 1`,
      );
      v.nonStrict(
        epochs.length !== 2,
        `the ACK after the update has ${epochs.length} range(s) (${epochs.join(', ')}); the previous epoch is open during its grace period and belongs in it`,
      );
      v.fail(
        fresh.some((q) => !marks(ack.ranges, 1, q)),
        'the epoch 1 range does not mark every record of epoch 1',
      );
      if (epochs.length === 2)
        v.fail(
          old.some((q) => !marks(ack.ranges, 0, q)),
          'the epoch 0 range does not mark every DATA record of epoch 0',
        );
      if (!v.failed) v.pass(`ranges ${epochs.join(', ')}`);
    },
  ),
  onSession('8.2.1', 'a malformed ACK (bit 0 clear) is refused and the session goes on', 'SPEC 7.6', async (env, p) => {
    const bad = new Uint8Array(8);
    bad[0] = 0x80;
    await p.sendFrame(p.sealType(FrameType.ACK, rawAck(bad)));
  }),
  onSession('8.2.2', 'an ALERT with an unknown code on a live session does not end it', 'SPEC 7.1, 8.7', async (_env, p) => {
    await p.sendFrame(p.sealType(FrameType.ALERT, encodeAlert({ code: 'ERR_SOMETHING_ELSE' })));
  }),
];

/** DER of `Ack ::= SEQUENCE { SEQUENCE { epoch 0, highest 5, accepted } }` without encodeAck's checks. */
function rawAck(accepted: Uint8Array): Uint8Array {
  const inner = Uint8Array.of(0x02, 0x01, 0x00, 0x02, 0x01, 0x05, 0x04, 0x08, ...accepted);
  const range = Uint8Array.of(0x30, inner.length, ...inner);
  return Uint8Array.of(0x30, range.length, ...range);
}
