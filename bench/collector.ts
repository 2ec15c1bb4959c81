/** Collects result rows, ratios and latency series during one bench run. */
import type { Ratio, ResultRow } from './contract.js';

export class Collector {
  readonly results: ResultRow[] = [];
  readonly ratios: Record<string, Ratio> = {};
  readonly latencyCdf: Record<string, [number, number][]> = {};

  add(name: string, unit: string, value: number, note?: string): number {
    this.drop(name);
    if (!Number.isFinite(value)) {
      this.results.push({ name, skipped: `measurement produced ${String(value)}` });
      return value;
    }
    this.results.push(note === undefined ? { name, unit, value } : { name, unit, value, note });
    return value;
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

  has(name: string): boolean {
    return this.results.some((x) => x.name === name);
  }

  /** Sets `key` to num/den when both were measured, else to `{ skipped }` naming the missing row. */
  ratio(key: string, num: string, den: string): void {
    const a = this.value(num);
    const b = this.value(den);
    if (a === undefined || b === undefined || b === 0) {
      const missing = a === undefined ? num : den;
      const r = this.results.find((x) => x.name === missing);
      this.ratios[key] = { skipped: r && 'skipped' in r ? `${missing}: ${r.skipped}` : `${missing} not measured` };
      return;
    }
    this.ratios[key] = a / b;
  }

  skipRatio(key: string, reason: string): void {
    this.ratios[key] = { skipped: reason };
  }

  private drop(name: string): void {
    const i = this.results.findIndex((x) => x.name === name);
    if (i >= 0) this.results.splice(i, 1);
  }
}
