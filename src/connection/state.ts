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
 * - `broken`: not connected (see `lastError`): waiting to retry within a run
 *   of attempts, resting after a failed run before a fresh one starts by
 *   itself, or given up (`reconnect: false`) until `connect()`/`tryReconnect()`.
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

/**
 * What a connection is doing, as {@link describeConnectionState} reads it.
 * All of it comes from the connection's lifecycle machine, except
 * `retryIn`, which the connection derives from the wait drawn on entering
 * `broken.waiting` or `broken.resting` and the time since.
 */
export interface ConnectionStateFacts {
  /** The connection's id. */
  readonly id: string;
  /** Its lifecycle state. */
  readonly state: ConnectionState;
  /** The sub-state of `broken` (`undefined` in the other states). */
  readonly phase: 'waiting' | 'resting' | 'failed' | undefined;
  /** `close()` was called and the connection is finishing its requests. */
  readonly closing: boolean;
  /** Attempts made in the current run (the machine's `attempt`). */
  readonly attempt: number;
  /** Attempts per run. */
  readonly connectionAttempts: number;
  /** Whether it reconnects by itself. */
  readonly reconnect: boolean;
  /** ms until the next connect attempt starts (`broken.waiting` and `broken.resting`). */
  readonly retryIn: number | undefined;
  /** The latest failure, if any. */
  readonly lastError: Error | undefined;
}

/**
 * One sentence on what a connection is doing and will do next, for error
 * messages, e.g. `connection 127.0.0.1:7556#3 is resting after 3 failed
 * attempts (last error: connect ECONNREFUSED 127.0.0.1:7556) and retries in
 * ~8421 ms`.
 */
export function describeConnectionState(facts: ConnectionStateFacts): string {
  const { id, attempt, connectionAttempts } = facts;
  const last = facts.lastError === undefined ? '' : ` (last error: ${facts.lastError.message})`;
  const retryIn = `~${Math.max(0, Math.round(facts.retryIn ?? 0))} ms`;
  const attempts = `${attempt} failed attempt${attempt === 1 ? '' : 's'}`;
  if (facts.state === 'closed') return `connection ${id} is closed`;
  if (facts.closing) return `connection ${id} is closing`;
  switch (facts.state) {
    case 'idle':
      return `connection ${id} was never asked to connect (connect() was not called)`;
    case 'connecting':
      return `connection ${id} is connecting (attempt ${attempt} of ${connectionAttempts})`;
    case 'connected':
      return `connection ${id} is connected`;
    case 'broken':
      break;
  }
  switch (facts.phase) {
    case 'waiting':
      return `connection ${id} is waiting to retry${last}: attempt ${Math.min(attempt + 1, connectionAttempts)} of ${connectionAttempts} starts in ${retryIn}`;
    case 'resting':
      return `connection ${id} is resting after ${attempts}${last} and retries in ${retryIn}`;
    default:
      return attempt >= connectionAttempts
        ? `connection ${id} gave up after ${attempts}${last} and does not reconnect by itself (reconnect: false); call connect() or tryReconnect()`
        : `connection ${id} broke${last} and does not reconnect by itself (reconnect: false); call connect() or tryReconnect()`;
  }
}
