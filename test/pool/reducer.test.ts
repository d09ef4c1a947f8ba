import { describe, expect, it } from 'vitest';
import type { ConnectionState } from '../../src/connection/state.js';
import { poolReducer } from '../../src/pool/reducer.js';
import { initialPoolState, type PoolEntry, type PoolState } from '../../src/pool/state.js';

function entry(id: string, state: ConnectionState = 'connected', pendingRequests = 0): PoolEntry {
  return { id, state, pendingRequests };
}

function poolOf(poolSize: number, connections: PoolEntry[]): PoolState {
  return { poolSize, connections, rotation: 0 };
}

function ids(state: PoolState): string[] {
  return state.connections.map((connection) => connection.id);
}

describe('poolReducer', () => {
  it('setup closes the connections there are and creates poolSize new ones', () => {
    const [state, effects] = poolReducer(poolOf(3, [entry('a'), entry('b', 'broken')]), { type: 'setup' });
    expect(state.connections).toEqual([]);
    expect(effects).toEqual([
      { type: 'close', ids: ['a', 'b'], force: false },
      { type: 'create', count: 3 },
    ]);
  });

  it('setup on an empty pool of size 0 does nothing', () => {
    expect(poolReducer(initialPoolState(0), { type: 'setup' })[1]).toEqual([]);
  });

  it('added appends, grows the pool size to fit, connects idle ones and reconnects broken ones', () => {
    const [state, effects] = poolReducer(poolOf(2, [entry('a')]), {
      type: 'added',
      connections: [entry('b', 'idle'), entry('c', 'broken'), entry('d', 'connected')],
    });
    expect(ids(state)).toEqual(['a', 'b', 'c', 'd']);
    expect(state.poolSize).toBe(4);
    expect(effects).toEqual([
      { type: 'connect', ids: ['b'] },
      { type: 'reconnect', ids: ['c'] },
    ]);
  });

  it('added ignores ids already in the pool and keeps the pool size when it is large enough', () => {
    const before = poolOf(5, [entry('a')]);
    const [state, effects] = poolReducer(before, { type: 'added', connections: [entry('a', 'idle'), entry('b', 'idle'), entry('b', 'idle')] });
    expect(ids(state)).toEqual(['a', 'b']);
    expect(state.poolSize).toBe(5);
    expect(effects).toEqual([{ type: 'connect', ids: ['b'] }]);
  });

  it('extendBySize asks for connections and changes nothing yet', () => {
    const before = poolOf(1, [entry('a')]);
    expect(poolReducer(before, { type: 'extendBySize', size: 3 })).toEqual([before, [{ type: 'create', count: 3 }]]);
    expect(poolReducer(before, { type: 'extendBySize', size: 0 })).toEqual([before, []]);
  });

  describe('reduce', () => {
    it('does nothing for amount <= 0', () => {
      const before = poolOf(2, [entry('a'), entry('b')]);
      expect(poolReducer(before, { type: 'reduce', amount: 0, deletePendingConnections: true })).toEqual([before, []]);
      expect(poolReducer(before, { type: 'reduce', amount: -3, deletePendingConnections: true })).toEqual([before, []]);
    });

    it('removes non-connected connections first, then idle connected ones', () => {
      const before = poolOf(4, [entry('a'), entry('b', 'broken'), entry('c'), entry('d', 'connecting')]);
      const [state, effects] = poolReducer(before, { type: 'reduce', amount: 3, deletePendingConnections: false });
      expect(ids(state)).toEqual(['c']);
      expect(state.poolSize).toBe(1);
      expect(effects).toEqual([{ type: 'close', ids: ['a', 'b', 'd'], force: false }]);
    });

    it('keeps connections with pending requests and sets the pool size to what is left', () => {
      const before = poolOf(3, [entry('a', 'connected', 2), entry('b'), entry('c', 'broken', 1)]);
      const [state, effects] = poolReducer(before, { type: 'reduce', amount: 3, deletePendingConnections: false });
      expect(ids(state)).toEqual(['a', 'c']);
      expect(state.poolSize).toBe(2);
      expect(effects).toEqual([{ type: 'close', ids: ['b'], force: false }]);
    });

    it('with deletePendingConnections removes the least loaded first and forces their close', () => {
      const before = poolOf(4, [entry('a', 'connected', 5), entry('b', 'connected', 1), entry('c'), entry('d', 'connected', 3)]);
      const [state, effects] = poolReducer(before, { type: 'reduce', amount: 3, deletePendingConnections: true });
      expect(ids(state)).toEqual(['a']);
      expect(state.poolSize).toBe(1);
      expect(effects).toEqual([
        { type: 'close', ids: ['c'], force: false },
        { type: 'close', ids: ['b', 'd'], force: true },
      ]);
    });

    it('only lowers the pool size when there are fewer connections than the target', () => {
      const [state, effects] = poolReducer(poolOf(10, [entry('a')]), { type: 'reduce', amount: 4, deletePendingConnections: false });
      expect(ids(state)).toEqual(['a']);
      expect(state.poolSize).toBe(6);
      expect(effects).toEqual([]);
    });

    it('never goes below zero', () => {
      const [state] = poolReducer(poolOf(2, [entry('a'), entry('b')]), { type: 'reduce', amount: 9, deletePendingConnections: false });
      expect(state.poolSize).toBe(0);
      expect(state.connections).toEqual([]);
    });
  });

  it('cleanup removes every non-connected connection and keeps the pool size', () => {
    const before = poolOf(4, [entry('a'), entry('b', 'broken'), entry('c', 'idle'), entry('d', 'closed')]);
    const [state, effects] = poolReducer(before, { type: 'cleanup' });
    expect(ids(state)).toEqual(['a']);
    expect(state.poolSize).toBe(4);
    expect(effects).toEqual([{ type: 'close', ids: ['b', 'c', 'd'], force: false }]);
    expect(poolReducer(state, { type: 'cleanup' })).toEqual([state, []]);
  });

  it('reconnect targets the broken ones, or all, never closed ones', () => {
    const before = poolOf(3, [entry('a'), entry('b', 'broken'), entry('c', 'closed'), entry('d', 'connecting')]);
    expect(poolReducer(before, { type: 'reconnect', onlyBrokenConnections: true })).toEqual([
      before,
      [{ type: 'reconnect', ids: ['b', 'd'] }],
    ]);
    expect(poolReducer(before, { type: 'reconnect', onlyBrokenConnections: false })[1]).toEqual([
      { type: 'reconnect', ids: ['a', 'b', 'd'] },
    ]);
  });

  it('close removes and closes every connection and keeps the pool size', () => {
    const [state, effects] = poolReducer(poolOf(2, [entry('a'), entry('b', 'connecting')]), { type: 'close' });
    expect(state).toEqual(poolOf(2, []));
    expect(effects).toEqual([{ type: 'close', ids: ['a', 'b'], force: false }]);
  });

  it('stateChanged updates the entry and ignores unknown ids and repeats', () => {
    const before = poolOf(2, [entry('a', 'connecting'), entry('b')]);
    const [state, effects] = poolReducer(before, { type: 'stateChanged', id: 'a', state: 'connected' });
    expect(state.connections[0]).toEqual(entry('a', 'connected'));
    expect(effects).toEqual([]);
    expect(poolReducer(state, { type: 'stateChanged', id: 'zz', state: 'broken' })[0]).toBe(state);
    expect(poolReducer(state, { type: 'stateChanged', id: 'a', state: 'connected' })[0]).toBe(state);
  });

  it('pendingSnapshot sets the counts it knows and keeps the others', () => {
    const before = poolOf(2, [entry('a', 'connected', 1), entry('b', 'connected', 4)]);
    const [state] = poolReducer(before, { type: 'pendingSnapshot', pendingRequests: new Map([['a', 7], ['x', 2]]) });
    expect(state.connections).toEqual([entry('a', 'connected', 7), entry('b', 'connected', 4)]);
  });

  it('leastLoadedChosen moves the rotation on', () => {
    const [state] = poolReducer(initialPoolState(1), { type: 'leastLoadedChosen' });
    expect(state.rotation).toBe(1);
  });

  it('never modifies the state it is given', () => {
    const before = Object.freeze(poolOf(3, [Object.freeze(entry('a', 'connected', 2)), Object.freeze(entry('b', 'broken'))]));
    Object.freeze(before.connections);
    for (const action of [
      { type: 'setup' },
      { type: 'added', connections: [entry('c', 'idle')] },
      { type: 'reduce', amount: 2, deletePendingConnections: true },
      { type: 'cleanup' },
      { type: 'close' },
      { type: 'stateChanged', id: 'b', state: 'connected' },
      { type: 'pendingSnapshot', pendingRequests: new Map([['a', 0]]) },
      { type: 'leastLoadedChosen' },
    ] as const) {
      expect(() => poolReducer(before, action)).not.toThrow();
    }
    expect(before).toEqual(poolOf(3, [entry('a', 'connected', 2), entry('b', 'broken')]));
  });
});
