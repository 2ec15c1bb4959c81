import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { spawnSync } from 'node:child_process';
import { createNodeProvider } from '../../src/crypto/node.js';
import { createNobleProvider } from '../../src/crypto/noble.js';
import { verifyVector } from '../../src/testing/vectors.js';
import { vectorFileSchema } from '../../src/schemas/vectors.js';
import { decodeBatch } from '../../src/codec/batch.js';
import { fromHex, toHex } from '../../src/bytes/index.js';

const dir = new URL('.', import.meta.url).pathname;
const files = readdirSync(dir).filter((f) => f.endsWith('.json'));

test('[SPEC 11] the vector set exists and is schema-valid', () => {
  assert.ok(files.length >= 5);
  for (const f of files) vectorFileSchema.parse(JSON.parse(readFileSync(join(dir, f), 'utf8')));
});

for (const f of files) {
  for (const provider of [createNodeProvider(), createNobleProvider()]) {
    test(`[SPEC 11] ${f} regenerates byte for byte with the ${provider.name} provider`, async () => {
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
