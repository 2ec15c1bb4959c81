export type * from './provider.js';
export { createNodeProvider } from './node.js';
export { createNobleProvider } from './noble.js';
export * from './suites.js';
