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
  /**
   * With `replicas` > 1: the placements (live servers and weights) taken
   * just after a change that may have moved keys *off* this server while it
   * stayed up (another server returned or joined, a weight changed). For a
   * key it does not hold in one of these placements, its copy misses the
   * writes begun after that change: once one began, it is not read from for
   * that key (the shell numbers writes as they begin) until a sweep deleted
   * such copies (a copy of a key it holds again, not written since, is
   * current and stays). Empty with `replicas: 1`, and while not `up`.
   */
  readonly doubts: readonly PlacementView[];
  /** The number of the sweep in flight for this server (see {@link FleetEffect} `sweep`), or `undefined`. */
  readonly sweep: number | undefined;
  /** The number of the warm-up in flight for this server (see {@link FleetEffect} `warmUp`), or `undefined`. */
  readonly warming: number | undefined;
}

/** The live servers of a fleet at one moment, with their weights: enough to place any key as it was placed then. */
export type PlacementView = readonly { readonly id: string; readonly weight: number }[];

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
  /** Copies of each key: 1 (default) or more (see docs/fleet.md, "Replicas"). */
  readonly replicas: number;
  /** Ids of servers that left; one that joins again with `replicas` > 1 is flushed before it serves (it may hold old values). */
  readonly departed: readonly string[];
  /** The number the next sweep gets. */
  readonly nextSweep: number;
}

/**
 * Something the fleet reacts to.
 *
 * - `addServer`: a server joins (ignored when its id is taken or the fleet is closed).
 *   With `replicas` > 1, a server that left this fleet earlier joins
 *   ejected, its retry due at once: it is flushed before it serves.
 *   `initial`: one of the servers the fleet was created with (before it
 *   runs: no doubts, no warm-up).
 * - `removeServer`: a server leaves, whatever its health.
 * - `setWeight`: a server's weight changes (finite, > 0; checked by the shell)
 *   at `at` (with `replicas` > 1 the change may fence a server that has too
 *   many doubts: `at` dates that ejection).
 * - `failed`: a failure of the server was seen at `at` (a connection broke
 *   or failed to connect, a request timed out or found no connection).
 *   Counted while `up`; ignored while ejected.
 * - `succeeded`: the server answered or a connection to it connected; the
 *   failure count starts again from 0.
 * - `retryDue`: its retry timer fired at `at`: time to probe it.
 * - `probeSucceeded` / `probeFailed`: how the probe went.
 * - `fence`: with `replicas` > 1, a write to the server failed in a way that
 *   leaves its copy unknown (no reply in time, connection lost, not sent):
 *   it is ejected at once, whatever its failure count, and flushed before
 *   it returns.
 * - `sweepDone` / `sweepFailed`: how a sweep went (`cleared`: how many of
 *   the server's doubts it covered; `deleted`: copies it deleted). A failed
 *   sweep fences the server.
 * - `warmedUp`: a warm-up ended (`copied`: keys copied to the server).
 * - `close`: every server leaves; the state accepts nothing more.
 *
 * Actions naming an unknown id are ignored (the server left meanwhile).
 */
export type FleetAction =
  | { readonly type: 'addServer'; readonly id: string; readonly weight: number; readonly at?: number | undefined; readonly initial?: boolean | undefined }
  | { readonly type: 'removeServer'; readonly id: string }
  | { readonly type: 'setWeight'; readonly id: string; readonly weight: number; readonly at?: number | undefined }
  | { readonly type: 'failed'; readonly id: string; readonly at: number; readonly error?: Error | undefined }
  | { readonly type: 'succeeded'; readonly id: string }
  | { readonly type: 'retryDue'; readonly id: string; readonly at: number }
  | { readonly type: 'probeSucceeded'; readonly id: string; readonly at: number }
  | { readonly type: 'probeFailed'; readonly id: string; readonly at: number; readonly error?: Error | undefined }
  | { readonly type: 'fence'; readonly id: string; readonly at: number; readonly key?: string | undefined; readonly error?: Error | undefined }
  | { readonly type: 'sweepDone'; readonly id: string; readonly sweep: number; readonly cleared: number; readonly deleted: number }
  | { readonly type: 'sweepFailed'; readonly id: string; readonly sweep: number; readonly at: number; readonly error?: Error | undefined }
  | { readonly type: 'warmedUp'; readonly id: string; readonly warm: number; readonly copied: number }
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
  | { readonly type: 'probeFailed'; readonly server: string; readonly at: number; readonly retryAt: number; readonly error?: Error | undefined }
  | {
      /** With `replicas` > 1: a write could not be confirmed on this server, so it is ejected at once and flushed before it returns. */
      readonly type: 'serverFenced';
      readonly server: string;
      readonly at: number;
      readonly retryAt: number;
      /** The key of the write it could not confirm, when one write did it (not for a failed sweep or too many doubts). */
      readonly key?: string | undefined;
      readonly error?: Error | undefined;
    }
  | {
      /** A server that returned (flushed) or joined got copies of its keys from their other replicas. */
      readonly type: 'serverWarmed';
      readonly server: string;
      /** Keys copied to it. */
      readonly copied: number;
    }
  | {
      /** A sweep deleted the copies this server kept of keys that had moved off it. */
      readonly type: 'serverSwept';
      readonly server: string;
      /** Copies deleted. */
      readonly deleted: number;
    }
  | {
      /** A read went on to the key's next replica (the shell reports these, not the reducer). */
      readonly type: 'failover';
      readonly key: string;
      readonly from: string;
      readonly to: string;
      /** `'miss'`: the replica did not have the key; `'error'`: it failed (the error is given). */
      readonly reason: 'miss' | 'error';
      readonly error?: Error | undefined;
    }
  | {
      /** A read found the key on a later replica and wrote it back to those that missed it (the shell reports these). */
      readonly type: 'readRepaired';
      readonly key: string;
      readonly from: string;
      readonly to: readonly string[];
    };

/**
 * Work the reducer asks the shell to do.
 *
 * - `openPool`: create the server's `ConnectionPool` (and connect it when the fleet runs).
 * - `closePool`: close it; the server has already left the state.
 * - `armRetry`: start a timer of `delay` ms that dispatches `retryDue`.
 * - `cancelRetry`: stop that timer (the server left while ejected).
 * - `probe`: check the server (reconnect its pool, `PING`, and `FLUSH` when
 *   `flush`: with `replicas` > 1, or with `flushOnReturn`), then dispatch
 *   `probeSucceeded` or `probeFailed`.
 * - `sweep`: wait for the writes already sent to the server, read its keys
 *   (`KEYS`) and delete each key that is not among the server's keys in
 *   one of `views` (see {@link FleetServerState.doubts}); then dispatch
 *   `sweepDone` (with `cleared: views.length`) or `sweepFailed`.
 * - `warmUp`: with `replicas` > 1, when a server returned (flushed) or
 *   joined a running fleet: copy to it, from the other replicas, the keys
 *   it is now a replica of; then dispatch `warmedUp`.
 * - `notify`: emit the event.
 */
export type FleetEffect =
  | { readonly type: 'openPool'; readonly id: string }
  | { readonly type: 'closePool'; readonly id: string }
  | { readonly type: 'armRetry'; readonly id: string; readonly delay: number }
  | { readonly type: 'cancelRetry'; readonly id: string }
  | { readonly type: 'probe'; readonly id: string; readonly flush: boolean }
  | { readonly type: 'sweep'; readonly id: string; readonly sweep: number; readonly views: readonly PlacementView[] }
  | { readonly type: 'warmUp'; readonly id: string; readonly warm: number }
  | { readonly type: 'notify'; readonly event: FleetEvent };

/** What one reducer step returns: the next state and the effects to perform, in order. */
export type FleetTransition = readonly [state: FleetState, effects: readonly FleetEffect[]];

/** Defaults of the ejection policy: 3 consecutive failures, 30 s out. */
export const DEFAULT_EJECTION: EjectionConfig = Object.freeze({ failureLimit: 3, retryTimeout: 30_000 });

/** A fleet with no server yet, keeping `replicas` copies of each key (default 1). */
export function initialFleetState(config: EjectionConfig = DEFAULT_EJECTION, replicas = 1): FleetState {
  return { config, servers: [], closed: false, replicas, departed: [], nextSweep: 1 };
}

/** True when the server takes requests (its health is `up`). */
export function isUp(server: FleetServerState): boolean {
  return server.health === 'up';
}
