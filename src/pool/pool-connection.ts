/**
 * What the pool needs of a connection. `Connection` implements it; tests and
 * users can give the pool anything else that does (a fake, a wrapper).
 * `Connection` satisfies it structurally, without importing it (a lower
 * layer never imports an upper one); `ConnectionPool<Connection>` in the
 * client is where the compiler checks the fit.
 *
 * @module
 */

import type { CloseOptions, ConnectionState, ConnectionStateChange } from '../connection/state.js';
import type { Unsubscribe } from '../events.js';

/** The part of a connection the pool uses. */
export interface PoolConnection {
  /** Unique, readable id. */
  readonly id: string;
  /** Current lifecycle state. */
  readonly state: ConnectionState;
  /** Requests handed to the connection and not settled yet (queued or on the wire). */
  readonly pendingRequests: number;
  /** True when `state` is `connected`. */
  isConnected(): boolean;
  /** Connects; resolves once connected, rejects with a `ConnectError` after the last attempt. */
  connect(): Promise<void>;
  /** Reconnects (from any state but `closed`); resolves with whether it is connected afterwards. Never rejects. */
  tryReconnect(): Promise<boolean>;
  /** Closes for good. `force` rejects pending requests at once. Never rejects. */
  close(options?: CloseOptions): Promise<void>;
  /** Listens to lifecycle state changes. */
  subscribe(listener: (change: ConnectionStateChange) => void): Unsubscribe;
  /**
   * Optional. In how many ms the next connect attempt starts by itself: 0
   * while one runs, the time left of a back-off wait or a rest while it
   * reconnects; `undefined` when none will start by itself (idle, connected,
   * given up, closing, closed). {@link ConnectionPool.getConnectionForRequest}
   * hands requests to such a connection when none is connected. Without this
   * member, a connection counts as on its way only in state `connecting`.
   */
  readonly nextAttemptIn?: number | undefined;
  /**
   * Optional. One sentence on what the connection is doing and will do next,
   * used in the pool's error messages (e.g. `connection h:7556#3 is resting
   * after 3 failed attempts and retries in ~8421 ms`). Without it the pool
   * says `connection <id> is <state>`.
   */
  describeState?(): string;
  /**
   * Optional. True while a large request holds the connection (see
   * `Connection.blocked`): small requests go elsewhere while another
   * connection is free. Absent counts as false.
   */
  readonly blocked?: boolean;
  /**
   * Optional. Requests that encode to more bytes than this hold the
   * connection alone for a round trip (`Connection.largeRequestBytes`); the
   * pool gives them at most `largeRequestConnections` connections. Absent
   * or `Infinity`: every request is routed alike (least-loaded).
   */
  readonly largeRequestBytes?: number;
  /** Optional. Why it last failed to connect or broke; the pool's `PoolEmptyError` takes it as `cause`. */
  readonly lastError?: Error | undefined;
}
