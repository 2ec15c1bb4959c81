/** Timing helpers for the benchmarks: rates over a time budget, percentiles. */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/**
 * A full GC before each measured slice, so garbage left by the previous benchmark (or the other
 * interleaved variant) is not collected on the next one's time. Enabled at run time (the
 * documented V8 flag, read by a fresh context) because the CLI cannot be started with --expose-gc.
 */
const collect: () => void = (() => {
  const existing = (globalThis as { gc?: () => void }).gc;
  if (existing) return existing;
  try {
    setFlagsFromString('--expose-gc');
    const fn: unknown = runInNewContext('gc');
    if (typeof fn === 'function') return () => void (fn as () => void)();
  } catch {
    /* not available: measure without */
  }
  return () => undefined;
})();

export function settle(): void {
  collect();
}

export interface Rate {
  readonly ops: number;
  /** Wall-clock seconds. */
  readonly seconds: number;
  readonly perSecond: number;
  /** CPU seconds of this process (user + system, all threads: GC, libuv pool) over the same span. */
  readonly cpuSeconds: number;
  /**
   * Operations per CPU-second: what the in-process benchmarks report, because on a shared machine
   * wall-clock rates also measure the other processes' load; on an idle machine both agree for
   * single-threaded work.
   */
  readonly perCpuSecond: number;
  /** From {@link interleaved}: ops per CPU-second of each round (side by side with the other functions' same round). */
  readonly roundsPerCpuSecond?: readonly number[];
}

const cpuS = (since: NodeJS.CpuUsage): number => {
  const u = process.cpuUsage(since);
  return (u.user + u.system) / 1e6;
};

function rate(ops: number, seconds: number, cpuSeconds: number): Rate {
  return { ops, seconds, perSecond: ops / seconds, cpuSeconds, perCpuSecond: ops / Math.max(cpuSeconds, 1e-6) };
}

const nowS = (): number => performance.now() / 1000;

/** Note for a row measured per CPU-second. */
export const cpuNote = (r: Rate, what: string): string =>
  `${what}; per CPU-second of this process (wall-clock: ${Math.round(r.perSecond).toLocaleString('en')}/s)`;

/** Runs `fn` repeatedly for about `budgetMs` (after a warm-up of a tenth of it) and returns its rate. */
export function rateSync(fn: () => void, budgetMs: number, minOps = 3): Rate {
  const warmEnd = nowS() + budgetMs / 10_000;
  do fn();
  while (nowS() < warmEnd);
  let ops = 0;
  let batch = 1;
  const cpu0 = process.cpuUsage();
  const start = nowS();
  const end = start + budgetMs / 1000;
  let t = start;
  while (t < end || ops < minOps) {
    for (let i = 0; i < batch; i++) fn();
    ops += batch;
    t = nowS();
    if (t - start < 0.01) batch *= 2;
  }
  return rate(ops, t - start, cpuS(cpu0));
}

/** Async variant: `fn` is awaited one at a time. */
export async function rateAsync(fn: () => Promise<void>, budgetMs: number, minOps = 3): Promise<Rate> {
  const warmEnd = nowS() + budgetMs / 10_000;
  do await fn();
  while (nowS() < warmEnd);
  let ops = 0;
  const cpu0 = process.cpuUsage();
  const start = nowS();
  const end = start + budgetMs / 1000;
  let t = start;
  while (t < end || ops < minOps) {
    await fn();
    ops++;
    t = nowS();
  }
  return rate(ops, t - start, cpuS(cpu0));
}

/** Median of the finite values (mean of the two middle ones for an even count). NaN when there is none. */
export function median(xs: readonly number[]): number {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

/** p in [0, 100] of an ascending array (nearest rank). NaN when empty. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i] as number;
}

/** Up to `points` evenly spaced (value, cumulative fraction) pairs of an ascending array, for CDF plots. */
export function cdfPoints(sorted: readonly number[], points = 200): [number, number][] {
  if (sorted.length === 0) return [];
  const out: [number, number][] = [];
  const step = Math.max(1, Math.floor(sorted.length / points));
  for (let i = 0; i < sorted.length; i += step) out.push([sorted[i] as number, (i + 1) / sorted.length]);
  out.push([sorted[sorted.length - 1] as number, 1]);
  return out;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Rounds to 3 significant digits (numbers in the report, not in computations). */
export function sig(x: number, digits = 3): number {
  if (!Number.isFinite(x) || x === 0) return x;
  return Number(x.toPrecision(digits));
}

/**
 * Measures several functions alternately in `rounds` rounds (each gets budgetMs/rounds per round),
 * so a change in machine load during the run affects all of them alike; returns one rate each.
 */
export async function interleaved(fns: readonly (() => void | Promise<void>)[], budgetMs: number, maxRounds = 4): Promise<Rate[]> {
  // ≥ 3 rounds (issue 19: ratios are medians of per-round ratios); tiny budgets (smoke tests) get one round: each
  // round costs a GC, a probe and a warm-up call per function.
  const rounds = budgetMs / maxRounds < 5 ? 1 : Math.max(3, maxRounds);
  const ops = fns.map(() => 0);
  const secs = fns.map(() => 0);
  const cpus = fns.map(() => 0);
  const per: number[][] = fns.map(() => []);
  // An untimed warm-up pass of every function first (half a round each): the first timed round of a function used to
  // run 10-17 % below the others (JIT tiers, first GCs of its working set), which widened every ratio's spread and
  // moved medians from run to run.
  if (rounds > 1)
    for (const fn of fns) {
      const end = performance.now() + budgetMs / rounds / 2;
      do await fn();
      while (performance.now() < end);
    }
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < fns.length; i++) {
      const fn = fns[i] as () => void | Promise<void>;
      settle();
      const probe = fn();
      const isAsync = probe instanceof Promise;
      if (isAsync) await probe;
      const r = isAsync
        ? await rateAsync(fn as () => Promise<void>, budgetMs / rounds, 1)
        : rateSync(fn as () => void, budgetMs / rounds, 1);
      ops[i] = (ops[i] as number) + r.ops;
      secs[i] = (secs[i] as number) + r.seconds;
      cpus[i] = (cpus[i] as number) + r.cpuSeconds;
      (per[i] as number[]).push(r.perCpuSecond);
    }
  }
  return fns.map((_, i) => ({ ...rate(ops[i] as number, secs[i] as number, cpus[i] as number), roundsPerCpuSecond: per[i] as number[] }));
}
