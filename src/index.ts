/**
 * zcached — a TypeScript client for the zcached in-memory cache server.
 *
 * @module
 */
export * from './errors.js';
export * from './protocol/index.js';
export { Listeners, type Unsubscribe } from './events.js';
