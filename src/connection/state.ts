/**
 * The lifecycle states a connection goes through, and the event emitted when
 * it moves between them.
 *
 * @module
 */

/**
 * - `idle`: created, never asked to connect.
 * - `connecting`: a connect attempt is running.
 * - `connected`: the socket is up; requests flow.
 * - `broken`: not connected: waiting to retry, or out of attempts (see `lastError`).
 * - `closed`: final; never reconnects, no timers left.
 */
export type ConnectionState = 'idle' | 'connecting' | 'connected' | 'broken' | 'closed';

/** Emitted on every lifecycle state change of a connection. */
export interface ConnectionStateChange {
  /** The connection's id. */
  readonly id: string;
  /** The state before the change. */
  readonly from: ConnectionState;
  /** The state after the change. */
  readonly to: ConnectionState;
  /** Why it broke or failed to connect, when `to` is `broken`. */
  readonly error?: Error;
}

/** Options of `close()`. */
export interface CloseOptions {
  /**
   * Close at once: requests still pending are rejected with a
   * `ConnectionClosedError`. Without it, in-flight requests may finish until
   * `timeout` has passed.
   */
  readonly force?: boolean;
  /** How long a graceful close waits for in-flight requests, in ms. */
  readonly timeout?: number;
}
