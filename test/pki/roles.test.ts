/** IEC 62351-8 roles: encoding, validity, attribute certificates. [SPEC 10.4] */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createTestPki } from '../../src/testing/index.js';
import {
  createTrustStore,
  loadIdentity,
  PREDEFINED_ROLES,
  encodeRoleInformation,
  decodeRoleInformation,
  parseRoleSpec,
  rolesAt,
  type RoleAssignment,
} from '../../src/pki/index.js';
import { seq, tlv } from '../../src/pki/der.js';
import { derObjects } from '../../src/codec/pem.js';
import { chainOf, DAY, throwsWith } from '../support/pki.js';

const span = { notBefore: new Date('2026-01-01T00:00:00Z'), notAfter: new Date('2027-01-01T00:00:00Z') };

test('predefined role numbering follows IEC 62351-8', () => {
  assert.deepEqual(PREDEFINED_ROLES, { VIEWER: 0, OPERATOR: 1, ENGINEER: 2, INSTALLER: 3, SECADM: 4, SECAUD: 5, RBACMNT: 6 });
});

test('RoleInformation round-trips predefined and custom roles with validity', () => {
  const nb = new Date('2026-03-01T00:00:00Z');
  const na = new Date('2026-04-01T00:00:00Z');
  const der = encodeRoleInformation([
    { role: 'OPERATOR' },
    { role: 'dso-operator', roleId: -1 },
    { role: 'SECAUD', notBefore: nb, notAfter: na },
  ]);
  const roles = decodeRoleInformation(der, span);
  assert.deepEqual(
    roles.map((r) => [r.role, r.roleId, r.notBefore?.toISOString(), r.notAfter?.toISOString(), r.aor]),
    [
      ['OPERATOR', 1, span.notBefore.toISOString(), span.notAfter.toISOString(), 'hopsafe'],
      ['dso-operator', -1, span.notBefore.toISOString(), span.notAfter.toISOString(), 'hopsafe'],
      ['SECAUD', 5, nb.toISOString(), na.toISOString(), 'hopsafe'],
    ],
  );
  assert.deepEqual(
    rolesAt(roles, new Date('2026-05-01T00:00:00Z')).map((r) => r.role),
    ['OPERATOR', 'dso-operator'],
  );
  assert.deepEqual(
    rolesAt(roles, new Date('2026-03-15T00:00:00Z')).map((r) => r.role),
    ['OPERATOR', 'dso-operator', 'SECAUD'],
  );
});

test('decodes the plain IEC 62351-8 form (no hopsafe fields), as written by other implementations', () => {
  // SEQUENCE OF SEQUENCE { SEQUENCE { INTEGER 255 }, "Outstation", 255, "IEC62351-8", ENUMERATED 3 }
  const hex = '3027302530040202 00ff0c0a4f757473746174696f6e020200ff0c0a49454336323335312d380a0103'.replace(/\s/g, '');
  const roles = decodeRoleInformation(new Uint8Array(Buffer.from(hex, 'hex')), span);
  assert.deepEqual(
    roles.map((r) => [r.role, r.roleId, r.aor]),
    [['role:255', 255, 'Outstation']],
  );
  // outer length (17) does not match its content: refused
  const two = Buffer.from('3011300f300602010102010405' + '0c01610201000c0141', 'hex');
  // malformed (truncated) input is refused
  throwsWith(() => decodeRoleInformation(new Uint8Array(two), span), 'ERR_MALFORMED');
});

test('delete operations and custom roles that impersonate predefined names are dropped', () => {
  const enc = (b: number[]): Uint8Array => new Uint8Array(b);
  const utf8 = (s: string): Uint8Array => tlv(0x0c, new TextEncoder().encode(s));
  const entry = (id: number, op: number, name?: string): Uint8Array =>
    seq(
      seq(enc([0x02, 0x01, id & 0xff])),
      utf8('x'),
      enc([0x02, 0x01, 0x00]),
      utf8('IEC62351-8'),
      enc([0x0a, 0x01, op]),
      ...(name ? [tlv(0xa1, utf8(name))] : []),
    );
  const der = seq(entry(1, 2), entry(-3, 1, 'operator'), entry(2, 1, 'VIEWER'), entry(3, 1));
  assert.deepEqual(
    decodeRoleInformation(der, span).map((r) => r.role),
    ['INSTALLER'],
  );
});

test('role specs: names, custom NAME=ID, errors', () => {
  assert.deepEqual(parseRoleSpec('operator'), { role: 'OPERATOR' });
  assert.deepEqual(parseRoleSpec('dso=-7'), { role: 'dso', roleId: -7 });
  throwsWith(() => parseRoleSpec('NOPE'), 'ERR_CONFIG');
  throwsWith(() => encodeRoleInformation([{ role: 'x', roleId: 1 }]), 'ERR_CONFIG');
  throwsWith(() => encodeRoleInformation([]), 'ERR_CONFIG');
});

test('peer roles: certificate extension and attribute certificates, filtered by validity at verification time', async () => {
  const now = new Date();
  const pki = await createTestPki({ endpoints: [{ id: 'cc', roles: ['OPERATOR'] }, { id: 'b' }], intermediate: true, now });
  const store = createTrustStore(pki.trust());
  const cc = loadIdentity(pki.identities.cc!, 'cc');
  assert.deepEqual(
    cc.roles.map((r) => r.role),
    ['OPERATOR'],
  );
  const ac = pki.attributeCertificate('cc', ['SECAUD', 'dso=-2']);
  const expiredAc = pki.attributeCertificate('cc', ['SECADM'], {
    notBefore: new Date(now.getTime() - 2 * DAY),
    notAfter: new Date(now.getTime() - DAY),
  });
  const acForB = pki.attributeCertificate('b', ['ENGINEER']);
  const withAc = loadIdentity(pki.identities.cc!, 'cc', { attributeCertificates: [ac, expiredAc, acForB] });
  const peer = await store.verify({ chain: withAc.chain, attributeCertificates: withAc.attributeCertificates, claimedId: 'cc', now });
  // SECADM's AC has expired; ENGINEER's AC names another holder.
  assert.deepEqual(peer.roles.map((r) => `${r.role}:${r.roleId}`).sort(), ['OPERATOR:1', 'SECAUD:5', 'dso:-2']);
  // An AC from a foreign authority gives nothing.
  const other = await createTestPki({ endpoints: [{ id: 'cc' }], now });
  const foreignAc = other.attributeCertificate(pki.identities.cc!.certificate, ['RBACMNT']);
  const p2 = await store.verify({
    chain: cc.chain,
    attributeCertificates: derObjects(foreignAc, ['ATTRIBUTE CERTIFICATE']),
    claimedId: 'cc',
    now,
  });
  assert.deepEqual(
    p2.roles.map((r) => r.role),
    ['OPERATOR'],
  );
  // Malformed AC bytes are refused.
  await assert.rejects(store.verify({ chain: cc.chain, attributeCertificates: [new Uint8Array([1, 2, 3])], claimedId: 'cc', now }), {
    code: 'ERR_MALFORMED',
  });
});

test('expired role and wrong role from createTestPki', async () => {
  const now = new Date();
  const pki = await createTestPki({ endpoints: [{ id: 'cc', roles: ['OPERATOR'] }], now });
  const store = createTrustStore(pki.trust());
  const expired = await store.verify({ chain: chainOf(pki.broken.expiredRole('cc').certificate), claimedId: 'cc', now });
  assert.deepEqual(expired.roles, []);
  const wrong = await store.verify({ chain: chainOf(pki.broken.wrongRole('cc').certificate), claimedId: 'cc', now });
  assert.deepEqual(
    wrong.roles.map((r) => r.role),
    ['VIEWER'],
  );
  // A role valid in the future becomes visible once its validity starts (cache hit, roles recomputed).
  const later = pki.issue({
    id: 'cc',
    roles: [{ role: 'ENGINEER', notBefore: new Date(now.getTime() + DAY), notAfter: new Date(now.getTime() + 2 * DAY) }],
  });
  const chain = chainOf(later.certificate);
  assert.deepEqual((await store.verify({ chain, claimedId: 'cc', now })).roles, []);
  assert.deepEqual(
    (await store.verify({ chain, claimedId: 'cc', now: new Date(now.getTime() + 1.5 * DAY) })).roles.map((r) => r.role),
    ['ENGINEER'],
  );
});

test('[SPEC 10.4] roles stored with millisecond validity give the same RoleAssignments as rolesAtMs, with fresh Dates', async () => {
  const { default: fc } = await import('fast-check');
  const { storeRoles, storedRolesAtMs, storedAssignments, rolesAtMs } = await import('../../src/pki/roles.js');
  const t0 = Date.UTC(2026, 0, 1);
  const time = fc.option(
    fc.integer({ min: 0, max: 10 }).map((d) => new Date(t0 + d * DAY)),
    { nil: undefined },
  );
  const role = fc
    .record(
      {
        role: fc.constantFrom('VIEWER', 'OPERATOR', 'custom'),
        roleId: fc.constantFrom(0, 1, -7),
        notBefore: time,
        notAfter: time,
        aor: fc.constantFrom('hopsafe', 'other'),
      },
      { requiredKeys: ['role', 'roleId'] },
    )
    .map((r) => Object.fromEntries(Object.entries(r).filter(([, v]) => v !== undefined)) as unknown as RoleAssignment); // plain, no undefined keys: as decoded
  fc.assert(
    fc.property(fc.array(role, { maxLength: 6 }), fc.integer({ min: -1, max: 11 }), (roles, d) => {
      const t = t0 + d * DAY;
      const stored = storeRoles(roles);
      const got = storedRolesAtMs(stored, t);
      assert.deepStrictEqual(got, rolesAtMs(roles, t));
      assert.deepStrictEqual(storedAssignments(stored), roles);
      for (const r of got) if (r.notAfter) assert.ok(!roles.some((o) => o.notAfter === r.notAfter), 'a Date of its own');
    }),
  );
});
