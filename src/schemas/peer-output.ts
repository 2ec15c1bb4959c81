/**
 * The JSON lines `hopsafe peer` writes on stdout, one object per event (issue 16): the contract a CI script parses.
 * schemas/peer-output.schema.json is generated from this (scripts/gen-json-schemas.ts).
 */
import { z } from 'zod';

const code = z.string().regex(/^ERR_[A-Z_]+$/);
const id = z.string().min(1).max(64);
const base64 = z.string();

export const peerOutputSchema = z.discriminatedUnion('event', [
  z.strictObject({ event: z.literal('metrics'), url: z.string() }),
  z.strictObject({ event: z.literal('ready'), id }),
  z.strictObject({ event: z.literal('transport'), status: z.enum(['connected', 'disconnected', 'reconnecting', 'closed']) }),
  z.strictObject({ event: z.literal('handshake'), peer: id }),
  z.strictObject({
    event: z.literal('session'),
    peer: id,
    suite: z.string(),
    protection: z.enum(['integrity', 'confidentiality']),
    role: z.enum(['initiator', 'responder']),
  }),
  z.strictObject({ event: z.literal('message'), from: id, data: base64, roles: z.array(z.string()) }),
  z.strictObject({ event: z.literal('sent'), to: id, line: z.number().int().positive() }),
  z.strictObject({ event: z.literal('confirmed'), to: id, line: z.number().int().positive() }),
  z.strictObject({ event: z.literal('rekeyed'), peer: id, line: z.number().int().positive() }),
  z.strictObject({ event: z.literal('unconfirmed'), peer: id, code, data: z.array(base64) }),
  z.strictObject({ event: z.literal('reject'), code, from: id.optional() }),
  z.strictObject({
    event: z.literal('error'),
    code,
    line: z.number().int().positive().optional(),
    path: z.string().optional(),
    message: z.string().optional(),
    peer: id.optional(),
  }),
  z.strictObject({
    event: z.literal('key-update'),
    peer: id,
    direction: z.enum(['send', 'receive']),
    epoch: z.number().int().nonnegative(),
  }),
  z.strictObject({ event: z.literal('session-closed'), peer: id, reason: code }),
  z.object({ event: z.literal('stats') }).catchall(z.unknown()),
  z.strictObject({ event: z.literal('closed'), errors: z.number().int().nonnegative().optional() }),
]);
export type PeerOutputEvent = z.infer<typeof peerOutputSchema>;
