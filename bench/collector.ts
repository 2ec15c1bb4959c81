/** Collects result rows, ratios and latency series during one bench run. */
import type { MeasuredRatio, Ratio, ResultRow } from './contract.js';
import { median, type Rate } from './measure.js';

export class Collector {
  readonly results: ResultRow[] = [];
  readonly ratios: Record<string, Ratio> = {};
  readonly latencyCdf: Record<string, [number, number][]> = {};

  /** Adds a row; with `rounds` (per-round values of interleaved rounds), `value` should be their median. */
  add(name: string, unit: string, value: number, note?: string, rounds?: readonly number[]): number {
    this.drop(name);
    if (!Number.isFinite(value)) {
      this.results.push({ name, skipped: `measurement produced ${String(value)}` });
      return value;
    }
    const rs = rounds && rounds.length > 0 && rounds.every(Number.isFinite) ? { rounds: [...rounds] } : {};
    this.results.push(note === undefined ? { name, unit, value, ...rs } : { name, unit, value, note, ...rs });
    return value;
  }

  /** Adds the median of per-round values, keeping the rounds. */
  addRounds(name: string, unit: string, rounds: readonly number[], note?: string): number {
    return this.add(name, unit, median(rounds), note, rounds);
  }

  /** A rate row from {@link interleaved} / rateSync: ops per CPU-second, with the per-round rates when there were rounds. */
  addRate(name: string, unit: string, r: Rate, note?: string): number {
    return this.add(name, unit, r.perCpuSecond, note, r.roundsPerCpuSecond);
  }

  skip(name: string, reason: string): void {
    this.drop(name);
    this.results.push({ name, skipped: reason });
  }

  /** A measured value, or undefined when absent or skipped. */
  value(name: string): number | undefined {
    const r = this.results.find((x) => x.name === name);
    return r && 'value' in r ? r.value : undefined;
  }

  /** The per-round values of a measured row (one element, its value, when it was measured once). */
  rounds(name: string): number[] | undefined {
    const r = this.results.find((x) => x.name === name);
    if (!r || !('value' in r)) return undefined;
    return r.rounds && r.rounds.length > 0 ? [...r.rounds] : [r.value];
  }

  has(name: string): boolean {
    return this.results.some((x) => x.name === name);
  }

  /**
   * Sets `key` to num/den when both were measured, else to `{ skipped }` naming the missing row. When both rows carry
   * the same number of interleaved rounds, the ratio is the median of the per-round ratios (round i of num over
   * round i of den: measured side by side) with their min and max; otherwise value/value, one round.
   */
  ratio(key: string, num: string, den: string): void {
    const a = this.rounds(num);
    const b = this.rounds(den);
    if (a === undefined || b === undefined || b.some((x) => x === 0)) {
      const missing = a === undefined ? num : den;
      const r = this.results.find((x) => x.name === missing);
      this.ratios[key] = { skipped: r && 'skipped' in r ? `${missing}: ${r.skipped}` : `${missing} not measured` };
      return;
    }
    if (a.length === b.length)
      this.ratioOf(
        key,
        a.map((x, i) => x / (b[i] as number)),
      );
    else this.ratioOf(key, [(this.value(num) as number) / (this.value(den) as number)]);
  }

  /** Sets `key` from per-round ratios: median, min, max. */
  ratioOf(key: string, perRound: readonly number[]): void {
    const xs = perRound.filter(Number.isFinite);
    if (xs.length === 0) {
      this.ratios[key] = { skipped: 'no finite round' };
      return;
    }
    const r: MeasuredRatio = { value: median(xs), min: Math.min(...xs), max: Math.max(...xs), rounds: xs.length };
    this.ratios[key] = r;
  }

  skipRatio(key: string, reason: string): void {
    this.ratios[key] = { skipped: reason };
  }

  private drop(name: string): void {
    const i = this.results.findIndex((x) => x.name === name);
    if (i >= 0) this.results.splice(i, 1);
  }
}
