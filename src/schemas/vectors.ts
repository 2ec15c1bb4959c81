/**
 * zod schema of a hopsafe test-vector file (test/vectors/*.json). [SPEC 11] Inputs: everything outside `expected`
 * plus, under it, `records[].direction/payload`, `keyUpdate.direction`, `keyUpdate.ephemeralPrivateKey` and
 * `keyUpdate.record.payload`; the rest of `expected` is output. The descriptions end up in
 * schemas/test-vector.schema.json.
 */
import { z } from 'zod';

const hex = z.string().regex(/^([0-9a-f]{2})*$/, 'lower-case hex');
const keys = z.object({ cs: hex, ik: hex, ek: hex.optional(), iv: hex.optional() });
const party = z.object({
  id: z.string(),
  certificate: z.string().min(1),
  privateKey: z.string().min(1),
  /** Seed of the deterministic random stream (SPEC 11.1) this side draws session id, random and ephemeral keys from. */
  rngSeed: hex.describe("input: seed of this side's deterministic random stream (SPEC 11.1)"),
});

export const vectorFileSchema = z.object({
  version: z.literal(1),
  description: z.string(),
  suite: z.string(),
  protection: z.enum(['integrity', 'confidentiality']),
  /** Clock of both sides, ms since the Unix epoch. */
  time: z.number().int().nonnegative().describe("input: both sides' clock and both ClearToken1 timestamps, ms since the Unix epoch"),
  roots: z.array(z.string()).min(1),
  initiator: party,
  responder: party,
  earlyData: hex.describe("input: the initiator's early data (integrity mode)").optional(),
  expected: z.object({
    hsInit: hex,
    hsResp: hex,
    hA: hex,
    hB: hex,
    dhs: hex,
    a2b: keys,
    b2a: keys,
    records: z
      .array(z.object({ direction: z.enum(['a2b', 'b2a']).describe('input'), payload: hex.describe('input'), frame: hex }))
      .min(1)
      .describe('DATA records of epoch 0, in order; each sender numbers its own from 0 (SPEC 11 step 4)'),
    keyUpdate: z.object({
      direction: z.enum(['a2b', 'b2a']).describe('input: the direction whose sender updates (SPEC 11 step 5)'),
      ephemeralPrivateKey: hex.describe(
        'input, not drawn from either random stream: the raw ephemeral private key of the key update (SPEC 4.4)',
      ),
      frame: hex,
      next: keys,
      record: z.object({ payload: hex.describe('input'), frame: hex }),
    }),
    /** [SPEC 7.6] The ACK the update's receiver sends after the post-update record (previous and new epoch). */
    ack: z.object({ direction: z.enum(['a2b', 'b2a']), frame: hex }),
    /** [SPEC 3.7] The a2b records above, in order, as one BATCH frame (present when there are two or more). */
    batch: z.object({ direction: z.literal('a2b'), frame: hex }).optional(),
  }),
});

export type VectorFile = z.infer<typeof vectorFileSchema>;
