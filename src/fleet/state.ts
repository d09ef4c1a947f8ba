/**
 * The fleet as plain, immutable data: its servers (membership, weights,
 * health), the actions that change it, the effects a change asks the shell
 * to perform, and the events it reports.
 *
 * {@link fleetReducer} turns `(state, action)` into `[state, effects]`;
 * `ZCachedFleet` keeps one `ConnectionPool` per server, performs the effects
 * (open and close pools, arm and cancel retry timers, probe a server, tell
 * listeners) and feeds what happens back in as actions.
 *
 * @module
 */

/**
 * A server's health, as the ejection policy sees it:
 * - `up`: in the placement; requests go to it.
 * - `ejected`: taken out after `failureLimit` consecutive failures; a retry
 *   timer of `retryTimeout` ms is armed.
 * - `probing`: still ejected; the retry timer fired and the shell is checking
 *   the server (reconnect, `PING`) before it returns.
 */
export type ServerHealth = 'up' | 'ejected' | 'probing';

/** One server as the fleet state sees it. */
export interface FleetServerState {
  /** Its identity (default `host:port`): what placement hashes. Unique in the fleet. */
  readonly id: string;
  /** Its placement weight: a finite number > 0. */
  readonly weight: number;
  /** See {@link ServerHealth}. */
  readonly health: ServerHealth;
  /** Failures since the last success (a reply or a connect), while `up`; the count that ejected it, while ejected. */
  readonly failures: number;
  /** When it was ejected, in ms on the fleet's clock; `undefined` while `up`. */
  readonly ejectedAt: number | undefined;
  /** When its next probe starts, in ms on the fleet's clock (`ejected` only). */
  readonly retryAt: number | undefined;
}

/** The ejection policy's two numbers. */
export interface EjectionConfig {
  /**
   * Consecutive failures that eject a server: a positive integer, or
   * `Infinity` to never eject. twemproxy's `server_failure_limit` (default 2
   * there); here default 3.
   */
  readonly failureLimit: number;
  /** How long an ejected server stays out before it is probed, in ms. twemproxy's `server_retry_timeout`; default 30 000. */
  readonly retryTimeout: number;
}

/** The whole fleet, as data. */
export interface FleetState {
  /** The ejection policy. */
  readonly config: EjectionConfig;
  /** The servers, in the order they joined; ids are unique. */
  readonly servers: readonly FleetServerState[];
  /** `close` was dispatched: the state accepts nothing more. */
  readonly closed: boolean;
}

/**
 * Something the fleet reacts to.
 *
 * - `addServer`: a server joins (ignored when its id is taken or the fleet is closed).
 * - `removeServer`: a server leaves, whatever its health.
 * - `setWeight`: a server's weight changes (finite, > 0; checked by the shell).
 * - `failed`: a failure of the server was seen at `at` (a connection broke
 *   or failed to connect, a request timed out or found no connection).
 *   Counted while `up`; ignored while ejected.
 * - `succeeded`: the server answered or a connection to it connected; the
 *   failure count starts again from 0.
 * - `retryDue`: its retry timer fired at `at`: time to probe it.
 * - `probeSucceeded` / `probeFailed`: how the probe went.
 * - `close`: every server leaves; the state accepts nothing more.
 *
 * Actions naming an unknown id are ignored (the server left meanwhile).
 */
export type FleetAction =
  | { readonly type: 'addServer'; readonly id: string; readonly weight: number }
  | { readonly type: 'removeServer'; readonly id: string }
  | { readonly type: 'setWeight'; readonly id: string; readonly weight: number }
  | { readonly type: 'failed'; readonly id: string; readonly at: number; readonly error?: Error | undefined }
  | { readonly type: 'succeeded'; readonly id: string }
  | { readonly type: 'retryDue'; readonly id: string; readonly at: number }
  | { readonly type: 'probeSucceeded'; readonly id: string; readonly at: number }
  | { readonly type: 'probeFailed'; readonly id: string; readonly at: number; readonly error?: Error | undefined }
  | { readonly type: 'close' };

/**
 * A change worth telling users about (listeners of `ZCachedFleet.subscribe`
 * and the `zcached:fleet` diagnostics channel get these). Times are in ms on
 * the fleet's clock.
 */
export type FleetEvent =
  | { readonly type: 'serverAdded'; readonly server: string; readonly weight: number }
  | { readonly type: 'serverRemoved'; readonly server: string }
  | { readonly type: 'weightChanged'; readonly server: string; readonly from: number; readonly to: number }
  | {
      readonly type: 'serverEjected';
      readonly server: string;
      readonly at: number;
      readonly failures: number;
      /** When it will be probed. */
      readonly retryAt: number;
      /** The failure that reached the limit. */
      readonly error?: Error | undefined;
    }
  | { readonly type: 'serverReturned'; readonly server: string; readonly at: number; readonly ejectedFor: number }
  | { readonly type: 'probeFailed'; readonly server: string; readonly at: number; readonly retryAt: number; readonly error?: Error | undefined };

/**
 * Work the reducer asks the shell to do.
 *
 * - `openPool`: create the server's `ConnectionPool` (and connect it when the fleet runs).
 * - `closePool`: close it; the server has already left the state.
 * - `armRetry`: start a timer of `delay` ms that dispatches `retryDue`.
 * - `cancelRetry`: stop that timer (the server left while ejected).
 * - `probe`: check the server (reconnect its pool, `PING`, and `FLUSH` with
 *   `flushOnReturn`), then dispatch `probeSucceeded` or `probeFailed`.
 * - `notify`: emit the event.
 */
export type FleetEffect =
  | { readonly type: 'openPool'; readonly id: string }
  | { readonly type: 'closePool'; readonly id: string }
  | { readonly type: 'armRetry'; readonly id: string; readonly delay: number }
  | { readonly type: 'cancelRetry'; readonly id: string }
  | { readonly type: 'probe'; readonly id: string }
  | { readonly type: 'notify'; readonly event: FleetEvent };

/** What one reducer step returns: the next state and the effects to perform, in order. */
export type FleetTransition = readonly [state: FleetState, effects: readonly FleetEffect[]];

/** Defaults of the ejection policy: 3 consecutive failures, 30 s out. */
export const DEFAULT_EJECTION: EjectionConfig = Object.freeze({ failureLimit: 3, retryTimeout: 30_000 });

/** A fleet with no server yet. */
export function initialFleetState(config: EjectionConfig = DEFAULT_EJECTION): FleetState {
  return { config, servers: [], closed: false };
}

/** True when the server takes requests (its health is `up`). */
export function isUp(server: FleetServerState): boolean {
  return server.health === 'up';
}
