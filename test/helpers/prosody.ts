/** The Prosody harness lives in src/testing (shared with the benchmarks); tests import it from here. */
export * from '../../src/testing/prosody.js';
