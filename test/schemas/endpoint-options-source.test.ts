/**
 * One source for createEndpoint's options (issue 17): the zod schema applies ENDPOINT_DEFAULTS; this file links the
 * EndpointOptions interface to both — at compile time (the typecheck in pretest fails when an option exists on one
 * side only, or when what the schema accepts is not what the interface types) and at run time (every default the
 * schema applies is the value the interface's doc comment states).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import type { z } from 'zod';
import { ENDPOINT_DEFAULTS, endpointConfigSchema } from '../../src/schemas/endpoint-options.js';
import type { EndpointOptions } from '../../src/endpoint/options.js';

/** The options that are objects or functions, not data: createEndpoint takes them before the schema. */
type NotData = 'transport' | 'provider' | 'clock' | 'authorize' | 'policy' | 'classify' | 'logger' | 'metrics';
type Data = z.input<typeof endpointConfigSchema>;
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;

// Compile-time links (the typecheck of the tests fails when one breaks):
const sameKeys: Same<keyof Data, Exclude<keyof EndpointOptions, NotData>> = true;
const schemaInputFitsInterface = (d: Data): Omit<EndpointOptions, NotData> => d;

test('the schema and the interface have the same plain-data options (compile-time check, asserted here so it is counted)', () => {
  assert.equal(sameKeys, true);
  assert.equal(typeof schemaInputFitsInterface, 'function');
});

/** Doc comment of each EndpointOptions property, from the source. */
function propertyDocs(): Map<string, string> {
  const file = fileURLToPath(new URL('../../src/endpoint/options.ts', import.meta.url));
  const program = ts.createProgram([file], {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    noEmit: true,
  });
  const checker = program.getTypeChecker();
  const sf = program.getSourceFile(file);
  assert.ok(sf);
  const iface = sf.statements.find((s): s is ts.InterfaceDeclaration => ts.isInterfaceDeclaration(s) && s.name.text === 'EndpointOptions');
  assert.ok(iface, 'EndpointOptions is declared in src/endpoint/options.ts');
  const docs = new Map<string, string>();
  for (const m of iface.members) {
    const sym = m.name && checker.getSymbolAtLocation(m.name);
    if (sym) docs.set(sym.name, ts.displayPartsToString(sym.getDocumentationComment(checker)));
  }
  return docs;
}

/** "30 000", "30000", "30_000" and "86 400 000" all read as the number; a word default is quoted or plain. */
const mentions = (doc: string, value: string | number): boolean => {
  if (typeof value === 'string') return new RegExp(`[Dd]efault:? '?${value}'?`).test(doc);
  const digits = doc.replace(/(\d)[ _,](?=\d{3}\b)/g, '$1');
  return new RegExp(`(^|[^\\d])${value}([^\\d]|$)`).test(digits);
};

test('every default the schema applies is the value EndpointOptions documents', () => {
  const docs = propertyDocs();
  const wrong: string[] = [];
  for (const [key, value] of Object.entries(ENDPOINT_DEFAULTS)) {
    const doc = docs.get(key) ?? '';
    if (typeof value === 'object') {
      // nested: the parent's doc names each field with its default, e.g. "`every` … (default and at most 32)"
      for (const [leaf, v] of Object.entries(value)) {
        const at = doc.indexOf(`\`${leaf}\``);
        if (at < 0 || !mentions(doc.slice(at, at + 90), v))
          wrong.push(`${key}.${leaf}: default ${v}, doc: ${JSON.stringify(doc.slice(Math.max(at, 0), at + 90))}`);
      }
    } else if (!/[Dd]efault/.test(doc) || !mentions(doc, value)) wrong.push(`${key}: default ${value}, doc: ${JSON.stringify(doc)}`);
  }
  assert.deepEqual(wrong, []);
});

test('the schema applies ENDPOINT_DEFAULTS to an endpoint that sets nothing', () => {
  const cfg = endpointConfigSchema.parse({ id: 'a', identity: { certificate: 'x', privateKey: 'y' }, trust: { roots: ['z'] } });
  for (const [key, value] of Object.entries(ENDPOINT_DEFAULTS)) assert.deepEqual(cfg[key as keyof typeof cfg], value, key);
});

test('the doc check reads numbers the way the docs write them', () => {
  assert.ok(mentions('Default 86 400 000 ms (24 h).', 86_400_000));
  assert.ok(mentions('(default 16 384, capped', 16_384));
  assert.ok(!mentions('Default 1000.', 100));
  assert.ok(mentions('Default: confidentiality.', 'confidentiality'));
});
