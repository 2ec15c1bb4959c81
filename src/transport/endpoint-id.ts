import { HopsafeError } from '../errors/index.js';
import { ENDPOINT_ID_PATTERN } from './transport.js';

/** [SPEC 8.1] Throws ERR_INVALID_ID for ids that are not safe on every transport. */
export function assertEndpointId(id: unknown, label = 'endpoint id'): string {
  if (typeof id !== 'string' || !ENDPOINT_ID_PATTERN.test(id))
    throw new HopsafeError('ERR_INVALID_ID', `${label} must match ${ENDPOINT_ID_PATTERN} (got ${JSON.stringify(id)})`);
  return id;
}
