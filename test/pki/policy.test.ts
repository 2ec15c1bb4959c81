/** Declarative RBAC policy. [SPEC 10.8] */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createAuthorizer, loadPolicy, globToRegExp, type RoleAssignment } from '../../src/pki/index.js';
import { throwsWith } from './helpers.js';

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
  assert.equal(allow({ peer: 'cc', roles: [OPERATOR], direction: 'send', type: 'control.open', topic: 'substation/7/breaker' }), false, 'direction');
  assert.equal(allow({ peer: 'cc', roles: [VIEWER], direction: 'receive', type: 'control.open', topic: 'substation/7/breaker' }), false, 'role');
  assert.equal(allow({ peer: 'cc', roles: [OPERATOR], direction: 'receive', type: 'control.open', topic: 'substation/7/x/breaker' }), false, '* does not cross /');
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
  assert.ok(globToRegExp('a/*/c').test('a/b/c'));
  assert.ok(!globToRegExp('a/*/c').test('a/b/x/c'));
  assert.ok(globToRegExp('a/**').test('a/b/x/c'));
  assert.ok(globToRegExp('a?c').test('abc'));
  assert.ok(!globToRegExp('a.c').test('abc'), 'regex metacharacters are literal');
});
