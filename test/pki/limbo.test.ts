/**
 * x509-limbo (C2SP/x509-limbo, Apache-2.0; data and origin in test/pki/conformance/): every testcase through
 * hopsafe's validator, compared with limbo's expected_result, against the reviewed list of expected deviations
 * (conformance/limbo-deviations.json). Any new false accept, new false reject, stale deviation or changed
 * refusal code fails. Mapping of a testcase onto the validator: conformance/limbo.ts. [SPEC 10.2] [SPEC 10.3] [SPEC 10.5]
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { loadDeviations, loadLimbo, namespaceOf, runLimboCase, verdict, type LimboOutcome, type Verdict } from './conformance/limbo.js';

const cases = loadLimbo();
const deviations = loadDeviations();

describe('x509-limbo [SPEC 10.2]', () => {
  const outcomes: { o: LimboOutcome; v: Verdict }[] = [];

  test('the data: 208 testcases; every listed deviation names a known case, a class and a reason', () => {
    assert.equal(cases.length, 208);
    const ids = new Set(cases.map((c) => c.id));
    for (const [id, d] of Object.entries(deviations)) {
      assert.ok(ids.has(id), `deviation for unknown case ${id}`);
      assert.ok(['web-PKI policy', 'unsupported', 'by design'].includes(d.class), `${id}: class`);
      assert.ok(d.reason.length > 20, `${id}: reason`);
    }
  });

  for (const c of cases)
    test(c.id, async () => {
      const o = await runLimboCase(c);
      const v = verdict(o, deviations[c.id]);
      outcomes.push({ o, v });
      assert.ok(
        v === 'pass' || v === 'expected deviation',
        `${v}: limbo expects ${o.expected}, hopsafe gives ${o.actual} ${o.code} ${o.detail}`,
      );
      // [SPEC 10.2] work budget: every case (100-certificate pools included) is decided quickly; store set-up included
      assert.ok(o.ms < 2000, `${c.id} took ${o.ms.toFixed(0)} ms`);
    });

  test('pathological::pathological-chain-same-subject-same-key (the former hang) is refused ERR_CERT_UNTRUSTED by the budget', async () => {
    const c = cases.find((x) => x.id === 'pathological::pathological-chain-same-subject-same-key');
    assert.ok(c);
    const o = await runLimboCase(c);
    assert.equal(o.code, 'ERR_CERT_UNTRUSTED');
    assert.match(o.detail, /^path-budget:/);
    assert.ok(o.ms < 1000, `${o.ms.toFixed(0)} ms (store set-up with 100 certificates included)`);
  });

  test('no false accept at all; summary per namespace', () => {
    const byNs = new Map<string, Record<string, number>>();
    for (const { o, v } of outcomes) {
      const ns = namespaceOf(o.id);
      const row = byNs.get(ns) ?? {};
      row[v] = (row[v] ?? 0) + 1;
      byNs.set(ns, row);
    }
    assert.equal(outcomes.filter((x) => x.v === 'false accept').length, 0);
    if (process.env.HOPSAFE_LIMBO_TABLE === '1') console.log(JSON.stringify(Object.fromEntries(byNs), null, 1));
  });
});
