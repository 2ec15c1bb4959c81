// Regenerates schemas/*.schema.json from the zod schemas (run: node --import tsx scripts/gen-json-schemas.ts).
import { writeFileSync } from 'node:fs';
import { JSON_SCHEMAS, renderJsonSchema } from '../src/schemas/json-schema.js';

for (const name of Object.keys(JSON_SCHEMAS)) {
  writeFileSync(new URL(`../schemas/${name}`, import.meta.url), renderJsonSchema(name));
  console.log(`wrote schemas/${name}`);
}
