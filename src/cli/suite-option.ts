/**
 * `--suite NAME` (repeatable) of the commands that choose suites (`hopsafe peer`, `demo`, `conformance`): names from
 * SPEC 4.1's table, in preference order, each once. A bad one is a usage error naming the option and the choices.
 */
import { SUITES, suiteByName, type Suite } from '../crypto/suites.js';
import { UsageError } from './usage.js';

export const SUITE_NAMES: readonly string[] = SUITES.map((s) => s.name);

/** The help lines listing every suite name, indented for a usage text (each line ≤ 80 columns). */
export function suiteNamesHelp(indent: number): string {
  return SUITE_NAMES.map((n) => `${' '.repeat(indent)}${n}`).join('\n');
}

/** The suites named by a repeatable `--suite` (empty when not given); throws UsageError naming `flag`. */
export function suiteOption(names: readonly string[] | undefined, flag = '--suite'): Suite[] {
  const given = names ?? [];
  const unknown = given.find((n) => !SUITE_NAMES.includes(n));
  if (unknown !== undefined) throw new UsageError(`${flag} ${JSON.stringify(unknown)}: unknown suite (one of ${SUITE_NAMES.join(', ')})`);
  if (new Set(given).size !== given.length) throw new UsageError(`${flag}: a suite is given twice`);
  return given.map((n) => suiteByName(n));
}
