/**
 * Model-based properties of the pure pool reducer: random action sequences,
 * fed back the way the shell feeds them (every `create` effect answered by
 * an `added` action), with the invariants checked after every step.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ConnectionState } from '../../src/connection/state.js';
import { poolReducer } from '../../src/pool/reducer.js';
import {
  broken,
  connected,
  isConnected,
  isEmpty,
  isFull,
  isWorking,
  leastLoaded,
  nextLeastLoaded,
} from '../../src/pool/selectors.js';
import { initialPoolState, type PoolAction, type PoolEffect, type PoolEntry, type PoolState } from '../../src/pool/state.js';

const anyState = fc.constantFrom<ConnectionState>('idle', 'connecting', 'connected', 'broken', 'closed');
const joinState = fc.constantFrom<ConnectionState>('idle', 'connecting', 'connected', 'broken');

/** A step, written without knowing the state; {@link toAction} makes it concrete. */
type Step =
  | { readonly kind: 'setup' }
  | { readonly kind: 'added'; readonly joining: readonly { state: ConnectionState; pending: number }[] }
  | { readonly kind: 'extendBySize'; readonly size: number }
  | { readonly kind: 'reduce'; readonly amount: number; readonly deletePendingConnections: boolean }
  | { readonly kind: 'cleanup' }
  | { readonly kind: 'reconnect'; readonly onlyBrokenConnections: boolean }
  | { readonly kind: 'close' }
  | { readonly kind: 'stateChanged'; readonly pick: number; readonly state: ConnectionState }
  | { readonly kind: 'pendingSnapshot'; readonly counts: readonly number[] }
  | { readonly kind: 'leastLoadedChosen' };

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  fc.constant({ kind: 'setup' } as const),
  fc.record({
    kind: fc.constant('added' as const),
    joining: fc.array(fc.record({ state: joinState, pending: fc.nat(3) }), { maxLength: 4 }),
  }),
  fc.record({ kind: fc.constant('extendBySize' as const), size: fc.nat(4) }),
  fc.record({ kind: fc.constant('reduce' as const), amount: fc.integer({ min: -2, max: 6 }), deletePendingConnections: fc.boolean() }),
  fc.constant({ kind: 'cleanup' } as const),
  fc.record({ kind: fc.constant('reconnect' as const), onlyBrokenConnections: fc.boolean() }),
  fc.constant({ kind: 'close' } as const),
  fc.record({ kind: fc.constant('stateChanged' as const), pick: fc.nat(20), state: anyState }),
  fc.record({ kind: fc.constant('pendingSnapshot' as const), counts: fc.array(fc.nat(4), { maxLength: 10 }) }),
  fc.constant({ kind: 'leastLoadedChosen' } as const),
);

let nextId = 0;
const freshId = (): string => `c${++nextId}`;

function toAction(step: Step, state: PoolState): PoolAction {
  switch (step.kind) {
    case 'added':
      return {
        type: 'added',
        connections: step.joining.map(({ state: connectionState, pending }) => ({
          id: freshId(),
          state: connectionState,
          pendingRequests: pending,
        })),
      };
    case 'stateChanged': {
      // Now and then an id the pool does not know (a connection removed meanwhile).
      const target = state.connections[step.pick % (state.connections.length + 1)];
      return { type: 'stateChanged', id: target?.id ?? 'gone', state: step.state };
    }
    case 'pendingSnapshot':
      return {
        type: 'pendingSnapshot',
        pendingRequests: new Map(state.connections.map((entry, index) => [entry.id, step.counts[index] ?? entry.pendingRequests])),
      };
    case 'setup':
    case 'cleanup':
    case 'close':
    case 'leastLoadedChosen':
      return { type: step.kind };
    case 'extendBySize':
      return { type: 'extendBySize', size: step.size };
    case 'reduce':
      return { type: 'reduce', amount: step.amount, deletePendingConnections: step.deletePendingConnections };
    case 'reconnect':
      return { type: 'reconnect', onlyBrokenConnections: step.onlyBrokenConnections };
  }
}

/** Invariants that hold for every state. */
function checkState(state: PoolState): void {
  expect(Number.isInteger(state.poolSize) && state.poolSize >= 0).toBe(true);
  const ids = state.connections.map((entry) => entry.id);
  expect(new Set(ids).size).toBe(ids.length);

  const up = connected(state.connections);
  const down = broken(state.connections);
  expect(up.length + down.length).toBe(state.connections.length);
  expect(up.every(isConnected)).toBe(true);
  expect(down.some(isConnected)).toBe(false);
  expect(new Set([...up, ...down]).size).toBe(state.connections.length);

  expect(isEmpty(state)).toBe(state.connections.length === 0);
  expect(isFull(state)).toBe(state.connections.length >= state.poolSize);
  expect(isWorking(state)).toBe(up.length > 0);

  const fewest = Math.min(...up.map((entry) => entry.pendingRequests));
  for (let start = 0; start <= state.connections.length; start++) {
    const chosen = leastLoaded(state.connections, start);
    if (up.length === 0) {
      expect(chosen).toBeUndefined();
    } else {
      expect(chosen?.state).toBe('connected');
      expect(chosen?.pendingRequests).toBe(fewest);
    }
  }
}

/** Every connection that left the state is closed exactly once, and nothing else is. */
function checkClosings(before: PoolState, after: PoolState, effects: readonly PoolEffect[]): void {
  const remaining = new Set(after.connections.map((entry) => entry.id));
  const removed = before.connections.filter((entry) => !remaining.has(entry.id)).map((entry) => entry.id);
  const closed = effects.flatMap((effect) => (effect.type === 'close' ? effect.ids : []));
  expect([...closed].sort()).toEqual([...removed].sort());
  for (const effect of effects) if ('ids' in effect) expect(effect.ids.length).toBeGreaterThan(0);
}

function checkReduce(
  before: PoolState,
  after: PoolState,
  effects: readonly PoolEffect[],
  amount: number,
  deletePendingConnections: boolean,
): void {
  if (amount <= 0) {
    expect(after).toBe(before);
    return;
  }
  const target = Math.max(0, before.poolSize - amount);
  const remaining = new Set(after.connections.map((entry) => entry.id));
  const removed = before.connections.filter((entry) => !remaining.has(entry.id));
  const kept = before.connections.filter((entry) => remaining.has(entry.id));
  const eligible = (entry: PoolEntry): boolean => deletePendingConnections || entry.pendingRequests === 0;

  // Order preserved, only removals.
  expect(after.connections).toEqual(kept);
  expect(after.connections.length).toBeLessThanOrEqual(after.poolSize);
  expect(after.poolSize).toBe(Math.max(target, kept.length));
  // Never more removed than needed; when the target is missed, nothing eligible is left.
  expect(removed.length).toBeLessThanOrEqual(Math.max(0, before.connections.length - target));
  if (kept.length > target) expect(kept.some(eligible)).toBe(false);
  // Connections with pending requests only when allowed, and then closed by force.
  expect(removed.every(eligible)).toBe(true);
  for (const effect of effects) {
    if (effect.type !== 'close') continue;
    for (const id of effect.ids) {
      const entry = before.connections.find((candidate) => candidate.id === id);
      expect(effect.force).toBe((entry?.pendingRequests ?? 0) > 0);
    }
  }
  // Non-connected before connected; among connected, least loaded first.
  if (removed.some(isConnected)) {
    expect(kept.some((entry) => !isConnected(entry) && eligible(entry))).toBe(false);
    const heaviestRemoved = Math.max(...removed.filter(isConnected).map((entry) => entry.pendingRequests));
    for (const entry of kept.filter((candidate) => isConnected(candidate) && eligible(candidate))) {
      expect(entry.pendingRequests).toBeGreaterThanOrEqual(heaviestRemoved);
    }
  }
}

function checkStep(before: PoolState, action: PoolAction, after: PoolState, effects: readonly PoolEffect[]): void {
  checkState(after);
  checkClosings(before, after, effects);
  const beforeIds = before.connections.map((entry) => entry.id);
  const afterIds = after.connections.map((entry) => entry.id);
  switch (action.type) {
    case 'reduce':
      checkReduce(before, after, effects, action.amount, action.deletePendingConnections);
      break;
    case 'setup':
      expect(after.connections).toEqual([]);
      expect(effects.filter((effect) => effect.type === 'create')).toEqual(
        before.poolSize > 0 ? [{ type: 'create', count: before.poolSize }] : [],
      );
      break;
    case 'close':
      expect(after.connections).toEqual([]);
      expect(after.poolSize).toBe(before.poolSize);
      break;
    case 'cleanup':
      expect(after.connections).toEqual(connected(before.connections));
      expect(after.poolSize).toBe(before.poolSize);
      break;
    case 'added': {
      const joined = after.connections.slice(before.connections.length);
      expect(afterIds.slice(0, beforeIds.length)).toEqual(beforeIds);
      expect(after.poolSize).toBe(Math.max(before.poolSize, after.connections.length));
      const connects = effects.flatMap((effect) => (effect.type === 'connect' ? effect.ids : []));
      expect(connects).toEqual(joined.filter((entry) => entry.state === 'idle').map((entry) => entry.id));
      break;
    }
    case 'reconnect': {
      expect(after).toBe(before);
      const targets = effects.flatMap((effect) => (effect.type === 'reconnect' ? effect.ids : []));
      const eligible = before.connections.filter(
        (entry) => entry.state !== 'closed' && (!action.onlyBrokenConnections || !isConnected(entry)),
      );
      expect(targets).toEqual(eligible.map((entry) => entry.id));
      break;
    }
    case 'extendBySize':
      expect(after).toBe(before);
      expect(effects).toEqual(action.size > 0 ? [{ type: 'create', count: action.size }] : []);
      break;
    default:
      expect(afterIds).toEqual(beforeIds);
      expect(after.poolSize).toBe(before.poolSize);
      expect(effects).toEqual([]);
  }
}

/** Applies one action, checks it, then answers `create` effects with `added` as the shell would. */
function run(state: PoolState, action: PoolAction): PoolState {
  const [after, effects] = poolReducer(state, action);
  checkStep(state, action, after, effects);
  let current = after;
  for (const effect of effects) {
    if (effect.type !== 'create') continue;
    const added: PoolAction = {
      type: 'added',
      connections: Array.from({ length: effect.count }, () => ({ id: freshId(), state: 'idle' as const, pendingRequests: 0 })),
    };
    current = run(current, added);
  }
  if (action.type === 'setup') expect(current.connections.length).toBe(current.poolSize);
  return current;
}

describe('poolReducer properties', () => {
  it('keeps every invariant over random action sequences', () => {
    fc.assert(
      fc.property(fc.nat(5), fc.array(stepArb, { maxLength: 40 }), (poolSize, steps) => {
        let state = initialPoolState(poolSize);
        checkState(state);
        for (const step of steps) state = run(state, toAction(step, state));
      }),
      { numRuns: 200 },
    );
  });

  it('spreads ties: over n choices every equally least-loaded connection is picked', () => {
    const entries = fc.array(fc.record({ state: anyState, pending: fc.nat(2) }), { minLength: 1, maxLength: 8 });
    fc.assert(
      fc.property(entries, fc.nat(50), (shape, rotation) => {
        const connections = shape.map(({ state, pending }, index) => ({ id: `e${index}`, state, pendingRequests: pending }));
        let state: PoolState = { poolSize: connections.length, connections, rotation };
        const chosen = new Set<string>();
        for (let call = 0; call < connections.length; call++) {
          const entry = nextLeastLoaded(state);
          if (entry !== undefined) chosen.add(entry.id);
          [state] = poolReducer(state, { type: 'leastLoadedChosen' });
        }
        const up = connected(connections);
        const fewest = Math.min(...up.map((entry) => entry.pendingRequests));
        const tied = up.filter((entry) => entry.pendingRequests === fewest).map((entry) => entry.id);
        expect([...chosen].sort()).toEqual(tied.sort());
        if (tied.length > 1) expect(chosen.size).toBeGreaterThan(1);
      }),
      { numRuns: 200 },
    );
  });
});
