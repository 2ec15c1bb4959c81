import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { spawnSync } from 'node:child_process';
import { createNodeProvider } from '../../src/crypto/node.js';
import { providerVariants } from '../support/crypto-fixtures.js';
import { verifyVector } from '../../src/testing/vectors.js';
import { vectorFileSchema } from '../../src/schemas/vectors.js';
import { decodeBatch } from '../../src/codec/batch.js';
import { fromHex, toHex } from '../../src/bytes/index.js';
import { suiteByName } from '../../src/crypto/suites.js';
import { updateGroup } from '../../src/crypto/key-agreement.js';
import { decodeHandshakeResponse, decodeRecordHeader, FrameType } from '../../src/codec/frame.js';
import { decodeClearToken2, decodeSignedClearToken1 } from '../../src/codec/tokens.js';
import { decodeAck } from '../../src/codec/ack.js';
import { openRecord } from '../../src/session/record.js';

const dir = new URL('.', import.meta.url).pathname;
const files = readdirSync(dir).filter((f) => f.endsWith('.json'));

test('[SPEC 11] the vector set exists and is schema-valid', () => {
  assert.ok(files.length >= 5);
  for (const f of files) vectorFileSchema.parse(JSON.parse(readFileSync(join(dir, f), 'utf8')));
});

for (const f of files) {
  for (const [label, provider] of providerVariants) {
    test(`[SPEC 4.4, 11] ${f} regenerates byte for byte with the ${label} provider`, async () => {
      const json: unknown = JSON.parse(readFileSync(join(dir, f), 'utf8'));
      assert.deepEqual(await verifyVector(provider, json), []);
    });
  }
}

test('[SPEC 3.7, 11] every vector carries a BATCH of its a2b records that splits back into exactly those frames', () => {
  for (const f of files) {
    const v = vectorFileSchema.parse(JSON.parse(readFileSync(join(dir, f), 'utf8')));
    const a2b = v.expected.records.filter((r) => r.direction === 'a2b').map((r) => r.frame);
    assert.ok(v.expected.batch, `${f}: batch`);
    assert.equal(v.expected.batch.frame.slice(0, 2), '18', `${f}: version 1, type 8`);
    assert.deepEqual(decodeBatch(fromHex(v.expected.batch.frame)).map(toHex), a2b, f);
  }
});

test('[SPEC 11] every vector is the run SPEC 11 describes: offer, timestamps, leaf only, bare HS_RESP, key update, ACK', () => {
  const provider = createNodeProvider();
  for (const f of files) {
    const v = vectorFileSchema.parse(JSON.parse(readFileSync(join(dir, f), 'utf8')));
    const e = v.expected;
    const suite = suiteByName(v.suite);
    const init = decodeSignedClearToken1(fromHex(e.hsInit).subarray(1)).token;
    const resp = decodeHandshakeResponse(fromHex(e.hsResp));
    const r = decodeSignedClearToken1(resp.token).token;
    assert.deepEqual(init.suites, [suite.id], `${f}: offer is [suite]`);
    assert.equal(init.keyShares.length, 1, f);
    assert.deepEqual([init.timestamp, r.timestamp], [v.time, v.time], `${f}: both timestamps = time`);
    assert.deepEqual([init.certificates.length, r.certificates.length], [1, 1], `${f}: leaf only`);
    assert.equal(init.attributeCertificates ?? r.attributeCertificates, undefined, f);
    assert.equal(resp.record, undefined, `${f}: HS_RESP carries no record`);
    assert.deepEqual(
      e.records.map((x) => x.direction),
      ['a2b', 'b2a', 'a2b', 'b2a'],
      f,
    );
    const rc = { provider, suite, protection: v.protection };
    const keys = (k: typeof e.a2b) => ({ ik: fromHex(k.ik), ...(k.ek && k.iv ? { ek: fromHex(k.ek), iv: fromHex(k.iv) } : {}) });
    const sent = (dir: 'a2b' | 'b2a') => e.records.filter((x) => x.direction === dir).length;
    // Key update: the a2b sender, epoch 0 at its next sequence number; ClearToken2 names the handshake share.
    assert.equal(e.keyUpdate.direction, 'a2b', f);
    const ku = fromHex(e.keyUpdate.frame);
    const kh = decodeRecordHeader(ku);
    assert.deepEqual([kh.type, kh.epoch, kh.seq], [FrameType.KEY_UPDATE, 0, sent('a2b')], f);
    const ct2 = decodeClearToken2(openRecord(rc, keys(e.a2b), kh, ku));
    assert.deepEqual([ct2.newEpoch, ct2.peerKeyEpoch, ct2.requestUpdate], [1, 0, false], f);
    assert.equal(
      toHex(ct2.publicKey),
      toHex(provider.kexKeyPair(updateGroup(suite.group), fromHex(e.keyUpdate.ephemeralPrivateKey)).publicKey),
      f,
    );
    const rh = decodeRecordHeader(fromHex(e.keyUpdate.record.frame));
    assert.deepEqual([rh.type, rh.epoch, rh.seq], [FrameType.DATA, 1, 0], f);
    // ACK: the update's receiver, its epoch 0 at its next sequence number, two ascending ranges.
    assert.equal(e.ack.direction, 'b2a', f);
    const ack = fromHex(e.ack.frame);
    const ah = decodeRecordHeader(ack);
    assert.deepEqual([ah.type, ah.epoch, ah.seq], [FrameType.ACK, 0, sent('b2a')], f);
    const ranges = decodeAck(openRecord(rc, keys(e.b2a), ah, ack)).map((x) => [x.epoch, x.highest, toHex(x.accepted)]);
    assert.deepEqual(
      ranges,
      [
        [0, kh.seq, '0000000000000007'],
        [1, 0, '0000000000000001'],
      ],
      f,
    );
  }
});

test('[SPEC 11] a vector with one changed byte is reported, by path', async () => {
  const json = JSON.parse(readFileSync(join(dir, files[0]!), 'utf8'));
  const ik: string = json.expected.b2a.ik;
  json.expected.b2a.ik = (ik[0] === '0' ? '1' : '0') + ik.slice(1);
  const diffs = await verifyVector(createNodeProvider(), json);
  assert.equal(diffs.length, 1);
  assert.match(diffs[0]!, /^\$\.expected\.b2a\.ik:/);
});

test('[SPEC 11] `hopsafe vectors verify` exits 0 on the set and 1 on a mismatch', () => {
  const cli = ['--import', 'tsx', 'src/cli/main.ts', 'vectors', 'verify'];
  const ok = spawnSync(process.execPath, [...cli, ...files.map((f) => join(dir, f))], { encoding: 'utf8' });
  assert.equal(ok.status, 0, ok.stdout + ok.stderr);
  const json = JSON.parse(readFileSync(join(dir, files[0]!), 'utf8'));
  const last = parseInt(json.expected.hsResp.slice(-2), 16) ^ 1;
  json.expected.hsResp = json.expected.hsResp.slice(0, -2) + last.toString(16).padStart(2, '0');
  const bad = join(mkdtempSync(join(tmpdir(), 'hopsafe-vec-')), 'bad.json');
  writeFileSync(bad, JSON.stringify(json));
  const r = spawnSync(process.execPath, [...cli, bad], { encoding: 'utf8' });
  assert.equal(r.status, 1);
  assert.match(r.stdout, /FAIL/);
});

test('[SPEC 11.1, 4.2] the hybrid vector follows from its seeds: X25519 key, ML-KEM seed d ‖ z, session id, random; responder X25519 key, m, random', async () => {
  const { x25519 } = await import('@noble/curves/ed25519.js');
  const { ml_kem768 } = await import('@noble/post-quantum/ml-kem.js');
  const { deterministicRng } = await import('../../src/testing/vectors.js');
  const { concat } = await import('../../src/bytes/index.js');
  const hybrid = files.filter(
    (f) => suiteByName(vectorFileSchema.parse(JSON.parse(readFileSync(join(dir, f), 'utf8'))).suite).group === 'x25519mlkem768',
  );
  assert.ok(hybrid.length >= 1, 'a hybrid vector exists');
  for (const f of hybrid) {
    const v = vectorFileSchema.parse(JSON.parse(readFileSync(join(dir, f), 'utf8')));
    const ri = deterministicRng(fromHex(v.initiator.rngSeed));
    const xa = ri(32);
    const kem = ml_kem768.keygen(ri(64));
    const init = decodeSignedClearToken1(fromHex(v.expected.hsInit).subarray(1)).token;
    assert.equal(toHex(init.keyShares[0]!.publicKey), toHex(concat(x25519.getPublicKey(xa), kem.publicKey)), `${f}: initiator share`);
    assert.equal(init.keyShares[0]!.publicKey.length, 1216);
    assert.equal(toHex(init.sessionId), toHex(ri(8)), f);
    assert.equal(toHex(init.random), toHex(ri(16)), f);
    const rr = deterministicRng(fromHex(v.responder.rngSeed));
    const xb = rr(32);
    const enc = ml_kem768.encapsulate(kem.publicKey, rr(32));
    const resp = decodeSignedClearToken1(decodeHandshakeResponse(fromHex(v.expected.hsResp)).token).token;
    assert.equal(toHex(resp.keyShares[0]!.publicKey), toHex(concat(x25519.getPublicKey(xb), enc.cipherText)), `${f}: responder share`);
    assert.equal(toHex(resp.random), toHex(rr(16)), f);
    // DHS = ML-KEM shared secret ‖ X25519 shared secret
    assert.equal(v.expected.dhs, toHex(concat(enc.sharedSecret, x25519.getSharedSecret(xb, x25519.getPublicKey(xa)))), `${f}: dhs`);
  }
});
