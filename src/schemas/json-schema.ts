/**
 * JSON Schemas generated from the zod schemas used at the edges, committed under schemas/ for
 * non-TypeScript tooling (policy files, vector files, `hopsafe peer` input). A test keeps them in sync.
 */
import { z } from 'zod';
import { PolicySchema } from './policy.js';
import { vectorFileSchema } from './vectors.js';
import { peerInputSchema } from './peer-input.js';
import { endpointConfigSchema } from './endpoint-options.js';
import { peerOutputSchema } from './peer-output.js';

const bytesAsPem = z.string().describe('PEM text (DER bytes are accepted by the API, not in JSON)');

export const JSON_SCHEMAS: Record<string, () => unknown> = {
  'policy.schema.json': () => z.toJSONSchema(PolicySchema, { io: 'input' }),
  'test-vector.schema.json': () => z.toJSONSchema(vectorFileSchema),
  'peer-input.schema.json': () => z.toJSONSchema(peerInputSchema),
  'peer-output.schema.json': () => z.toJSONSchema(peerOutputSchema),
  'endpoint-config.schema.json': () =>
    z.toJSONSchema(
      endpointConfigSchema.extend({
        identity: z.object({
          certificate: bytesAsPem,
          privateKey: bytesAsPem,
          attributeCertificates: z.array(bytesAsPem).max(8).optional(),
        }),
        trust: z.object({
          roots: z.array(bytesAsPem).min(1),
          intermediates: z.array(bytesAsPem).optional(),
          crls: z.array(bytesAsPem).optional(),
        }),
      }),
      { io: 'input' },
    ),
};

export function renderJsonSchema(name: string): string {
  const make = JSON_SCHEMAS[name];
  if (!make) throw new Error(`unknown schema ${name}`);
  return `${JSON.stringify({ $id: `https://hopsafe.invalid/schemas/${name}`, ...(make() as object) }, null, 2)}\n`;
}
