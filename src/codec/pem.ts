/**
 * PEM (RFC 7468) decoding and encoding. Strict on structure, lenient on line length and
 * whitespace, capped in size. Anything else is ERR_MALFORMED. [SPEC 10.1]
 */
import { HopsafeError } from '../errors/index.js';
import { fromBase64, toBase64 } from '../bytes/index.js';

export interface PemBlock {
  readonly label: string;
  readonly der: Uint8Array;
}

/** Largest PEM text or DER object accepted (1 MiB): a chain or a CRL is far below that. */
export const PEM_MAX_LENGTH = 1 << 20;

const BLOCK = /-----BEGIN ([A-Z0-9 ]{1,64})-----([\s\S]*?)-----END ([A-Z0-9 ]{1,64})-----/g;

/** Decodes every PEM block in `text`, in order. Text between blocks is ignored (RFC 7468 §2). */
export function decodePem(text: string): PemBlock[] {
  if (typeof text !== 'string') throw new HopsafeError('ERR_MALFORMED', 'PEM input must be a string');
  if (text.length > PEM_MAX_LENGTH) throw new HopsafeError('ERR_MALFORMED', `PEM input longer than ${PEM_MAX_LENGTH} characters`);
  const out: PemBlock[] = [];
  for (const m of text.matchAll(BLOCK)) {
    const [, begin, body = '', end] = m;
    if (begin !== end) throw new HopsafeError('ERR_MALFORMED', `PEM block BEGIN ${begin} closed by END ${end}`);
    if (/^\s*[A-Za-z-]+:/m.test(body))
      throw new HopsafeError('ERR_MALFORMED', `PEM block ${begin} has headers (encrypted keys are not supported)`);
    const b64 = body.replace(/\s+/g, '');
    if (b64.length === 0) throw new HopsafeError('ERR_MALFORMED', `PEM block ${begin} is empty`);
    out.push({ label: begin ?? '', der: fromBase64(b64) });
  }
  if (out.length === 0) throw new HopsafeError('ERR_MALFORMED', 'no PEM block found');
  return out;
}

/** Encodes one block with 64-character lines and a trailing newline. */
export function encodePem(label: string, der: Uint8Array): string {
  if (!/^[A-Z0-9 ]{1,64}$/.test(label)) throw new HopsafeError('ERR_INPUT', `invalid PEM label ${JSON.stringify(label)}`);
  const b64 = toBase64(der);
  const lines: string[] = [];
  for (let i = 0; i < b64.length; i += 64) lines.push(b64.slice(i, i + 64));
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

/**
 * PEM text or DER bytes → list of DER objects with the expected label(s). DER input is one object.
 * `labels` lists the accepted PEM labels (e.g. ['CERTIFICATE']); blocks with other labels are an error.
 */
export function derObjects(input: string | Uint8Array, labels: readonly string[], what = 'input'): Uint8Array[] {
  if (input instanceof Uint8Array) {
    if (input.length === 0) throw new HopsafeError('ERR_MALFORMED', `${what}: empty DER`);
    if (input.length > PEM_MAX_LENGTH) throw new HopsafeError('ERR_MALFORMED', `${what}: DER larger than ${PEM_MAX_LENGTH} bytes`);
    return [input];
  }
  if (typeof input !== 'string') throw new HopsafeError('ERR_MALFORMED', `${what} must be PEM text or DER bytes`);
  const blocks = decodePem(input);
  for (const b of blocks)
    if (!labels.includes(b.label))
      throw new HopsafeError('ERR_MALFORMED', `${what}: unexpected PEM label ${b.label} (expected ${labels.join(' or ')})`);
  return blocks.map((b) => b.der);
}
