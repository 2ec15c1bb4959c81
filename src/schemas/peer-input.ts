/** zod schema of one `hopsafe peer` input line, and the parser that turns its failures into ERR_INPUT with a path. */
import { z } from 'zod';
import { ENDPOINT_ID_PATTERN } from '../transport/transport.js';
import { HopsafeError } from '../errors/index.js';

const id = z.string().regex(ENDPOINT_ID_PATTERN, 'invalid endpoint id');

const sendLine = z
  .object({ to: id, data: z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/, 'data must be base64'), confirm: z.boolean().optional() })
  .strict();
const rekeyLine = z.object({ rekey: id }).strict();
const statsLine = z.object({ stats: z.literal(true) }).strict();

export const peerInputSchema = z.union([sendLine, rekeyLine, statsLine]);

export type PeerInput = z.infer<typeof peerInputSchema>;

/** A refused input line: ERR_INPUT, the JSON path of the offending value ('' = the line itself) and what is wrong. */
export interface PeerInputRefusal {
  readonly error: HopsafeError;
  readonly path: string;
}

const LINES = '{"to":ID,"data":BASE64[,"confirm":BOOL]}, {"rekey":ID} or {"stats":true}';

const KINDS = [
  { schema: sendLine, keys: ['to', 'data', 'confirm'], what: 'a send line takes to, data and confirm' },
  { schema: rekeyLine, keys: ['rekey'], what: 'a rekey line takes rekey only' },
  { schema: statsLine, keys: ['stats'], what: 'a stats line takes stats only' },
] as const;

/**
 * Parses one decoded JSON line. The kind of line is chosen by its keys (to/data/confirm, rekey, stats), so the
 * refusal names the real problem — an unknown key, a missing or invalid field — with its path, instead of the
 * union's "Invalid input".
 */
export function parsePeerInput(value: unknown): { ok: true; input: PeerInput } | ({ ok: false } & PeerInputRefusal) {
  const refuse = (path: string, message: string): { ok: false } & PeerInputRefusal => ({
    ok: false,
    path,
    error: new HopsafeError('ERR_INPUT', path === '' ? message : `${path}: ${message}`),
  });
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return refuse('', `expected a JSON object: ${LINES}`);
  const keys = Object.keys(value);
  const kind = KINDS.find((k) => k.keys.some((key) => keys.includes(key)));
  if (kind === undefined) {
    const first = keys[0];
    return first === undefined ? refuse('', `empty object: expected ${LINES}`) : refuse(first, `unknown key: expected ${LINES}`);
  }
  const r = kind.schema.safeParse(value);
  if (r.success) return { ok: true, input: r.data };
  const issue = r.error.issues[0];
  if (issue === undefined) return refuse('', `invalid line: expected ${LINES}`);
  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0] ?? '';
    return refuse([...issue.path.map(String), key].join('.'), `unknown key (${kind.what})`);
  }
  const path = issue.path.map(String).join('.');
  const head = issue.path[0];
  const present = typeof head === 'string' && Object.hasOwn(value, head);
  // A missing field is named with what asked for it: `"to" requires "data"` (the line's kind comes from its keys).
  const given = kind.keys.find((k) => keys.includes(k));
  const missing =
    given !== undefined && given !== head ? `required: ${JSON.stringify(given)} requires ${JSON.stringify(head)}` : 'required';
  const message = issue.code === 'invalid_type' ? (present ? `expected ${issue.expected}` : missing) : issue.message;
  return refuse(path, message);
}
