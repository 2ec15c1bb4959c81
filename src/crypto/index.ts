export type * from './provider.js';
export { createNodeProvider } from './node.js';
export * from './suites.js';
