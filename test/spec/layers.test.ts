/**
 * The layout of src/ (issue 17): the import graph between src/ folders has no cycle, and the sans-I/O layers import
 * nothing of the I/O shell. Type-only imports count: a cycle through types still ties two folders together.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const SRC = fileURLToPath(new URL('../../src/', import.meta.url));

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

const folderOf = (abs: string): string => relative(SRC, abs).split(sep)[0] ?? '';

/** folder → folders it imports (relative specifiers only), and the file-level evidence of each edge. */
function folderGraph(): Map<string, Map<string, string>> {
  const g = new Map<string, Map<string, string>>();
  for (const f of files(SRC)) {
    const from = folderOf(f);
    if (from.endsWith('.ts')) continue; // src/index.ts: the root export, above every folder
    const text = readFileSync(f, 'utf8');
    for (const m of text.matchAll(/(?:from|import)\s*\(?\s*['"](\.{1,2}\/[^'"]+)['"]/g)) {
      const to = folderOf(resolve(dirname(f), m[1] as string));
      if (to === from || to.endsWith('.ts')) continue;
      const edges = g.get(from) ?? new Map<string, string>();
      if (!edges.has(to)) edges.set(to, relative(SRC, f));
      g.set(from, edges);
    }
  }
  return g;
}

function findCycle(g: Map<string, Map<string, string>>): string[] | undefined {
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (n: string): string[] | undefined => {
    state.set(n, 'open');
    stack.push(n);
    for (const m of g.get(n)?.keys() ?? []) {
      if (state.get(m) === 'open') return [...stack.slice(stack.indexOf(m)), m];
      if (state.get(m) === undefined) {
        const c = visit(m);
        if (c) return c;
      }
    }
    stack.pop();
    state.set(n, 'done');
    return undefined;
  };
  for (const n of g.keys())
    if (state.get(n) === undefined) {
      const c = visit(n);
      if (c) return c;
    }
  return undefined;
}

test('the src/ folders import each other without a cycle', () => {
  const g = folderGraph();
  const cycle = findCycle(g);
  const evidence = cycle?.slice(1).map((to, i) => `${cycle[i]} → ${to} (${g.get(cycle[i] as string)?.get(to)})`);
  assert.equal(cycle, undefined, `folder cycle: ${evidence?.join(', ')}`);
});

test('the cycle check finds a cycle when there is one', () => {
  const g = new Map([
    ['a', new Map([['b', 'a/x.ts']])],
    ['b', new Map([['c', 'b/y.ts']])],
    ['c', new Map([['a', 'c/z.ts']])],
  ]);
  assert.deepEqual(findCycle(g), ['a', 'b', 'c', 'a']);
});

test('the sans-I/O layers import nothing above them', () => {
  const g = folderGraph();
  const below: Record<string, readonly string[]> = {
    errors: [],
    bytes: ['errors'],
    util: ['errors'],
    codec: ['bytes', 'errors', 'util'],
    crypto: ['bytes', 'codec', 'errors', 'util'],
    transport: ['errors'],
    schemas: ['bytes', 'codec', 'crypto', 'errors', 'transport', 'util'],
    pki: ['bytes', 'codec', 'crypto', 'errors', 'schemas', 'util'],
    session: ['bytes', 'codec', 'crypto', 'pki', 'errors', 'util'],
  };
  for (const [layer, allowed] of Object.entries(below)) {
    const got = [...(g.get(layer)?.keys() ?? [])].filter((to) => !allowed.includes(to));
    assert.deepEqual(got, [], `src/${layer} imports ${got.map((to) => `${to} (${g.get(layer)?.get(to)})`).join(', ')}`);
  }
});

test("the README's layout table names every src/ folder, and only folders that exist", () => {
  const readme = readFileSync(fileURLToPath(new URL('../../README.md', import.meta.url)), 'utf8');
  const table = readme.slice(readme.indexOf('## Layout'), readme.indexOf('\n## ', readme.indexOf('## Layout') + 1));
  const named = new Set([...table.matchAll(/`src\/([a-z-]+)`/g)].map((m) => m[1] as string));
  const folders = readdirSync(SRC).filter((n) => statSync(join(SRC, n)).isDirectory());
  assert.deepEqual(
    [...folders].filter((f) => !named.has(f)),
    [],
    'src/ folders missing from the README layout table',
  );
  assert.deepEqual(
    [...named].filter((f) => !folders.includes(f)),
    [],
    'README layout rows for folders that do not exist',
  );
});
