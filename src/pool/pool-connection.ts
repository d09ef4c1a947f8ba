/**
 * What the pool needs of a connection. `Connection` implements it; tests and
 * users can give the pool anything else that does (a fake, a wrapper).
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
}
