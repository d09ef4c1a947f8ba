/**
 * zcached — a TypeScript client for the zcached in-memory cache server,
 * built around a connection pool you can trust in production.
 *
 * - {@link ZCached}: the client, with every server command.
 * - {@link ConnectionPool}: the pool (a pure reducer under a thin shell).
 * - {@link Connection}: one pipelined socket with an XState lifecycle.
 * - {@link ZCachedFleet}: one client over many servers (rendezvous hashing, ejection, fan-out); see docs/fleet.md.
 * - The wire protocol codec, and every error class.
 *
 * The embedded test server and fakes live in `zcached/testing`.
 *
 * @module zcached
 */
export * from './errors.js';
export * from './protocol/index.js';
export * from './connection/index.js';
export * from './pool/index.js';
export * from './client/index.js';
export * from './fleet/index.js';
export { Listeners, type Unsubscribe } from './events.js';
