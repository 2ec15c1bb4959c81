/**
 * Running the examples as a user does: a child `node --import tsx examples/…` whose `hopsafe/*` imports resolve
 * through package.json "exports" by the package's own name (Node's self-reference), i.e. to dist/. `npm test` builds
 * dist/ in its pretest; a single test file run alone builds it here when it is missing or older than src/
 * (one build at a time across test processes: a lock directory).
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const TSC = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');

function newestMtime(dir: string): number {
  let newest = 0;
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    const s = statSync(p);
    newest = Math.max(newest, s.isDirectory() ? newestMtime(p) : s.mtimeMs);
  }
  return newest;
}

const stale = (): boolean => {
  const marker = join(ROOT, 'dist', 'index.js');
  return !existsSync(marker) || statSync(marker).mtimeMs < newestMtime(join(ROOT, 'src'));
};

/** Makes sure dist/ is built from the current src/ (what the examples import as `hopsafe`). */
export async function ensureBuilt(): Promise<void> {
  if (!stale()) return;
  const lock = join(ROOT, 'dist.build-lock');
  const deadline = Date.now() + 180_000;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      if (Date.now() > deadline) throw new Error(`${lock} held for 3 minutes (a crashed build? remove it)`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  try {
    if (!stale()) return; // another process built it meanwhile
    const r = spawnSync(process.execPath, [TSC, '-p', join(ROOT, 'tsconfig.json')], { cwd: ROOT, encoding: 'utf8', timeout: 170_000 });
    if (r.status !== 0) throw new Error(`npm run build failed:\n${r.stdout}${r.stderr}`);
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

export interface ExampleRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** stdout's JSON lines. */
  readonly lines: Record<string, unknown>[];
}

/** Runs `node --import tsx <file> ...args` in the repository root; resolves when it exits (killed after `timeoutMs`). */
export function runExample(file: string, args: string[], timeoutMs = 60_000, env: NodeJS.ProcessEnv = process.env): Promise<ExampleRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, file), ...args], {
      cwd: ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      const lines = stdout
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      resolve({ code, stdout, stderr, lines });
    });
  });
}

export const describeRun = (r: ExampleRun): string => `exit ${String(r.code)}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`;
