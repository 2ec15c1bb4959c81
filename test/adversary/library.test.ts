/** The adversary library itself: regions found by decoding, seeded determinism, rule selection. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createAdversary, createPrng, locateRegion, frameTypeName, forgeRecord, spliceFrames } from '../../src/adversary/index.js';
import { decodeRecordHeader } from '../../src/codec/frame.js';
import { makePair, handshake } from '../support/session-pair.js';
import { initiate, respond, responseFrame } from '../../src/session/handshake.js';
import { decodeSignedClearToken1 } from '../../src/codec/tokens.js';
import { utf8 } from '../../src/bytes/index.js';

test('regions: record header/payload/tag, token/certificate/signature in HS_INIT and HS_RESP, piggybacked record', async () => {
  const p = await makePair({ protection: 'integrity' });
  const { sa } = await handshake(p);
  const rec = sa.seal(utf8('hello world'));
  const h = decodeRecordHeader(rec);
  assert.deepEqual(locateRegion(rec, 'header'), { start: 0, end: h.length });
  assert.deepEqual(locateRegion(rec, 'tag', { tagLength: 32 }), { start: rec.length - 32, end: rec.length });
  const pay = locateRegion(rec, 'payload', { tagLength: 32 })!;
  assert.equal(new TextDecoder().decode(rec.subarray(pay.start, pay.end)), 'hello world');
  const now = Date.now();
  const init = initiate(p.a, p.idB, now, utf8('early!'));
  const st = decodeSignedClearToken1(init.frame.subarray(1));
  const sig = locateRegion(init.frame, 'signature')!;
  assert.deepEqual(init.frame.subarray(sig.start, sig.end), st.signature);
  const cert = locateRegion(init.frame, 'certificate')!;
  assert.deepEqual(init.frame.subarray(cert.start, cert.end), st.token.certificates[0]);
  const early = locateRegion(init.frame, 'payload')!;
  assert.equal(new TextDecoder().decode(init.frame.subarray(early.start, early.end)), 'early!');
  const r = await respond(p.b, init.frame, p.idA, now);
  const piggy = r.session.seal(utf8('piggyback'));
  const resp = responseFrame(r.token, piggy);
  const rtag = locateRegion(resp, 'tag')!;
  assert.equal(rtag.end, resp.length);
  assert.ok(locateRegion(resp, 'token')!.end <= resp.length - piggy.length);
  assert.equal(locateRegion(Uint8Array.of(0xff, 1, 2), 'header'), undefined);
  assert.equal(frameTypeName(resp), 'HS_RESP');
  assert.equal(frameTypeName(Uint8Array.of(0x27)), undefined);
  const forged = forgeRecord({ sessionId: h.sessionId, seq: 9, payload: utf8('x'), tag: new Uint8Array(16) });
  assert.equal(decodeRecordHeader(forged).seq, 9);
  const sp = spliceFrames(forged, rec)!;
  assert.deepEqual(sp.subarray(decodeRecordHeader(sp).length), rec.subarray(h.length));
});

test('seeded: the same seed and traffic give the same attack; nth and probability select frames', () => {
  const frames = Array.from({ length: 50 }, (_, i) =>
    forgeRecord({ sessionId: new Uint8Array(8), seq: i, payload: new Uint8Array(20), tag: new Uint8Array(16) }),
  );
  const run = (seed: number): string[] => {
    const adv = createAdversary(
      [
        { name: 'p', match: { type: 'DATA', probability: 0.3 }, action: { kind: 'flip', bits: 3 } },
        { name: 'n', match: { nth: [2, 5] }, action: { kind: 'drop' } },
      ],
      { seed },
    );
    return frames.map((f) => JSON.stringify(adv({ from: 'a', to: 'b', topic: 't', bytes: f }) ?? 'pass'));
  };
  assert.deepEqual(run(42), run(42));
  assert.notDeepEqual(run(42), run(43));
  const adv = createAdversary([{ name: 'n', match: { from: 'a', nth: [2, 5] }, action: { kind: 'drop' } }]);
  const out = frames.slice(0, 6).map((f) => adv({ from: 'a', to: 'b', topic: 't', bytes: f }));
  assert.deepEqual(
    out.map((o) => (Array.isArray(o) && o.length === 0 ? 'drop' : 'pass')),
    ['pass', 'drop', 'pass', 'pass', 'drop', 'pass'],
  );
  assert.equal(adv.hits('n'), 2);
  const prng = createPrng(1);
  assert.ok(
    [...Array(1000)].every(() => {
      const x = prng.next();
      return x >= 0 && x < 1;
    }),
  );
});

test('delay releases after N frames on the same route or on demand; reorder swaps with the next frame', () => {
  const f = (n: number): Uint8Array => Uint8Array.of(0x13, n);
  const adv = createAdversary([{ match: { nth: 1 }, action: { kind: 'delay', after: 2 } }]);
  const seq = [1, 2, 3, 4].map((n) => adv({ from: 'a', to: 'b', topic: 't', bytes: f(n) }));
  assert.deepEqual(
    seq.map((o) => (o === undefined ? 'pass' : (o as Uint8Array[]).map((b) => b[1]))),
    [[], 'pass', [3, 1], 'pass'],
  );
  const r = createAdversary([{ match: { nth: 1 }, action: { kind: 'reorder' } }]);
  assert.deepEqual(r({ from: 'a', to: 'b', topic: 't', bytes: f(1) }), []);
  assert.deepEqual(
    (r({ from: 'a', to: 'b', topic: 't', bytes: f(2) }) as Uint8Array[]).map((b) => b[1]),
    [2, 1],
  );
  const d = createAdversary([{ action: { kind: 'delay' } }]);
  const got: number[] = [];
  d.attach((x) => void got.push(x.bytes[1]!));
  d({ from: 'a', to: 'b', topic: 't', bytes: f(7) });
  assert.equal(d.held(), 1);
  assert.equal(d.release(), 1);
  assert.deepEqual(got, [7]);
});
