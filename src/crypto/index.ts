/**
 * `hopsafe/crypto`: the {@link CryptoProvider} interface the protocol runs on, the two providers that ship (node:crypto
 * and pure-JS noble), and the cipher-suite registry. [SPEC 4]
 *
 * @module hopsafe/crypto
 */
export type * from './provider.js';
export { createNodeProvider, type NodeProviderOptions } from './node.js';
export { nativeAeadStatus, type NativeAeadStatus } from './native-aead.js';
export { createNobleProvider } from './noble.js';
export { SUITES, DEFAULT_SUITES, suiteByName, suiteById, type Suite } from './suites.js';
