import assert from 'node:assert/strict';
import { HopsafeError } from '../../src/errors/index.js';

/** Runs `fn`; returns the HopsafeError code it threw, or 'accepted'. Anything else thrown fails the test. */
export function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof HopsafeError, String(e));
    return e.code;
  }
  return 'accepted';
}
