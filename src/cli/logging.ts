/**
 * `--log-level` / HOPSAFE_LOG_LEVEL for the commands that run endpoints or bridges (peer, bridge, demo). Logs are
 * pino JSON lines on stderr (stdout stays the command's own output, e.g. `hopsafe peer`'s JSON events); the flag
 * wins over the variable; default `silent`. The library logs ids, sizes and error codes, never keys or payloads.
 */
import { pino, type Logger } from 'pino';
import { HopsafeError } from '../errors/index.js';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** One option of a --help (used after two spaces of indentation; every line ≤ 80 columns). */
export const LOG_LEVEL_HELP = `--log-level L        pino logs on stderr; L: ${LOG_LEVELS.slice(0, 5).join(', ')},
                       ${LOG_LEVELS.slice(5).join(', ')} (default silent; or env HOPSAFE_LOG_LEVEL)`;

/** The level from the flag, else HOPSAFE_LOG_LEVEL, else silent; ERR_CONFIG naming the source of a bad value. */
export function logLevel(flag: string | undefined, env: string | undefined = process.env.HOPSAFE_LOG_LEVEL): LogLevel {
  const [value, source] =
    flag !== undefined ? [flag, '--log-level'] : env !== undefined && env !== '' ? [env, 'HOPSAFE_LOG_LEVEL'] : ['silent', ''];
  const v = value.trim().toLowerCase();
  if (!(LOG_LEVELS as readonly string[]).includes(v))
    throw new HopsafeError('ERR_CONFIG', `${source} ${JSON.stringify(value)}: one of ${LOG_LEVELS.join(', ')}`);
  return v as LogLevel;
}

/** A pino logger writing synchronously to stderr (nothing lost when the command exits), bound to `{ cmd }`. */
export function cliLogger(cmd: string, level: LogLevel): Logger {
  return pino({ level, base: { pid: process.pid, cmd } }, pino.destination({ dest: 2, sync: true }));
}
