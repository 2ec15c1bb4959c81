/**
 * `hopsafe conformance --self-test`: the whole suite against hopsafe's own echo peer (`hopsafe peer --echo`,
 * spawned), then each deliberately broken variant (src/conformance/broken) against the cases meant to catch it.
 * Passes only when the echo peer passes every case and every variant fails each of its cases. [SPEC Annex C.3]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SUITES, type Suite } from '../crypto/suites.js';
import { createNodeProvider } from '../crypto/node.js';
import type { CryptoProvider } from '../crypto/provider.js';
import { CAUGHT_BY, STILL_PASSES, VARIANTS, type Variant } from './broken/echo-variant.js';
import { PKI_FILES, TOPIC_PREFIX } from './contract.js';
import { removeAmqpRun } from './wire-brokers.js';
import { GROUP_CASES } from './cases/groups.js';
import { randomBytes } from 'node:crypto';
import { runConformance, type RunReport } from './runner.js';
import { writeReports } from './report.js';

export interface SelfTestOptions {
  readonly reportDir?: string;
  readonly cases?: string;
  readonly timeoutMs: number;
  readonly log?: (line: string) => void;
  /** PKI directory of the echo peer's run (kept afterwards; a vendor CA there is used, Annex C.1); default a temporary one. */
  readonly pkiDir?: string;
  /** Variants to run (default all). */
  readonly variants?: readonly Variant[];
  /**
   * The echo peer's suites (its `--suite` list, in order), declared to the kit as the suites it enables; default
   * `SELF_TEST_SUITES`.
   */
  readonly suites?: readonly Suite[];
  /**
   * An external AMQP or NATS server URL for every run (`--broker`); default the embedded MQTT broker. Each run
   * (echo peer, each variant) gets an exchange / subject prefix of its own, and on AMQP the exchange and the IUT's
   * queue are deleted after the IUT stopped.
   */
  readonly broker?: string;
}

/**
 * [SPEC 4.1, 5.4] The echo peer's default suites: every suite the node provider runs, brainpoolP256r1's last. As
 * initiator it offers the suites of its first 4 groups only (one key share per group); of the 5 groups, the one left
 * out of its HS_INIT is brainpoolP256r1 (the least portable: only where OpenSSL has the curve), so the hybrid
 * X25519MLKEM768 suites are offered and selected (2.2.8, 2.2.9) and 2.2.7 is reported informational, naming the limit.
 */
export function selfTestSuites(provider: CryptoProvider = createNodeProvider()): Suite[] {
  const usable = SUITES.filter((s) => provider.supportsGroup(s.group) && provider.supportsAead(s.aead));
  return [...usable.filter((s) => s.group !== 'brainpoolP256r1'), ...usable.filter((s) => s.group === 'brainpoolP256r1')];
}

export interface SelfTestResult {
  readonly ok: boolean;
  readonly echo: RunReport;
  /**
   * Per variant: the cases meant to catch it (`expected`), those that did (`caught`), those that did not or a
   * control case that did not pass (`missed`), and the control cases (1.1.1 and STILL_PASSES) that did not pass
   * (`spurious`: the variant failed something unrelated to its defect).
   */
  readonly variants: {
    readonly variant: Variant;
    readonly expected: readonly string[];
    readonly caught: readonly string[];
    readonly missed: readonly string[];
    readonly spurious: readonly string[];
    readonly report: RunReport;
  }[];
}

const IUT = 'hopsafe-echo';
const fromSource = import.meta.url.endsWith('.ts');
const here = (rel: string): string => fileURLToPath(new URL(rel, import.meta.url));
/** Node arguments running a module of this package (from source through tsx when this module is source). */
const nodeArgs = (rel: string): string[] => (fromSource ? ['--import', 'tsx', here(`${rel}.ts`)] : [here(`${rel}.js`)]);

function iutFiles(dir: string): string[] {
  return [
    '--id',
    IUT,
    '--cert',
    join(dir, PKI_FILES.chain(IUT)),
    '--key',
    join(dir, PKI_FILES.key(IUT)),
    '--trust',
    join(dir, PKI_FILES.root),
    '--crl',
    join(dir, PKI_FILES.crl),
  ];
}

function start(args: string[], log: (l: string) => void): ChildProcess {
  const child = spawn(process.execPath, args, { stdio: ['pipe', 'ignore', 'pipe'] });
  child.stderr?.on('data', (d: Buffer) => log(`  iut: ${d.toString().trim()}`));
  return child;
}

async function stop(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.pid === undefined) return;
  const done = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM'); // only the process this module spawned, by its handle
  await Promise.race([done, new Promise((r) => setTimeout(r, 3000).unref())]);
  if (child.exitCode === null) child.kill('SIGKILL');
}

async function runAgainst(
  spawnArgs: (brokerUrl: string, pkiDir: string, prefix: string) => string[],
  cases: string | undefined,
  o: SelfTestOptions,
  label: string,
  givenDir?: string,
  iutSuites?: readonly Suite[],
): Promise<RunReport> {
  const pkiDir = givenDir ?? (await mkdtemp(join(tmpdir(), 'hopsafe-conformance-')));
  const log = o.log ?? (() => undefined);
  // a prefix of its own per run on a shared server (parallel runs, other clients)
  const broker = o.broker ? { url: o.broker, prefix: `hopsafe-conf-${randomBytes(6).toString('hex')}` } : undefined;
  let child: ChildProcess | undefined;
  try {
    return await runConformance({
      iut: IUT,
      brokerPort: 0,
      ...(broker ? { broker } : {}),
      pkiDir,
      ...(cases ? { cases } : {}),
      ...(iutSuites ? { iutSuites } : {}),
      timeoutMs: o.timeoutMs,
      connectTimeoutMs: 30_000,
      log: (l) => log(`[${label}] ${l}`),
      onReady: ({ brokerUrl }) => {
        child = start(spawnArgs(brokerUrl, pkiDir, broker?.prefix ?? TOPIC_PREFIX), log);
      },
    });
  } finally {
    await stop(child);
    if (broker && /^amqps?:/i.test(broker.url))
      await removeAmqpRun(broker.url, broker.prefix, IUT).catch((e: unknown) => log(`cleanup: ${(e as Error).message}`));
    if (!givenDir) await rm(pkiDir, { recursive: true, force: true });
  }
}

export async function selfTest(o: SelfTestOptions): Promise<SelfTestResult> {
  const echoSuites = o.suites ?? selfTestSuites();
  const suites = echoSuites.flatMap((s) => ['--suite', s.name]);
  // The echo peer and the variants run at once: each run has its own broker (a free port), PKI and child process.
  const echoRun = runAgainst(
    (url, dir, prefix) => [
      ...nodeArgs('../cli/main'),
      'peer',
      '--echo',
      ...iutFiles(dir),
      '--url',
      url,
      '--prefix',
      prefix,
      '--accept-protection',
      'integrity,confidentiality',
      ...suites,
    ],
    o.cases,
    o,
    'echo peer',
    o.pkiDir,
    echoSuites,
  );
  // Case group 14 runs on the embedded MQTT broker only (Annex C.1): over --broker a variant is held to its other
  // cases, and a variant only group cases catch is not run.
  const applicable = (ids: readonly string[]): string[] => (o.broker ? ids.filter((id) => !id.startsWith(`${GROUP_CASES}.`)) : [...ids]);
  const runVariants = (o.variants ?? VARIANTS).filter((v) => applicable(CAUGHT_BY[v]).length > 0);
  const variantRuns = runVariants.map(async (variant) => {
    const expected = applicable(CAUGHT_BY[variant]);
    // the cases meant to catch it, and control cases (1.1.1 and neighbours testing rules the variant keeps) to show
    // the variant is otherwise a working peer, caught for its defect only
    const controls = ['1.1.1', ...applicable(STILL_PASSES[variant])];
    const report = await runAgainst(
      (url, dir, prefix) => [...nodeArgs('./broken/echo-variant'), variant, ...iutFiles(dir), '--url', url, '--prefix', prefix],
      [...controls, ...expected].join(','),
      o,
      variant,
    );
    const outcome = (id: string): string | undefined => report.cases.find((c) => c.id === id)?.outcome;
    const caught = expected.filter((id) => outcome(id) === 'fail');
    const missed = expected.filter((id) => !caught.includes(id));
    const spurious = controls.filter((id) => outcome(id) !== 'pass');
    missed.push(...spurious.map((id) => `${id} (a control case: the variant should pass it)`));
    if (o.reportDir) await writeReports(join(o.reportDir, `variant-${variant}`), report);
    o.log?.(
      `[${variant}] ${missed.length === 0 ? 'caught' : 'NOT caught'} by ${caught.join(', ') || 'no case'}${missed.length ? `; missed: ${missed.join(', ')}` : ''}`,
    );
    return { variant, expected, caught, missed, spurious, report };
  });
  const [echo, ...variants] = await Promise.all([echoRun, ...variantRuns] as const);
  if (o.reportDir) await writeReports(o.reportDir, echo);
  const ok = echo.summary.fail === 0 && echo.summary.nonStrict === 0 && variants.every((v) => v.missed.length === 0);
  return { ok, echo, variants };
}
