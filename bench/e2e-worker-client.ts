/**
 * The benchmarks' handle on one forked worker process (e2e-worker.ts by default, groups-worker.ts; their side of it is
 * worker-loop.ts's serve), and the E2E drain poll.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { childExecArgv } from './fork-args.js';
import { sleep } from './measure.js';
import type { SubReport, WorkerCommand, WorkerReply } from './e2e-protocol.js';

export class Worker<C extends { readonly cmd: string } = WorkerCommand, R extends { readonly ok: boolean } = WorkerReply> {
  private readonly child: ChildProcess;
  private queue: Promise<unknown> = Promise.resolve();
  /** `script`: the worker module next to this one, without extension. */
  constructor(
    readonly role: string,
    script = 'e2e-worker',
  ) {
    const here = import.meta.url;
    const file = fileURLToPath(new URL(`./${script}${here.endsWith('.ts') ? '.ts' : '.js'}`, here));
    this.child = fork(file, [], { execArgv: childExecArgv(), stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  }

  call(cmd: C, timeoutMs = 60_000): Promise<R & { ok: true }> {
    const run = this.queue.then(
      () =>
        new Promise<R & { ok: true }>((resolve, reject) => {
          const timer = setTimeout(() => {
            this.child.off('message', onMsg);
            reject(new Error(`${this.role}: ${cmd.cmd} timed out`));
          }, timeoutMs);
          const onMsg = (m: R): void => {
            clearTimeout(timer);
            this.child.off('message', onMsg);
            if (m.ok) resolve(m as R & { ok: true });
            else reject(new Error(`${this.role}: ${cmd.cmd}: ${(m as { error?: string }).error}`));
          };
          this.child.on('message', onMsg);
          this.child.send(cmd);
        }),
    );
    this.queue = run.catch(() => undefined);
    return run;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise<void>((r) => this.child.once('exit', () => r()));
    this.child.disconnect();
    const t = setTimeout(() => this.child.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(t);
  }
}

/** Polls the subscriber (counts only) until `sent` arrived or arrivals stop; with `detail`, then fetches the samples once. */
export async function drained(sub: Worker, sent: number, maxMs = 15_000, detail = false): Promise<SubReport> {
  const deadline = performance.now() + maxMs;
  let last = -1;
  let stableSince = performance.now();
  for (;;) {
    const r = (await sub.call({ cmd: 'report' })).report as SubReport;
    const done = r.count >= sent || (r.count === last && (performance.now() - stableSince > 1500 || performance.now() > deadline));
    if (done) return detail ? ((await sub.call({ cmd: 'report', detail: true })).report as SubReport) : r;
    if (r.count !== last) {
      last = r.count;
      stableSince = performance.now();
    }
    await sleep(50);
  }
}
