/** [SPEC 8.10, 13.9] The group-address guards every binding's publishGroup / subscribeGroup applies, in order. */
import assert from 'node:assert/strict';
import { HopsafeError } from '../../src/errors/index.js';
import type { Transport } from '../../src/transport/transport.js';

const G = '0123456789abcdef0123456789abcdef';
const code = (c: string) => (e: unknown) => e instanceof HopsafeError && e.code === c;

/**
 * `tr` (not opened yet, `maxFrameSize` 1000, opened here as `der`): not opened ERR_STATE, a bad address ERR_INPUT,
 * oversize ERR_PAYLOAD_TOO_LARGE (1000 bytes go), closed ERR_CLOSED. Closes `tr`.
 */
export async function checkGroupGuards(tr: Transport): Promise<void> {
  await assert.rejects(tr.publishGroup!(`der/${G}`, new Uint8Array(1)), code('ERR_STATE'));
  await assert.rejects(
    tr.subscribeGroup!(`der/${G}`, () => undefined),
    code('ERR_STATE'),
  );
  await tr.open('der', () => undefined);
  await assert.rejects(tr.publishGroup!('der/nothex', new Uint8Array(1)), code('ERR_INPUT'));
  await assert.rejects(
    tr.subscribeGroup!(`der/${G.toUpperCase()}`, () => undefined),
    code('ERR_INPUT'),
  );
  await assert.rejects(tr.publishGroup!(`der/${G}`, new Uint8Array(1001)), code('ERR_PAYLOAD_TOO_LARGE'));
  await tr.publishGroup!(`der/${G}`, new Uint8Array(1000));
  await tr.close();
  await assert.rejects(tr.publishGroup!(`der/${G}`, new Uint8Array(1)), code('ERR_CLOSED'));
  await assert.rejects(
    tr.subscribeGroup!(`der/${G}`, () => undefined),
    code('ERR_CLOSED'),
  );
}
