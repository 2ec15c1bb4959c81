/**
 * Group 14 of the conformance kit (groups, the IUT as a member; SPEC 13, Annex C.2): hopsafe's echo peer passes every
 * case, and each broken group variant fails the cases meant to catch it while passing its control cases.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { selfTest } from '../../src/conformance/self-test.js';
import { selectCases } from '../../src/conformance/runner.js';
import { GROUPS } from '../../src/conformance/case.js';
import { GROUP_CASE_IDS, GROUP_CASES } from '../../src/conformance/cases/groups.js';
import { CAUGHT_BY, STILL_PASSES, type Variant } from '../../src/conformance/broken/echo-variant.js';
import { decodeControl, encodeControl, PKI_FILES } from '../../src/conformance/contract.js';
import { runConformance } from '../../src/conformance/runner.js';
import { createEndpoint, type Endpoint } from '../../src/endpoint/endpoint.js';
import { mqttTransport } from '../../src/bindings/mqtt.js';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const GROUP_VARIANTS: readonly Variant[] = ['group-skips-signature', 'group-trusts-any-session', 'group-ignores-previous-end'];

test('[SPEC 13, Annex C.2] group 14: the echo peer passes every case; each group variant is caught by its cases', {
  timeout: 240_000,
}, async () => {
  const r = await selfTest({ cases: `${GROUP_CASES}.*`, timeoutMs: 2000, variants: GROUP_VARIANTS });
  const notPassed = r.echo.cases.filter((c) => c.outcome !== 'pass').map((c) => `${c.id}: ${c.outcome} ${c.reason}`);
  assert.deepEqual(notPassed, [], 'every group case passes against the echo peer');
  assert.deepEqual(
    r.echo.cases.map((c) => c.id),
    GROUP_CASE_IDS,
  );
  for (const c of r.echo.cases) {
    assert.equal(c.group, 'Groups, IUT is a member');
    assert.ok(
      c.transcript.some((e) => e.dir === 'sent' && e.type === 'GROUP_DATA' && e.to.startsWith('~g/')),
      `${c.id}: the kit published on the group address`,
    );
    assert.ok(
      c.transcript.some((e) => e.dir === 'received' && (e.type === 'DATA' || e.type === 'BATCH')),
      `${c.id}: the IUT's echoes came back on the pairwise session`,
    );
  }
  assert.deepEqual(
    r.variants.map((v) => v.variant),
    [...GROUP_VARIANTS],
  );
  for (const v of r.variants) {
    assert.deepEqual(v.missed, [], `variant ${v.variant} caught by all of ${CAUGHT_BY[v.variant].join(', ')}`);
    assert.deepEqual([...v.caught].sort(), [...CAUGHT_BY[v.variant]].sort());
    assert.deepEqual(v.spurious, [], `variant ${v.variant} passes its control cases`);
    const outcomes = new Map(v.report.cases.map((c) => [c.id, c.outcome]));
    for (const id of ['1.1.1', ...STILL_PASSES[v.variant]]) assert.equal(outcomes.get(id), 'pass', `${v.variant}: control case ${id}`);
  }
  assert.equal(r.ok, true);
});

test('group 14 cases cite SPEC 13 clauses; the older variants are caught by group cases too', () => {
  assert.ok(GROUPS[GROUP_CASES]);
  assert.ok(GROUP_CASE_IDS.length >= 40);
  assert.deepEqual(
    selectCases(`${GROUP_CASES}.*`).map((c) => c.id),
    GROUP_CASE_IDS,
  );
  for (const c of selectCases(`${GROUP_CASES}.*`)) assert.match(c.clause, /SPEC 13\.\d/, `${c.id} cites a clause of SPEC 13`);
  // accepts-replays and skips-mac are run against these by test/conformance-kit/self-test.test.ts
  assert.ok(['14.4.1', '14.4.2', '14.4.4'].every((id) => CAUGHT_BY['accepts-replays'].includes(id)));
  assert.ok(['14.3.2', '14.3.3'].every((id) => CAUGHT_BY['skips-mac'].includes(id)));
  for (const v of GROUP_VARIANTS)
    assert.ok(
      CAUGHT_BY[v].every((id) => GROUP_CASE_IDS.includes(id)),
      `${v} is caught by group cases`,
    );
});

test('[Annex C.2] the join control message round-trips; a join without a name is no control message', () => {
  assert.deepEqual(decodeControl(encodeControl({ op: 'join', name: 'conf 14.1.1' })), { op: 'join', name: 'conf 14.1.1' });
  assert.equal(decodeControl(new TextEncoder().encode('hopsafe-conformance/1:{"op":"join"}')), undefined);
  assert.equal(decodeControl(new TextEncoder().encode('hopsafe-conformance/1:{"op":"join","name":7}')), undefined);
});

test('[Annex C.2] an IUT that does not implement groups (no GROUP_CTRL join) is informational in group 14, not failed', {
  timeout: 60_000,
}, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'hopsafe-conf-nogroups-'));
  let ep: Endpoint | undefined;
  try {
    const r = await runConformance({
      iut: 'no-groups',
      brokerPort: 0,
      pkiDir: dir,
      cases: '1.1.1,14.1.1,14.4.1',
      timeoutMs: 1500,
      connectTimeoutMs: 20_000,
      onReady: async ({ brokerUrl, pkiDir }) => {
        const read = (f: string): Promise<string> => readFile(join(pkiDir, f), 'utf8');
        ep = await createEndpoint({
          id: 'no-groups',
          identity: { certificate: await read(PKI_FILES.chain('no-groups')), privateKey: await read(PKI_FILES.key('no-groups')) },
          trust: { roots: [await read(PKI_FILES.root)], crls: [await read(PKI_FILES.crl)] },
          transport: mqttTransport({ url: brokerUrl }),
          acceptProtection: ['integrity', 'confidentiality'],
        });
        const e = ep;
        // echoes everything (the join control message too) and never joins
        e.on('message', (m) => void e.send(m.from, m.data).catch(() => undefined));
      },
    });
    const outcomes = Object.fromEntries(r.cases.map((c) => [c.id, c.outcome]));
    assert.deepEqual(outcomes, { '1.1.1': 'pass', '14.1.1': 'informational', '14.4.1': 'informational' });
    assert.match(r.cases[1]?.reason ?? '', /does not implement groups/);
    assert.equal(r.summary.fail, 0);
  } finally {
    await ep?.close();
    await rm(dir, { recursive: true, force: true });
  }
});
