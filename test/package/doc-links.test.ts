/**
 * The Markdown files the npm package ships link only to files it ships too (issue 16, second trial: links to
 * scripts/ci/… and bench/results/… were dead in the tarball). A relative link must resolve, inside the package
 * "files", to a file or folder that exists; anything else is named as text "in the source repository".
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const FILES = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { files: string[] }).files;

/** True when the package's "files" (plus what npm always ships) include `path` (relative to the root). */
function shipped(path: string): boolean {
  if (['README.md', 'LICENSE', 'package.json'].includes(path)) return true;
  return FILES.some((f) => {
    if (f.startsWith('!')) return false;
    if (f.includes('*')) return new RegExp(`^${f.replace(/[.]/g, '\\.').replace(/\*/g, '[^/]*')}$`).test(path);
    return path === f || path.startsWith(`${f}/`);
  });
}

function markdown(dir: string): string[] {
  return readdirSync(join(ROOT, dir)).flatMap((n) => {
    const p = join(dir, n);
    return statSync(join(ROOT, p)).isDirectory() ? markdown(p) : n.endsWith('.md') ? [p] : [];
  });
}

test('every relative link in the shipped Markdown points at a file the package ships', () => {
  const docs = ['README.md', 'SPEC.md', 'BENCHMARKS.md', ...markdown('docs'), ...markdown('examples')];
  const bad: string[] = [];
  let links = 0;
  for (const doc of docs) {
    assert.ok(shipped(doc), `${doc} is shipped`);
    const text = readFileSync(join(ROOT, doc), 'utf8');
    for (const m of text.matchAll(/\]\(([^)\s#]+)(?:#[^)]*)?\)/g)) {
      const target = m[1]!;
      if (/^[a-z][a-z+.-]*:/i.test(target)) continue; // https:, mailto:
      links++;
      const path = relative(ROOT, normalize(join(ROOT, dirname(doc), target))).replace(/\/$/, '');
      if (!existsSync(join(ROOT, path)) || !shipped(path)) bad.push(`${doc}: ${target}`);
    }
  }
  assert.ok(links > 20, `links found: ${links}`);
  assert.deepEqual(bad, [], 'links to files that are missing or not in the npm package');
});
