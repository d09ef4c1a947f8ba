/**
 * The shell of the pure fleet reducer, played with sets and maps, for the
 * model-based tests of `fleetReducer` (`reducer.property.test.ts`,
 * `reducer-replicas.property.test.ts`).
 *
 * {@link ShellHarness} dispatches an action, deep-freezes the state it gets
 * back (a reducer that modified its input would throw on the next step) and
 * performs the effects as `FleetShell` would, keeping what the shell keeps:
 * the open pools, the armed retry timers, the probes in flight, and the
 * sweeps and warm-ups in flight. It refuses (the test fails) an effect that
 * the shell could not perform sensibly: a pool opened twice or closed when
 * not open, a second timer, a cancel of no timer, a second probe, sweep or
 * warm-up for a server that has one running, an armed delay other than the
 * retry timeout (or 0, for a server that joins). What the effects should be
 * is for the tests to check; this only bookkeeps.
 */
import { expect } from 'vitest';
import { fleetReducer } from '../../src/fleet/reducer.js';
import {
  initialFleetState,
  type EjectionConfig,
  type FleetAction,
  type FleetEffect,
  type FleetEvent,
  type FleetState,
  type PlacementView,
} from '../../src/fleet/state.js';

/** A sweep or a warm-up that the shell runs: its server, its number, the views sent (sweeps), the step that started it. */
export interface InFlight {
  readonly id: string;
  readonly number: number;
  readonly views: readonly PlacementView[];
  readonly step: number;
}

/** The reducer with a shell around it made of sets and maps. */
export class ShellHarness {
  state: FleetState;
  readonly pools = new Set<string>();
  readonly timers = new Set<string>();
  readonly probes = new Set<string>();
  /** The sweep the reducer waits for, by server. */
  readonly sweeps = new Map<string, InFlight>();
  /** The warm-up the reducer waits for, by server. */
  readonly warmUps = new Map<string, InFlight>();
  /**
   * Sweeps and warm-ups that still run in the shell although the reducer
   * forgot them (their server was ejected): they will report a number the
   * reducer no longer expects. Dropped when their server leaves (the shell
   * ignores the results of a server that left).
   */
  staleSweeps: InFlight[] = [];
  staleWarmUps: InFlight[] = [];
  /** The effects and the events of the last step. */
  effects: readonly FleetEffect[] = [];
  events: FleetEvent[] = [];
  /** Steps dispatched so far (the number of the last one). */
  steps = 0;

  /** @param seen - counts every event type seen (to check that a generator reaches them all). */
  constructor(
    config: EjectionConfig,
    replicas = 1,
    private readonly seen?: Map<string, number>,
  ) {
    this.state = deepFreeze(initialFleetState(config, replicas));
  }

  dispatch(action: FleetAction): void {
    const before = this.state;
    const [after, effects] = fleetReducer(before, action);
    if (effects.length === 0 && after !== before) expect(after.servers).not.toBe(before.servers); // a real change
    this.state = deepFreeze(after);
    this.effects = effects;
    this.events = [];
    const step = ++this.steps;
    // A result the shell reports is no longer running, whether the reducer expected it or not.
    if (action.type === 'sweepDone' || action.type === 'sweepFailed') this.staleSweeps = settle(this.sweeps, this.staleSweeps, action.id, action.sweep);
    if (action.type === 'warmedUp') this.staleWarmUps = settle(this.warmUps, this.staleWarmUps, action.id, action.warm);
    for (const effect of effects) {
      switch (effect.type) {
        case 'openPool':
          expect(this.pools.has(effect.id)).toBe(false);
          this.pools.add(effect.id);
          break;
        case 'closePool':
          expect(this.pools.delete(effect.id)).toBe(true);
          // The shell ignores the results of the probe, sweep and warm-up of a server that left.
          this.probes.delete(effect.id);
          this.sweeps.delete(effect.id);
          this.warmUps.delete(effect.id);
          this.staleSweeps = this.staleSweeps.filter((flight) => flight.id !== effect.id);
          this.staleWarmUps = this.staleWarmUps.filter((flight) => flight.id !== effect.id);
          break;
        case 'armRetry':
          expect(this.timers.has(effect.id)).toBe(false);
          // The retry timeout; 0 only for a server that joins (a rejoin is probed at once).
          if (effect.delay !== after.config.retryTimeout) expect([action.type, effect.delay]).toEqual(['addServer', 0]);
          this.timers.add(effect.id);
          break;
        case 'cancelRetry':
          expect(this.timers.delete(effect.id)).toBe(true);
          break;
        case 'probe':
          expect(this.probes.has(effect.id)).toBe(false);
          this.probes.add(effect.id);
          break;
        case 'sweep':
          if (this.sweeps.has(effect.id)) expect.fail(`a second sweep (${effect.sweep}) for ${effect.id}, which has sweep ${this.sweeps.get(effect.id)!.number} running`);
          this.sweeps.set(effect.id, { id: effect.id, number: effect.sweep, views: effect.views, step });
          break;
        case 'warmUp':
          // A later change may start another warm-up: it replaces the one running (whose result no longer counts).
          if (this.warmUps.has(effect.id) && effect.warm <= this.warmUps.get(effect.id)!.number) expect.fail(`warm-up ${effect.warm} for ${effect.id} does not replace warm-up ${this.warmUps.get(effect.id)!.number}`);
          if (this.warmUps.has(effect.id)) this.staleWarmUps.push(this.warmUps.get(effect.id)!);
          this.warmUps.set(effect.id, { id: effect.id, number: effect.warm, views: [], step });
          break;
        case 'notify':
          this.events.push(effect.event);
          this.seen?.set(effect.event.type, (this.seen.get(effect.event.type) ?? 0) + 1);
          break;
      }
    }
    // The reducer gives up a sweep or warm-up only by taking its server out; the shell's keeps running.
    this.staleSweeps.push(...forgotten(this.sweeps, after, 'sweep'));
    this.staleWarmUps.push(...forgotten(this.warmUps, after, 'warming'));
  }
}

/** Removes the flight `(id, number)` from `current` or `stale`; returns the stale ones left. */
function settle(current: Map<string, InFlight>, stale: InFlight[], id: string, number: number): InFlight[] {
  if (current.get(id)?.number === number) current.delete(id);
  return stale.filter((flight) => flight.id !== id || flight.number !== number);
}

/** The flights of `current` that the state no longer expects, removed from it; the test fails when their server is still up. */
function forgotten(current: Map<string, InFlight>, state: FleetState, field: 'sweep' | 'warming'): InFlight[] {
  const gone: InFlight[] = [];
  for (const [id, flight] of current) {
    const server = state.servers.find((entry) => entry.id === id);
    if (server?.[field] === flight.number) continue;
    if (server?.health === 'up') expect.fail(`${id} is up and its ${field} ${flight.number} was dropped (now ${server[field]}) before it reported`);
    current.delete(id);
    gone.push(flight);
  }
  return gone;
}

/** Freezes `value` and everything it holds. */
export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value)) deepFreeze(inner);
  }
  return value;
}
