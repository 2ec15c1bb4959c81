/** Every conformance case, in report order. [SPEC Annex C.3] */
import type { ConformanceCase } from '../case.js';
import { handshakeCases } from './handshake.js';
import { freshnessCases, negotiationCases } from './negotiation.js';
import { certificateCases } from './certificates.js';
import { recordCases } from './records.js';
import { ackCases, keyUpdateCases } from './key-update.js';
import { batchCases } from './batch.js';
import { earlyDataCases } from './early-data.js';
import { hsAlertCases } from './hs-alert.js';
import { limitCases } from './limits.js';
import { fuzzCases } from './fuzz.js';
import { groupCases } from './groups.js';

export const ALL_CASES: readonly ConformanceCase[] = [
  ...handshakeCases,
  ...negotiationCases,
  ...freshnessCases,
  ...certificateCases,
  ...recordCases,
  ...keyUpdateCases,
  ...ackCases,
  ...batchCases,
  ...earlyDataCases,
  ...hsAlertCases,
  ...limitCases,
  ...fuzzCases,
  ...groupCases,
];
