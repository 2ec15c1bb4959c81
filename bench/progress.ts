/** A one-line progress bar on stderr (a line per step when stderr is not a terminal). */
export class Progress {
  private done = 0;
  private label = '';
  private readonly tty: boolean;
  constructor(
    private readonly total: number,
    private readonly out: NodeJS.WriteStream = process.stderr,
    private readonly quiet = false,
  ) {
    this.tty = Boolean(out.isTTY);
  }

  /** Names what is running now (within the current benchmark). */
  status(label: string): void {
    this.label = label;
    this.render();
  }

  /** One benchmark finished. */
  tick(): void {
    this.done = Math.min(this.total, this.done + 1);
    this.render();
  }

  finish(): void {
    if (!this.quiet && this.tty) this.out.write('\n');
  }

  private render(): void {
    if (this.quiet) return;
    const width = 24;
    const filled = Math.round((this.done / Math.max(1, this.total)) * width);
    const line = `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${this.done}/${this.total} ${this.label}`;
    if (this.tty) this.out.write(`\r\x1b[2K${line.slice(0, (this.out.columns ?? 100) - 1)}`);
    else this.out.write(`${line}\n`);
  }
}
