/**
 * `zcached/testing`: run without a real server.
 *
 * - {@link startServer}: an in-process zcached-compatible server over real
 *   TCP (or TLS), in any dialect, with fault hooks; by default it reproduces
 *   the real generation's parser and faults (the current one crashes on a
 *   split request), `faithful: false` makes it binary-safe and crash-free.
 * - {@link startProxy}: a fault-injection TCP proxy (latency, bandwidth,
 *   cuts, half-open, refusals, corrupt or truncated replies).
 * - {@link FakeConnection}: a connection whose every outcome a test controls,
 *   for model-based tests of code built on the pool.
 *
 * @module zcached/testing
 */
export {
  startServer,
  ZCachedStore,
  SERVER_ERRORS,
  LEGACY_MAX_REQUEST_BYTES,
  MAX_REQUEST_BYTES,
  type CrashReason,
  type CrashRecord,
  type StartServerOptions,
  type ServerStats,
  type WaitForConnectionsOptions,
  type ZCachedServer,
} from './server.js';
export { FakeConnection, type ConnectOutcome, type FakeConnectionOptions } from './fake-connection.js';
export {
  startProxy,
  type FaultProxy,
  type StartProxyOptions,
  type ProxyStats,
  type ProxyDirection,
  type ProxyDirections,
  type CutMode,
  type CutOptions,
  type HalfOpenOptions,
  type RefuseOptions,
  type TruncateOptions,
  type TruncateThen,
} from './proxy.js';
