/**
 * The connection lifecycle as a pure XState v5 state machine.
 *
 * The machine knows nothing about sockets, clocks or randomness: opening
 * the socket is the `openSocket` actor and closing it the `closeSocket`
 * action, both supplied by the caller through
 * {@link connectionMachine | connectionMachine.provide}; timers go through
 * the actor's clock; random numbers come from `input.random`. That keeps it
 * deterministic under a simulated clock and lets users inspect or visualise
 * it. See `docs/connection-lifecycle.md` for a diagram.
 *
 * @example
 * ```ts
 * const machine = connectionMachine.provide({
 *   actors: { openSocket: fromPromise(async ({ input, signal }) => { ... }) },
 *   actions: { closeSocket: () => socket?.destroy() },
 * });
 * const actor = createActor(machine, { input: { connectionAttempts: 3, reconnect: true,
 *   connectTimeout: 5_000, backoff: new ExponentialBackoff(), random: Math.random } });
 * actor.subscribe((snapshot) => console.log(lifecycleState(snapshot)));
 * actor.start();
 * actor.send({ type: 'CONNECT' });
 * ```
 *
 * @module
 */

import { assign, fromPromise, setup, type SnapshotFrom } from 'xstate';
import { TimeoutError } from '../errors.js';
import type { ExponentialBackoff } from './backoff.js';
import type { ConnectionState } from './state.js';

/** What the machine is started with (`createActor(machine, { input })`). */
export interface ConnectionMachineInput {
  /** Connect attempts per run before the run gives up (`broken.resting` or `broken.failed`). An integer of at least 1. */
  readonly connectionAttempts: number;
  /**
   * Reconnect on its own (`true`): after a `DROP`, and after a run that ran
   * out of attempts (following a rest in `broken.resting`). With `false` the
   * machine stays in `broken.failed` until `CONNECT`/`RECONNECT`.
   */
  readonly reconnect: boolean;
  /** Time limit of one connect attempt, in ms. Positive; values above {@link MAX_TIMER_DELAY} are clamped to it. */
  readonly connectTimeout: number;
  /** Computes the wait before each retry. */
  readonly backoff: ExponentialBackoff;
  /** Source of random numbers in `[0, 1)` for back-off jitter, typically `Math.random`. */
  readonly random: () => number;
  /**
   * How long a connection must stay connected before it counts as stable, in
   * ms (default {@link DEFAULT_STABLE_AFTER}). Only a stable connection's
   * `DROP` starts a fresh run of attempts; a drop before that counts as a
   * failed attempt of the current run, so a server that accepts and drops
   * every connection meets a growing back-off, not a reconnect storm.
   */
  readonly stableAfter?: number | undefined;
  /**
   * What a connect attempt was doing when it timed out (e.g. a handshake
   * that got no answer), given as the `cause` of the timeout's error.
   * Called only on a timeout; `undefined` from it: no cause.
   */
  readonly timeoutCause?: (() => Error | undefined) | undefined;
}

/** Default of {@link ConnectionMachineInput.stableAfter}: one second. */
export const DEFAULT_STABLE_AFTER = 1_000;

/** The machine's context: its input plus the state of the current run. */
export interface ConnectionMachineContext extends ConnectionMachineInput {
  /**
   * Connect attempts made in the current run. A run starts at 0 (on
   * `CONNECT`, `RECONNECT`, at the end of a rest, or once a connection has
   * stayed up for `stableAfter`), and every entry
   * into `connecting` adds one. Never more than `connectionAttempts`.
   */
  readonly attempt: number;
  /**
   * The latest failure: a rejected `openSocket`, a {@link TimeoutError} for a
   * connect timeout, or the error of a `DROP`. Kept across runs and while
   * connected; `undefined` until the first failure.
   */
  readonly lastError: Error | undefined;
  /**
   * The wait drawn on entering `broken.waiting` (the back-off) or
   * `broken.resting` (the rest), in ms, after clamping to
   * {@link MAX_TIMER_DELAY}: the next connect attempt starts this long after
   * that entry. The machine reads no clock, so whoever needs the time left
   * notes when the state was entered. `undefined` until the first such wait;
   * kept (stale) in the other states.
   */
  readonly retryDelay: number | undefined;
}

/** Events the machine accepts from the outside. */
export type ConnectionMachineEvent =
  /** Start a fresh run, from `idle` or `broken` (skips a pending back-off wait). Ignored elsewhere. */
  | { readonly type: 'CONNECT' }
  /** Like `CONNECT`, and also from `connected` (which closes the socket first). */
  | { readonly type: 'RECONNECT' }
  /** The connected socket broke. Ignored unless `connected`. */
  | { readonly type: 'DROP'; readonly error: Error }
  /** Close for good, from any state: cancels the running attempt and every timer. */
  | { readonly type: 'CLOSE' };

/** Input of the `openSocket` actor. */
export interface OpenSocketInput {
  /** 1-based number of this attempt within the current run. */
  readonly attempt: number;
}

/**
 * The largest delay a Node.js timer supports (2^31 - 1 ms, about 24.8 days).
 * Longer delays, including `Infinity`, would otherwise fire after 1 ms, so the
 * machine clamps its delays to this value.
 */
export const MAX_TIMER_DELAY = 2_147_483_647;

/** Clamps a delay into `[0, MAX_TIMER_DELAY]`. */
function timerDelay(ms: number): number {
  // NaN would make Node fire after 1 ms: treat it as the longest wait, never as none.
  return Number.isNaN(ms) ? MAX_TIMER_DELAY : Math.min(MAX_TIMER_DELAY, Math.max(0, ms));
}

/** Turns whatever an actor rejected with into an `Error`. */
function toError(value: unknown): Error {
  return value instanceof Error ? value : new Error(String(value), { cause: value });
}

/**
 * Checks a {@link ConnectionMachineInput}. The machine calls it when it
 * creates its context, where a failure turns the actor into an error
 * snapshot; call it yourself first to get the error synchronously.
 *
 * @throws TypeError when a field has the wrong type.
 * @throws RangeError when `stableAfter` is negative, or `connectionAttempts` is not an integer of at least 1
 *   or `connectTimeout` is not a positive number.
 */
export function validateConnectionMachineInput(input: ConnectionMachineInput): void {
  const { connectionAttempts, reconnect, connectTimeout, backoff, random } = input;
  if (typeof connectionAttempts !== 'number') {
    throw new TypeError('connection machine: "connectionAttempts" must be a number');
  }
  if (!Number.isInteger(connectionAttempts) || connectionAttempts < 1) {
    throw new RangeError(`connection machine: "connectionAttempts" must be an integer of at least 1, got ${connectionAttempts}`);
  }
  if (typeof reconnect !== 'boolean') {
    throw new TypeError('connection machine: "reconnect" must be a boolean');
  }
  if (typeof connectTimeout !== 'number') {
    throw new TypeError('connection machine: "connectTimeout" must be a number');
  }
  if (!(connectTimeout > 0)) {
    throw new RangeError(`connection machine: "connectTimeout" must be positive, got ${connectTimeout}`);
  }
  if (
    typeof backoff !== 'object' ||
    backoff === null ||
    typeof backoff.delay !== 'function' ||
    typeof backoff.max !== 'number' ||
    typeof backoff.jitter !== 'number'
  ) {
    throw new TypeError('connection machine: "backoff" must be an ExponentialBackoff');
  }
  if (typeof random !== 'function') {
    throw new TypeError('connection machine: "random" must be a function');
  }
  const { stableAfter } = input;
  if (stableAfter !== undefined && typeof stableAfter !== 'number') {
    throw new TypeError('connection machine: "stableAfter" must be a number');
  }
  if (stableAfter !== undefined && !(stableAfter >= 0)) {
    throw new RangeError(`connection machine: "stableAfter" must be a number >= 0, got ${stableAfter}`);
  }
}

/**
 * The connection lifecycle machine. States: `idle`, `connecting`,
 * `connected`, `broken` (`waiting` for a retry; `resting` after a run ran
 * out of attempts, before a fresh run; `failed`: out of attempts and not
 * reconnecting on its own), and the final `closed`.
 *
 * Implementations to provide:
 * - actor `openSocket` (`fromPromise<void, OpenSocketInput>`): open the
 *   socket, resolve once connected, reject on failure. It is stopped (its
 *   `signal` aborts) when the attempt times out or on `CLOSE`.
 * - action `closeSocket`: runs every time `connected` is left (`DROP`,
 *   `RECONNECT`, `CLOSE`); must be idempotent.
 */
export const connectionMachine = setup({
  types: {
    input: {} as ConnectionMachineInput,
    context: {} as ConnectionMachineContext,
    events: {} as ConnectionMachineEvent,
  },
  actors: {
    /** Placeholder: opens the socket. Must be provided by the user of the machine. */
    openSocket: fromPromise<void, OpenSocketInput>(() =>
      Promise.reject(
        new Error('connectionMachine: the "openSocket" actor must be provided with connectionMachine.provide()'),
      ),
    ),
  },
  actions: {
    /** Placeholder: closes the socket. Provide the real one with `connectionMachine.provide()`. */
    closeSocket: () => {},
    /** Starts a fresh run of connect attempts. */
    startRun: assign({ attempt: 0 }),
    /** Counts the attempt that is starting. */
    countAttempt: assign({ attempt: ({ context }) => context.attempt + 1 }),
    /** Records a failure as `lastError`. */
    recordError: assign({ lastError: (_, params: { readonly error: unknown }) => toError(params.error) }),
    /** Draws the back-off wait of `broken.waiting`: `backoff.delay(max(1, attempt), random())`. */
    drawBackoff: assign({
      retryDelay: ({ context }) => timerDelay(context.backoff.delay(Math.max(1, context.attempt), context.random())),
    }),
    /** Draws the rest of `broken.resting`: the back-off maximum, with jitter. */
    drawRest: assign({
      retryDelay: ({ context }) => timerDelay(context.backoff.max * (1 - context.backoff.jitter * context.random())),
    }),
    /** Records a connect timeout as `lastError`. */
    recordTimeout: assign({
      lastError: ({ context }) => {
        const cause = context.timeoutCause?.();
        return new TimeoutError(`connect timed out after ${context.connectTimeout} ms`, cause === undefined ? undefined : { cause });
      },
    }),
  },
  guards: {
    /** The current run may make another attempt. */
    hasAttemptsLeft: ({ context }) => context.attempt < context.connectionAttempts,
    /** A connection that broke or ran out of attempts tries again on its own. */
    shouldReconnect: ({ context }) => context.reconnect,
  },
  delays: {
    /** Time limit of one connect attempt. */
    connectTimeout: ({ context }) => timerDelay(context.connectTimeout),
    /** Wait before the next attempt: the `retryDelay` drawn on entry (`backoff.delay(max(1, attempt), random())`). */
    backoff: ({ context }) => context.retryDelay ?? 0,
    /** Rest after a run ran out of attempts, before a new run: the `retryDelay` drawn on entry (the back-off maximum, with jitter). */
    rest: ({ context }) => context.retryDelay ?? 0,
    /** Time connected after which a drop starts a fresh run. */
    stableAfter: ({ context }) => timerDelay(context.stableAfter ?? DEFAULT_STABLE_AFTER),
  },
}).createMachine({
  id: 'connection',
  initial: 'idle',
  context: ({ input }) => {
    validateConnectionMachineInput(input);
    return { ...input, attempt: 0, lastError: undefined, retryDelay: undefined };
  },
  on: {
    CLOSE: { target: '.closed' },
  },
  states: {
    idle: {
      on: {
        CONNECT: { target: 'connecting', actions: 'startRun' },
        RECONNECT: { target: 'connecting', actions: 'startRun' },
      },
    },
    connecting: {
      entry: 'countAttempt',
      invoke: {
        id: 'openSocket',
        src: 'openSocket',
        input: ({ context }) => ({ attempt: context.attempt }),
        onDone: { target: 'connected' },
        onError: {
          target: '#connection.broken.deciding',
          actions: { type: 'recordError', params: ({ event }) => ({ error: event.error }) },
        },
      },
      after: {
        connectTimeout: { target: '#connection.broken.deciding', actions: 'recordTimeout' },
      },
    },
    connected: {
      exit: 'closeSocket',
      // Once stable, the run that connected is over: a later drop starts a fresh one.
      after: { stableAfter: { actions: 'startRun' } },
      on: {
        RECONNECT: { target: 'connecting', actions: 'startRun' },
        DROP: [
          {
            guard: 'shouldReconnect',
            target: '#connection.broken.deciding',
            actions: { type: 'recordError', params: ({ event }) => ({ error: event.error }) },
          },
          {
            target: '#connection.broken.failed',
            actions: { type: 'recordError', params: ({ event }) => ({ error: event.error }) },
          },
        ],
      },
    },
    broken: {
      initial: 'failed',
      on: {
        CONNECT: { target: 'connecting', actions: 'startRun' },
        RECONNECT: { target: 'connecting', actions: 'startRun' },
      },
      states: {
        /** Transient: where a failed attempt or a drop leads. Never observed in a snapshot. */
        deciding: {
          always: [
            { guard: 'hasAttemptsLeft', target: 'waiting' },
            { guard: 'shouldReconnect', target: 'resting' },
            { target: 'failed' },
          ],
        },
        waiting: {
          // The entry action draws the wait before the delayed transition reads it.
          entry: 'drawBackoff',
          after: { backoff: { target: '#connection.connecting' } },
        },
        /** Out of attempts, reconnecting on its own: a fresh run after a rest. */
        resting: {
          entry: 'drawRest',
          after: { rest: { target: '#connection.connecting', actions: 'startRun' } },
        },
        failed: {},
      },
    },
    closed: {
      type: 'final',
    },
  },
});

/** A snapshot of {@link connectionMachine} (or of a machine made from it with `provide`). */
export type ConnectionMachineSnapshot = SnapshotFrom<typeof connectionMachine>;

/** The state value of {@link connectionMachine}, e.g. `'connected'` or `{ broken: 'waiting' }`. */
export type ConnectionMachineStateValue = ConnectionMachineSnapshot['value'];

/** The public lifecycle state (the top-level state name) of a machine snapshot. */
export function lifecycleState(snapshot: Pick<ConnectionMachineSnapshot, 'value'>): ConnectionState {
  const { value } = snapshot;
  return typeof value === 'string' ? value : 'broken';
}

/**
 * The sub-state of `broken`: `'waiting'` (a retry of the current run is
 * scheduled), `'resting'` (the run is out of attempts; a fresh run starts by
 * itself after the rest) or `'failed'` (out of attempts, or a drop, with
 * `reconnect: false`: nothing starts until `CONNECT` or `RECONNECT`);
 * `undefined` outside `broken`.
 */
export function brokenPhase(snapshot: Pick<ConnectionMachineSnapshot, 'value'>): 'waiting' | 'resting' | 'failed' | undefined {
  const { value } = snapshot;
  if (typeof value !== 'object') return undefined;
  const phase = value.broken;
  return phase === 'waiting' || phase === 'resting' || phase === 'failed' ? phase : undefined;
}

/**
 * True when the snapshot is in `broken.failed` or `broken.resting`: the run
 * is over without a connection (or a drop did not reconnect). A `connect()`
 * waiting for this run should fail now. Requests need not: in `resting` a
 * fresh run starts by itself after the rest, so only `broken.failed`
 * ({@link hasGivenUp}) means the connection will not come back on its own.
 */
export function isOutOfAttempts(snapshot: Pick<ConnectionMachineSnapshot, 'value'>): boolean {
  const phase = brokenPhase(snapshot);
  return phase === 'failed' || phase === 'resting';
}

/**
 * True in `broken.failed`: the connection will not connect again by itself
 * (`reconnect: false`), so requests waiting for it should fail now.
 */
export function hasGivenUp(snapshot: Pick<ConnectionMachineSnapshot, 'value'>): boolean {
  return brokenPhase(snapshot) === 'failed';
}
