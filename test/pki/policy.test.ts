/** Declarative RBAC policy. [SPEC 10.8] */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { createAuthorizer, loadPolicy, POLICY_MAX_GLOB_LENGTH, POLICY_MAX_VALUE_LENGTH, type RoleAssignment } from '../../src/pki/index.js';
import { throwsWith } from '../support/pki.js';
import { compileGlob, globMatch } from '../../src/pki/glob.js';

const role = (name: string, id: number): RoleAssignment => ({ role: name, roleId: id });
const OPERATOR = role('OPERATOR', 1);
const VIEWER = role('VIEWER', 0);
const DSO = role('dso', -2);

const policy = {
  default: 'deny',
  rules: [
    { roles: ['OPERATOR'], direction: 'receive', types: ['control.*'], topics: ['substation/*/breaker'] },
    { roles: ['VIEWER', 'OPERATOR'], direction: 'both', types: ['report'] },
    { roles: [-2], direction: 'send', topics: ['der/**'] },
    { effect: 'deny', roles: ['*'], direction: 'both', peers: ['quarantine-*'] },
  ],
} as const;

test('allow rules by role, direction, type and topic; default deny', () => {
  const allow = createAuthorizer(policy);
  assert.equal(allow({ peer: 'cc', roles: [OPERATOR], direction: 'receive', type: 'control.open', topic: 'substation/7/breaker' }), true);
  assert.equal(
    allow({ peer: 'cc', roles: [OPERATOR], direction: 'send', type: 'control.open', topic: 'substation/7/breaker' }),
    false,
    'direction',
  );
  assert.equal(
    allow({ peer: 'cc', roles: [VIEWER], direction: 'receive', type: 'control.open', topic: 'substation/7/breaker' }),
    false,
    'role',
  );
  assert.equal(
    allow({ peer: 'cc', roles: [OPERATOR], direction: 'receive', type: 'control.open', topic: 'substation/7/x/breaker' }),
    false,
    '* does not cross /',
  );
  assert.equal(allow({ peer: 'cc', roles: [OPERATOR], direction: 'receive', type: 'control.open' }), false, 'topic required by the rule');
  assert.equal(allow({ peer: 'v', roles: [VIEWER], direction: 'send', type: 'report' }), true);
  assert.equal(allow({ peer: 'v', roles: [VIEWER], direction: 'receive', type: 'report' }), true);
  assert.equal(allow({ peer: 'v', roles: [], direction: 'receive', type: 'report' }), false, 'no roles');
  assert.equal(allow({ peer: 'd', roles: [DSO], direction: 'send', topic: 'der/17/setpoint' }), true, 'numeric role id, ** crosses /');
  assert.equal(allow({ peer: 'd', roles: [role('dso', -3)], direction: 'send', topic: 'der/17/setpoint' }), false);
});

test('deny rules win over allow rules; default allow', () => {
  const allow = createAuthorizer({ ...policy, default: 'allow' });
  assert.equal(allow({ peer: 'quarantine-1', roles: [VIEWER], direction: 'send', type: 'report' }), false);
  assert.equal(allow({ peer: 'anyone', roles: [], direction: 'send', type: 'whatever' }), true);
  const strict = createAuthorizer(policy);
  assert.equal(strict({ peer: 'quarantine-1', roles: [VIEWER], direction: 'send', type: 'report' }), false);
});

test('bad context never throws and is refused', () => {
  const allow = createAuthorizer({ default: 'allow', rules: [] });
  assert.equal(allow({ peer: 'x', roles: [], direction: 'sideways' as 'send' }), false);
});

test('loadPolicy: JSON text with clear ERR_CONFIG messages', () => {
  assert.equal(loadPolicy(JSON.stringify(policy)).rules.length, 4);
  throwsWith(() => loadPolicy('{ not json'), 'ERR_CONFIG');
  assert.throws(() => loadPolicy(JSON.stringify({ default: 'maybe', rules: [] })), /default/);
  assert.throws(() => loadPolicy(JSON.stringify({ default: 'deny', rules: [{ roles: [], direction: 'send' }] })), /rules\[0\]\.roles/);
  assert.throws(() => loadPolicy(JSON.stringify({ default: 'deny', rules: [{ roles: ['X'], direction: 'up' }] })), /rules\[0\]\.direction/);
  assert.throws(() => loadPolicy(JSON.stringify({ default: 'deny', rules: [], extra: 1 })), /extra|Unrecognized/);
  throwsWith(() => createAuthorizer({ rules: [] }), 'ERR_CONFIG');
});

test('glob syntax', () => {
  assert.ok(globMatch('a/*/c', 'a/b/c'));
  assert.ok(!globMatch('a/*/c', 'a/b/x/c'));
  assert.ok(globMatch('a/**', 'a/b/x/c'));
  assert.ok(globMatch('a?c', 'abc'));
  assert.ok(!globMatch('a.c', 'abc'), 'regex metacharacters are literal');
});

/**
 * The RegExp translation the policy used until issue 14 (`**` → `.*`, `*` → `[^/]*`, `?` → `[^/]`): the oracle
 * for the semantics of the linear-time matcher, on inputs small enough for it to be fast. It backtracks.
 */
function oldGlobToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i] as string;
    if (c === '*') {
      if (glob[i + 1] === '*') {
        re += '.*';
        i++;
      } else re += '[^/]*';
    } else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`, 's');
}

test('[SPEC 10.8] globs: the linear-time matcher agrees with the old RegExp semantics (property, small inputs)', () => {
  // Alphabets rich in the characters that matter: wildcards, '/', regex metacharacters, a newline, a surrogate half.
  const globChar = fc.constantFrom('a', 'b', '/', '*', '*', '?', '.', '+', '(', '[', '\\', '$', '^', '\n', '\ud800');
  const textChar = fc.constantFrom('a', 'b', '/', '.', '+', '(', '[', '\\', '$', '^', '\n', '*', '?', '\ud800');
  fc.assert(
    fc.property(
      fc.array(globChar, { maxLength: 10 }).map((a) => a.join('')),
      fc.array(textChar, { maxLength: 14 }).map((a) => a.join('')),
      (glob, text) => {
        assert.equal(compileGlob(glob)(text), oldGlobToRegExp(glob).test(text), JSON.stringify({ glob, text }));
      },
    ),
    { numRuns: 20_000 },
  );
  // Texts built from the glob itself (so that matches are frequent, not just refusals).
  fc.assert(
    fc.property(
      fc.array(globChar, { minLength: 1, maxLength: 10 }).map((a) => a.join('')),
      fc.array(textChar, { maxLength: 4 }),
      (glob, fill) => {
        let k = 0;
        const text = glob.replace(/\*\*|\*|\?/g, (w) =>
          w === '?' ? (fill[k++ % Math.max(1, fill.length)] ?? 'a').replace('/', 'a') : fill.slice(0, k++ % 3).join('') || '',
        );
        assert.equal(compileGlob(glob)(text), oldGlobToRegExp(glob).test(text), JSON.stringify({ glob, text }));
      },
    ),
    { numRuns: 10_000 },
  );
  for (const [glob, text, expected] of [
    ['***', 'a/b', true],
    ['*', 'a/b', false],
    ['**', '', true],
    ['?', '', false],
    ['?', '/', false],
    ['a*', 'a\nb', true],
    ['', '', true],
    ['x', 'x', true],
    ['x', 'xx', false],
  ] as const)
    assert.equal(globMatch(glob, text), expected, `${glob} on ${JSON.stringify(text)}`);
});

/** Worst cases for a backtracking matcher that the caps still allow: the glob at POLICY_MAX_GLOB_LENGTH, the value at POLICY_MAX_VALUE_LENGTH. */
const WORST_CASES: ReadonlyArray<{ label: string; glob: string; text: string }> = [
  {
    label: '**a repeated, no match',
    glob: ('**a'.repeat(85) + 'b').slice(0, POLICY_MAX_GLOB_LENGTH),
    text: 'a'.repeat(POLICY_MAX_VALUE_LENGTH),
  },
  {
    label: '*a repeated, no match',
    glob: ('*a'.repeat(127) + 'b').slice(0, POLICY_MAX_GLOB_LENGTH),
    text: 'a'.repeat(POLICY_MAX_VALUE_LENGTH),
  },
  {
    label: '?* repeated with slashes',
    glob: ('**/?*'.repeat(51) + 'x').slice(0, POLICY_MAX_GLOB_LENGTH),
    text: 'a/'.repeat(POLICY_MAX_VALUE_LENGTH / 2),
  },
  {
    label: '** then a literal tail (the 51 200-character topic of issue 14, capped)',
    glob: '**' + 'a'.repeat(POLICY_MAX_GLOB_LENGTH - 3) + 'b',
    text: 'a'.repeat(POLICY_MAX_VALUE_LENGTH),
  },
];

test('[SPEC 10.8] globs match in bounded time: the worst inputs the caps allow decide in well under 50 ms', () => {
  // The old RegExp needed 57 ms for '**a'×6+'b' on 40 characters and had not finished after 2 minutes for '*a*a*a*a*ab' on 1024.
  for (const { label, glob, text } of WORST_CASES) {
    assert.ok(glob.length <= POLICY_MAX_GLOB_LENGTH && text.length <= POLICY_MAX_VALUE_LENGTH);
    const m = compileGlob(glob);
    m(text); // warm-up
    const t0 = performance.now();
    const r = m(text);
    const ms = performance.now() - t0;
    assert.equal(typeof r, 'boolean');
    assert.ok(ms < 50, `${label}: ${ms.toFixed(1)} ms`);
  }
  // And through a whole policy decision (three globs per rule, deny and allow rules).
  const rules = WORST_CASES.map((w) => ({ roles: ['*'], direction: 'receive' as const, types: [w.glob], topics: [w.glob] }));
  const allow = createAuthorizer({ default: 'deny', rules: [...rules, ...rules.map((r) => ({ ...r, effect: 'deny' as const }))] });
  const text = 'a'.repeat(POLICY_MAX_VALUE_LENGTH);
  allow({ peer: 'p', roles: [], direction: 'receive', type: text, topic: text });
  const t0 = performance.now();
  assert.equal(allow({ peer: 'p', roles: [], direction: 'receive', type: text, topic: text }), false);
  const ms = performance.now() - t0;
  assert.ok(ms < 50, `policy decision: ${ms.toFixed(1)} ms`);
});

test('[SPEC 10.8] a type or topic longer than POLICY_MAX_VALUE_LENGTH is refused, whatever the rules and the default', () => {
  const allowAll = createAuthorizer({ default: 'allow', rules: [{ roles: ['*'], direction: 'both', types: ['**'], topics: ['**'] }] });
  const ok = 'x'.repeat(POLICY_MAX_VALUE_LENGTH);
  const long = 'x'.repeat(POLICY_MAX_VALUE_LENGTH + 1);
  assert.equal(allowAll({ peer: 'p', roles: [], direction: 'receive', type: ok, topic: ok }), true);
  assert.equal(allowAll({ peer: 'p', roles: [], direction: 'receive', type: long, topic: ok }), false, 'type too long');
  assert.equal(allowAll({ peer: 'p', roles: [], direction: 'receive', type: ok, topic: long }), false, 'topic too long');
  assert.equal(
    allowAll({ peer: 'p', roles: [], direction: 'receive', topic: 'x'.repeat(51_200) }),
    false,
    'the 51 200-character topic of issue 14',
  );
  const byDefault = createAuthorizer({ default: 'allow', rules: [] });
  assert.equal(
    byDefault({ peer: 'p', roles: [], direction: 'send', type: long }),
    false,
    'default allow does not cover an over-long value',
  );
  assert.equal(byDefault({ peer: 'p', roles: [], direction: 'send', type: 7 as unknown as string }), false, 'a type that is no string');
});

test('[SPEC 10.8] the policy schema caps globs at POLICY_MAX_GLOB_LENGTH characters (ERR_CONFIG naming the path)', () => {
  assert.equal(POLICY_MAX_GLOB_LENGTH, 256);
  const rule = (g: string) => ({ default: 'deny', rules: [{ roles: ['*'], direction: 'both', topics: [g] }] });
  createAuthorizer(rule('a'.repeat(POLICY_MAX_GLOB_LENGTH)));
  throwsWith(() => createAuthorizer(rule('a'.repeat(POLICY_MAX_GLOB_LENGTH + 1))), 'ERR_CONFIG');
  assert.throws(() => createAuthorizer(rule('a'.repeat(POLICY_MAX_GLOB_LENGTH + 1))), /rules\[0\]\.topics\[0\]/);
});
