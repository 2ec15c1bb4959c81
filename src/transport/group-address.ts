/**
 * Group addresses shared by every binding: the id check and `publishGroup`'s guards (those of `send`, SPEC 8.10, with
 * the group address in place of the peer id). [SPEC 13.9]
 */
import { HopsafeError } from '../errors/index.js';
import { assertSendable, type SendGuardState } from './lifecycle.js';
import { GROUP_ADDRESS_PATTERN } from './transport.js';

/** [SPEC 13.9] `{publisherId}/{32 lower-case hex digits}`; else ERR_INPUT. */
export function assertGroupAddress(address: unknown): string {
  if (typeof address !== 'string' || !GROUP_ADDRESS_PATTERN.test(address))
    throw new HopsafeError('ERR_INPUT', 'group address must be {publisherId}/{32 lower-case hex digits}');
  return address;
}

/** [SPEC 13.9] The publisher id and the group id (hex) of a valid group address. */
export function splitGroupAddress(address: string): { publisher: string; groupId: string } {
  const i = assertGroupAddress(address).lastIndexOf('/');
  return { publisher: address.slice(0, i), groupId: address.slice(i + 1) };
}

/** [SPEC 8.10, 13.9] `publishGroup`'s guards, in `send`'s order. Returns the local id. */
export function assertGroupSendable(s: SendGuardState, address: string, bytes: Uint8Array): string {
  return assertSendable(s, address, bytes, (a) => assertGroupAddress(a));
}
