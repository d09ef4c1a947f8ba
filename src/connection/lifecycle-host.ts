/**
 * What a `ConnectionLifecycle` (connection-lifecycle.ts) is given: the
 * {@link LifecycleHost}, its view of the connection it runs, and the
 * {@link LifecycleSettings}, the resolved options it uses.
 *
 * @module
 */

import type { ServerGeneration, Dialect } from '../protocol/dialect.js';
import type { ObservedConnection } from './diagnostics.js';
import type { ConnectionMachineInput } from './machine.js';
import type { ConnectionOptions, resolveConnectionOptions } from './options.js';
import type { RequestQueue } from './requests.js';
import type { ConnectionState } from './state.js';
import { openTransport, type OpenTransport, type TlsSetting, type Transport } from './transport.js';

/** What the lifecycle may see and do of its connection (built once, in the connection's constructor). */
export interface LifecycleHost {
  /** The connection, for messages, events and the diagnostics channel. */
  readonly connection: ObservedConnection;
  /** The connection's request queue. */
  readonly requests: RequestQueue;
  /** The lifecycle state the connection's hot path reads. */
  state(): ConnectionState;
  /** Commits a new lifecycle state. */
  setState(state: ConnectionState): void;
  /** The close under way (set once by {@link ConnectionLifecycle.close}), which the hot path reads. */
  closing(): Promise<void> | undefined;
  /** Records the close under way. */
  setClosing(closing: Promise<void>): void;
  /** The transport in use; `undefined` between sockets. */
  transport(): Transport | undefined;
  /**
   * Makes a newly opened transport the one in use, with a fresh decoder,
   * framed for `generation` (what its handshake found; `undefined`: none was made).
   */
  attach(transport: Transport, generation: ServerGeneration | undefined): void;
  /** The machine's `closeSocket`: destroys the transport in use (if any) and resets the decoder. */
  detach(): void;
  /** Records what a handshake found when the socket is not used (a dialect mismatch). */
  noteGeneration(generation: ServerGeneration): void;
  /** Bytes read from `transport`; ignored unless it is the one in use. */
  readonly data: (transport: Transport, chunk: Buffer) => void;
  /** The reply stream can no longer be trusted: break the connection (or, while closing, finish the close). */
  break(error: Error): void;
  /** Schedules a flush of the queued requests, unless one is scheduled. */
  flushSoon(): void;
  /** The connection closed: cancels a scheduled flush. */
  cancelFlush(): void;
  /** When the socket was last active (`performance.now()` time). */
  lastActivity(): number;
  /** Sets the last activity to now. */
  touch(): void;
}

/** The resolved options the lifecycle uses. */
export interface LifecycleSettings {
  readonly tls: TlsSetting | undefined;
  readonly openTransport: OpenTransport;
  /** TCP keep-alive delay, ms. */
  readonly keepAliveDelay: number;
  /** Keep-alive `PING` interval, ms; 0: none. */
  readonly pingInterval: number;
  /** The default request time limit, ms (caps the `PING`'s). */
  readonly timeoutLimit: number;
  /** The dialect given: `'auto'` finds the generation at each connect, a generation's is checked, a custom one is not. */
  readonly dialect: Dialect;
  /** How long a graceful close waits for pending requests, ms. */
  readonly closeTimeout: number;
  readonly machine: ConnectionMachineInput;
}

/** The lifecycle's part of a connection's options: `resolved` is what `resolveConnectionOptions(options)` gave. */
export function lifecycleSettings(options: ConnectionOptions, resolved: ReturnType<typeof resolveConnectionOptions>): LifecycleSettings {
  return {
    tls: options.tls,
    openTransport: options.openTransport ?? openTransport,
    keepAliveDelay: resolved.keepAliveDelay,
    pingInterval: resolved.pingInterval,
    timeoutLimit: resolved.timeoutLimit,
    dialect: resolved.dialect,
    closeTimeout: resolved.closeTimeout,
    machine: resolved.machine,
  };
}
