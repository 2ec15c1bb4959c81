/**
 * Node options a benchmark child process inherits: only module loaders (`--import tsx` when run
 * from source), never `-e`/`-p`/`--input-type` (a child would re-run the parent's inline script)
 * or profiling flags.
 */
const WITH_VALUE = new Set(['--import', '--require', '-r', '--loader', '--experimental-loader']);

export function childExecArgv(parent: readonly string[] = process.execArgv): string[] {
  const out: string[] = [];
  for (let i = 0; i < parent.length; i++) {
    const a = parent[i] as string;
    const eq = a.indexOf('=');
    const flag = eq >= 0 ? a.slice(0, eq) : a;
    if (!WITH_VALUE.has(flag)) continue;
    if (eq >= 0) out.push(a);
    else if (i + 1 < parent.length) out.push(a, parent[++i] as string);
  }
  return out;
}
