/**
 * SPEC.md is the wire contract: every `[SPEC x.y]` tag in src/ and test/ must name one of its headings, and the error
 * codes of src/errors must be exactly the codes of its §9 table.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ERROR_CODES } from '../../src/errors/index.js';

const root = new URL('../../', import.meta.url).pathname;
const spec = readFileSync(join(root, 'SPEC.md'), 'utf8');

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

function headings(): Set<string> {
  const out = new Set<string>();
  for (const m of spec.matchAll(/^#{2,3} (\d+(?:\.\d+)?)[ .]/gm)) {
    const n = m[1] as string;
    out.add(n);
    out.add(n.split('.')[0] as string);
  }
  return out;
}

/** Section numbers named by one tag body such as `5.7–5.10, 7.3` (ranges name both ends). */
function named(body: string): string[] {
  return body.split(',').flatMap((part) =>
    part
      .trim()
      .split(/[–-]/)
      .map((x) => x.trim())
      .filter((x) => /^\d+(\.\d+)?$/.test(x)),
  );
}

test('every SPEC tag in src/ and test/ names an existing SPEC.md heading', () => {
  const known = headings();
  const missing: string[] = [];
  let tags = 0;
  for (const f of [...files(join(root, 'src')), ...files(join(root, 'test'))]) {
    const text = readFileSync(f, 'utf8');
    for (const m of text.matchAll(/SPEC ((?:\d+(?:\.\d+)?(?:\s*[–-]\s*\d+(?:\.\d+)?)?(?:, )?)+)/g)) {
      for (const n of named(m[1] as string)) {
        tags++;
        if (!known.has(n)) missing.push(`${f.slice(root.length)}: SPEC ${n}`);
      }
    }
  }
  assert.ok(tags > 500, `found ${tags} tags: the pattern no longer matches the tag spelling`);
  assert.deepEqual(missing, []);
});

test('the error codes of src/errors are exactly those of SPEC §9', () => {
  const start = spec.indexOf('## 9. Errors');
  const end = spec.indexOf('\n## 10.', start);
  assert.ok(start > 0 && end > start);
  const table = spec.slice(start, end);
  const documented = new Set<string>();
  for (const line of table.split('\n')) {
    const first = /^\| ([^|]+) \|/.exec(line)?.[1];
    if (first) for (const c of first.matchAll(/ERR_[A-Z_]+/g)) documented.add(c[0]);
  }
  assert.deepEqual([...documented].sort(), [...ERROR_CODES].sort());
});
