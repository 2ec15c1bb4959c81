import { HopsafeError } from '../errors/index.js';

/** Validates an integer transport option (ERR_CONFIG naming the option); shared by every binding. */
export function intOption(value: number, label: string, min = 1): number {
  if (!Number.isSafeInteger(value) || value < min) throw new HopsafeError('ERR_CONFIG', `${label} must be an integer >= ${min}`);
  return value;
}
