/**
 * Runs cases against an IUT: writes the PKI, starts the broker, waits for the IUT, runs the selected cases in order
 * with a per-case deadline, and returns the reports. [SPEC Annex C]
 */
import { compileGlob } from '../pki/glob.js';
import { HopsafeError } from '../errors/index.js';
import { CaseEnv, CaseFailure, GROUPS, type CaseReport, type CaseResult, type ConformanceCase, type RunState } from './case.js';
import { ALL_CASES } from './cases/index.js';
import { createKitPki, type KitPki } from './kit-pki.js';
import { loadVendorPki } from './vendor-pki.js';
import { KitParty } from './party.js';
import { Wire } from './wire.js';
import { KIT_ID_PREFIX, MANDATORY_SUITE } from './contract.js';
import type { Suite } from '../crypto/suites.js';

export interface RunOptions {
  readonly iut: string;
  readonly brokerPort: number;
  /**
   * An external AMQP or NATS server instead of the embedded MQTT broker (`--broker`, Annex C.1): its URL and the
   * exchange / subject prefix the IUT uses (`--prefix`).
   */
  readonly broker?: { readonly url: string; readonly prefix: string };
  readonly pkiDir: string;
  /** Comma-separated id globs (`6.*,1.1.*`); all cases when undefined. */
  readonly cases?: string;
  readonly timeoutMs: number;
  readonly settleMs?: number;
  /** How long to wait for the IUT's first answer. */
  readonly connectTimeoutMs?: number;
  /** Progress lines. */
  readonly log?: (line: string) => void;
  /**
   * [Annex C.1] The suites the IUT enables, in its order (its `suites` option, SPEC 4.1; `--suite`). Undefined: not
   * declared (optional suites the IUT refuses are informational). Must include X25519_AES128GCM_SHA256.
   */
  readonly iutSuites?: readonly Suite[];
  /** Called once the PKI is written and the broker listens (the self-test starts its IUT here). */
  readonly onReady?: (info: { brokerUrl: string; pkiDir: string; kit: KitPki }) => void | Promise<void>;
}

export interface RunReport {
  readonly kit: string;
  readonly iut: string;
  readonly started: string;
  readonly durationMs: number;
  readonly brokerUrl: string;
  /** The topic prefix / AMQP exchange / NATS subject prefix of the run (kit.json `prefix`). */
  readonly prefix: string;
  /** The suites declared with `--suite` (names, in the IUT's order); absent when none were declared. */
  readonly iutSuites?: readonly string[];
  readonly summary: { pass: number; fail: number; nonStrict: number; informational: number };
  readonly cases: readonly CaseReport[];
}

/** Cases whose id matches one of the comma-separated globs (`*` = any characters). */
export function selectCases(globs: string | undefined, all: readonly ConformanceCase[] = ALL_CASES): ConformanceCase[] {
  if (globs === undefined || globs.trim() === '') return [...all];
  const ms = globs
    .split(',')
    .map((g) => g.trim())
    .filter((g) => g.length > 0)
    .map((g) => compileGlob(g)); // ids hold no '/': '*' is any run of characters
  return all.filter((c) => ms.some((m) => m(c.id)));
}

export function groupOf(id: string): string {
  return id.split('.')[0] ?? id;
}

const CASE_BUDGET_MS = 30_000;

export async function runConformance(o: RunOptions): Promise<RunReport> {
  const log = o.log ?? (() => undefined);
  const selected = selectCases(o.cases);
  if (selected.length === 0) throw new HopsafeError('ERR_INPUT', `--cases ${o.cases ?? ''} selects no case`);
  if (o.iutSuites && !o.iutSuites.some((s) => s.id === MANDATORY_SUITE))
    throw new HopsafeError('ERR_INPUT', '--suite: the declared suites must include the mandatory X25519_AES128GCM_SHA256 (SPEC Annex C.2)');
  const vendor = await loadVendorPki(o.pkiDir, o.iut);
  const kit = createKitPki(o.iut, vendor);
  if (vendor)
    log(`issuing under the CA in ${o.pkiDir} (ca.pem, ca.key)${vendor.iutFromDir ? `; the IUT's certificate from ${o.iut}.pem` : ''}`);
  const wire = o.broker ? await Wire.connect(o.iut, o.broker.url, o.broker.prefix) : await Wire.start(o.iut, o.brokerPort);
  const started = new Date();
  try {
    await kit.write(o.pkiDir, wire.url, wire.prefix);
    log(
      `broker ${wire.url} (prefix ${wire.prefix}); PKI for ${o.iut} in ${o.pkiDir}; waiting for the IUT ${o.broker ? '' : `(subscribed to ${wire.prefix}/${o.iut}/+)`}`.trimEnd(),
    );
    await o.onReady?.({ brokerUrl: wire.url, pkiDir: o.pkiDir, kit });
    const firstHandshakeAt = await waitForIut(wire, kit, o.connectTimeoutMs ?? 120_000, o.timeoutMs);
    log(`IUT ${o.iut} answered; running ${selected.length} case(s)`);
    log(
      o.iutSuites
        ? `suites the IUT enables (--suite): ${o.iutSuites.map((s) => s.name).join(', ')}`
        : 'suites the IUT enables: not declared (--suite); optional suites it refuses are informational',
    );
    const state: RunState = { supportedSuites: new Set(), firstHandshakeAt, ...(o.iutSuites ? { iutSuites: o.iutSuites } : {}) };
    const reports: CaseReport[] = [];
    for (const c of selected) {
      const r = await runOne(c, wire, kit, o, state);
      reports.push(r);
      log(
        `${r.outcome === 'pass' ? 'PASS' : r.outcome === 'fail' ? 'FAIL' : r.outcome === 'non-strict' ? 'NON-STRICT' : 'INFO'} ${c.id.padEnd(8)} ${c.title}${r.outcome === 'pass' ? '' : ` — ${r.reason}`}`,
      );
    }
    const summary = { pass: 0, fail: 0, nonStrict: 0, informational: 0 };
    for (const r of reports) {
      if (r.outcome === 'pass') summary.pass++;
      else if (r.outcome === 'fail') summary.fail++;
      else if (r.outcome === 'non-strict') summary.nonStrict++;
      else summary.informational++;
    }
    return {
      kit: 'hopsafe conformance 1',
      iut: o.iut,
      started: started.toISOString(),
      durationMs: Date.now() - started.getTime(),
      brokerUrl: wire.url,
      prefix: wire.prefix,
      ...(o.iutSuites ? { iutSuites: o.iutSuites.map((s) => s.name) } : {}),
      summary,
      cases: reports,
    };
  } finally {
    await wire.close();
  }
}

async function runOne(c: ConformanceCase, wire: Wire, kit: KitPki, o: RunOptions, state: RunState): Promise<CaseReport> {
  const env = new CaseEnv(c.id, wire, kit, o.timeoutMs, o.settleMs ?? 250, state);
  wire.begin();
  const t0 = Date.now();
  let timer: NodeJS.Timeout | undefined;
  let result: CaseResult;
  try {
    result = await Promise.race([
      c.run(env),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new CaseFailure(`case did not finish within ${CASE_BUDGET_MS / 1000} s`)), CASE_BUDGET_MS);
      }),
    ]);
  } catch (e) {
    result = {
      outcome: 'fail' as const,
      reason: e instanceof CaseFailure ? e.message : `kit error: ${e instanceof Error ? e.message : String(e)}`,
    };
  } finally {
    clearTimeout(timer);
    env.close();
  }
  return {
    id: c.id,
    group: GROUPS[groupOf(c.id)] ?? groupOf(c.id),
    title: c.title,
    clause: c.clause,
    ...result,
    durationMs: Date.now() - t0,
    transcript: wire.end(),
  };
}

/** [Annex C.1] Re-sends one HS_INIT (byte for byte, a fresh one every 20 s) until the IUT answers it. */
async function waitForIut(wire: Wire, kit: KitPki, timeoutMs: number, answerMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  const p = new KitParty(
    { wire, provider: kit.provider, verifier: kit.trust, iut: kit.iut, timeoutMs: answerMs },
    kit.identity(`${KIT_ID_PREFIX}ready`),
  );
  try {
    while (Date.now() < deadline) {
      const { pending, frame } = p.initiate();
      p.expectResponse(pending);
      const until = Math.min(deadline, Date.now() + 20_000);
      while (Date.now() < until) {
        await p.sendFrame(frame);
        if (await p.waitFor((e) => e.kind === 'established', 1000)) return Date.now();
      }
    }
  } finally {
    p.close();
  }
  throw new HopsafeError('ERR_TIMEOUT', `the IUT ${kit.iut} did not answer within ${Math.round(timeoutMs / 1000)} s`);
}
