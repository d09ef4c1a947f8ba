/**
 * The pool reducer's no-op steps and reduce's edge: an action that changes
 * nothing returns the very state (and entries) it was given, so the shell
 * can tell "nothing changed" by identity; and a reduce whose target is above
 * the connections there are removes none of them.
 */
import { describe, expect, it } from 'vitest';
import type { ConnectionState } from '../../src/connection/state.js';
import { poolReducer } from '../../src/pool/reducer.js';
import type { PoolEntry, PoolState } from '../../src/pool/state.js';

const entry = (id: string, state: ConnectionState = 'connected', pendingRequests = 0): PoolEntry => ({ id, state, pendingRequests });
const poolOf = (poolSize: number, connections: PoolEntry[]): PoolState => ({ poolSize, connections, rotation: 0 });

describe('actions that change nothing return the same state', () => {
  it('added with no connection, or only ones already in the pool', () => {
    const state = poolOf(2, [entry('a'), entry('b')]);
    for (const connections of [[], [entry('a')], [entry('b', 'idle'), entry('a')]]) {
      const [next, effects] = poolReducer(state, { type: 'added', connections });
      expect(next).toBe(state);
      expect(effects).toEqual([]);
    }
  });

  it('cleanup with no broken connection', () => {
    const state = poolOf(2, [entry('a'), entry('b')]);
    const [next, effects] = poolReducer(state, { type: 'cleanup' });
    expect(next).toBe(state);
    expect(effects).toEqual([]);
  });

  it('close of an empty pool', () => {
    const state = poolOf(3, []);
    const [next, effects] = poolReducer(state, { type: 'close' });
    expect(next).toBe(state);
    expect(effects).toEqual([]);
  });

  it('a pending snapshot keeps the entries whose counts did not change (or are not given)', () => {
    const a = entry('a', 'connected', 2);
    const b = entry('b', 'connected', 0);
    const c = entry('c', 'connected', 5);
    const state = poolOf(3, [a, b, c]);
    const [next] = poolReducer(state, { type: 'pendingSnapshot', pendingRequests: new Map([['a', 2], ['b', 1]]) });
    expect(next.connections[0]).toBe(a);
    expect(next.connections[1]).toEqual({ ...b, pendingRequests: 1 });
    expect(next.connections[2]).toBe(c);
  });

  it('reduce when the connections are already within the new size keeps the same list', () => {
    const state = poolOf(6, [entry('a'), entry('b'), entry('c'), entry('d')]);
    for (const amount of [1, 2]) {
      const [next, effects] = poolReducer(state, { type: 'reduce', amount, deletePendingConnections: true });
      expect(next.connections).toBe(state.connections);
      expect(next.poolSize).toBe(6 - amount);
      expect(effects).toEqual([]);
    }
  });
});

describe('reduce', () => {
  it('removes nothing while the target stays above the number of connections', () => {
    // poolSize 6 with 4 connections, reduced by 1: the target (5) is above 4, nothing goes.
    const state = poolOf(6, [entry('a', 'broken'), entry('b'), entry('c', 'idle'), entry('d')]);
    const [next, effects] = poolReducer(state, { type: 'reduce', amount: 1, deletePendingConnections: false });
    expect(next.connections.map((e) => e.id)).toEqual(['a', 'b', 'c', 'd']);
    expect(next.poolSize).toBe(5);
    expect(effects).toEqual([]);
  });

  it('removes exactly the excess once the target is below the number of connections', () => {
    const state = poolOf(4, [entry('a'), entry('b', 'broken'), entry('c'), entry('d', 'idle')]);
    const [next, effects] = poolReducer(state, { type: 'reduce', amount: 2, deletePendingConnections: false });
    expect(next.connections.map((e) => e.id)).toEqual(['a', 'c']);
    expect(next.poolSize).toBe(2);
    expect(effects).toEqual([{ type: 'close', ids: ['b', 'd'], force: false }]);
  });
});
