/** Reading the files CLI options name: errors say which option and why (`--crl nope.pem: no such file`). */
import { readFileSync } from 'node:fs';
import { HopsafeError } from '../errors/index.js';

const REASONS: Record<string, string> = {
  ENOENT: 'no such file',
  EACCES: 'permission denied',
  EISDIR: 'is a directory',
  ENOTDIR: 'no such file',
};

/** A PEM file named by a CLI option; ERR_CONFIG naming the option and the reason, never a stack. */
export function readOptionPem(flag: string, path: string | undefined): Buffer | undefined {
  if (path === undefined) return undefined;
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? '';
    throw new HopsafeError('ERR_CONFIG', `--${flag} ${path}: ${REASONS[code] ?? (code || 'cannot read')}`);
  }
  if (!bytes.toString('latin1').includes('-----BEGIN ')) throw new HopsafeError('ERR_CONFIG', `--${flag} ${path}: not a PEM file`);
  return bytes;
}
