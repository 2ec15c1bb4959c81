import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { JSON_SCHEMAS, renderJsonSchema } from '../../src/schemas/json-schema.js';

for (const name of Object.keys(JSON_SCHEMAS)) {
  test(`schemas/${name} is up to date with its zod source (regenerate: node --import tsx scripts/gen-json-schemas.ts)`, () => {
    assert.equal(readFileSync(new URL(`../../schemas/${name}`, import.meta.url), 'utf8'), renderJsonSchema(name));
  });
}
