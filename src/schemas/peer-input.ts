/** zod schema of one `hopsafe peer` input line. */
import { z } from 'zod';
import { ENDPOINT_ID_PATTERN } from '../bindings/transport.js';

const id = z.string().regex(ENDPOINT_ID_PATTERN, 'invalid endpoint id');

export const peerInputSchema = z.union([
  z.object({ to: id, data: z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/, 'data must be base64'), confirm: z.boolean().optional() }).strict(),
  z.object({ rekey: id }).strict(),
  z.object({ stats: z.literal(true) }).strict(),
]);

export type PeerInput = z.infer<typeof peerInputSchema>;
