/** Reading the files CLI options name: errors say which option and why (`--crl nope.pem: no such file`). */
import { readFileSync } from 'node:fs';
import { HopsafeError, isHopsafeError } from '../errors/index.js';
import { derObjects } from '../codec/pem.js';

const REASONS: Record<string, string> = {
  ENOENT: 'no such file',
  EACCES: 'permission denied',
  EISDIR: 'is a directory',
  ENOTDIR: 'no such file',
};

/** Why a file cannot be read, in words (`no such file`), from a node:fs error. */
export function readFailure(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code ?? '';
  return REASONS[code] ?? (code || 'cannot read');
}

/** A file named by a CLI option; ERR_CONFIG naming the option and the reason (`--x f: no such file`), never a stack. */
export function readOptionFile(flag: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new HopsafeError('ERR_CONFIG', `--${flag} ${path}: ${readFailure(e)}`);
  }
}

/** A PEM file named by a CLI option; ERR_CONFIG naming the option and the reason, never a stack. */
export function readOptionPem(flag: string, path: string | undefined): Buffer | undefined {
  if (path === undefined) return undefined;
  const bytes = readOptionFile(flag, path);
  if (!bytes.toString('latin1').includes('-----BEGIN ')) throw new HopsafeError('ERR_CONFIG', `--${flag} ${path}: not a PEM file`);
  return bytes;
}

/**
 * A PEM file of certificates or CRLs named by a CLI option, checked here so that its errors name the option
 * (`--crl ca.pem: unexpected PEM label CERTIFICATE (expected X509 CRL)`), not the library's own wording for it.
 * `check` parses one object (throwing on a bad one). Returns the file's text.
 */
export function readOptionObjects(flag: string, path: string, labels: readonly string[], check: (der: Uint8Array) => unknown): string {
  const text = (readOptionPem(flag, path) as Buffer).toString('utf8');
  try {
    for (const der of derObjects(text, labels, `--${flag} ${path}`)) check(der);
  } catch (e) {
    if (!isHopsafeError(e)) throw e;
    throw e.message.startsWith(`--${flag} `) ? e : new HopsafeError(e.code, `--${flag} ${path}: ${e.message}`, { cause: e });
  }
  return text;
}
