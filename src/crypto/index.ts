export type * from './provider.js';
export { createNodeProvider } from './node.js';
export { createNobleProvider } from './noble.js';
export { SUITES, DEFAULT_SUITES, suiteByName, suiteById, type Suite } from './suites.js';
