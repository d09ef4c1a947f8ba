import { describe, expect, it } from 'vitest';
import type { ConnectionState } from '../../src/connection/state.js';
import {
  broken,
  connected,
  isEmpty,
  isFull,
  isWorking,
  leastLoaded,
  nextLeastLoaded,
  removalOrder,
} from '../../src/pool/selectors.js';
import type { PoolEntry } from '../../src/pool/state.js';

function entry(id: string, state: ConnectionState = 'connected', pendingRequests = 0): PoolEntry {
  return { id, state, pendingRequests };
}

describe('selectors', () => {
  const mixed = [entry('a', 'idle'), entry('b'), entry('c', 'connecting'), entry('d', 'broken'), entry('e', 'closed'), entry('f')];

  it('connected and broken split the connections, keeping order', () => {
    expect(connected(mixed).map((c) => c.id)).toEqual(['b', 'f']);
    expect(broken(mixed).map((c) => c.id)).toEqual(['a', 'c', 'd', 'e']);
  });

  it('isEmpty, isFull, isWorking', () => {
    expect(isEmpty({ poolSize: 0, connections: [] })).toBe(true);
    expect(isFull({ poolSize: 0, connections: [] })).toBe(true);
    expect(isWorking({ poolSize: 0, connections: [] })).toBe(false);
    expect(isFull({ poolSize: 7, connections: mixed })).toBe(false);
    expect(isFull({ poolSize: 6, connections: mixed })).toBe(true);
    expect(isWorking({ poolSize: 6, connections: mixed })).toBe(true);
    expect(isWorking({ poolSize: 1, connections: [entry('x', 'broken')] })).toBe(false);
  });

  describe('leastLoaded', () => {
    it('picks the connected connection with the fewest pending requests', () => {
      const connections = [entry('a', 'broken', 0), entry('b', 'connected', 3), entry('c', 'connected', 1), entry('d', 'idle', 0)];
      for (let start = 0; start < 8; start++) expect(leastLoaded(connections, start)?.id).toBe('c');
    });

    it('passes over a connection a large request holds (blocked) while another is connected, whatever its queue', () => {
      const blocked = { ...entry('a', 'connected', 0), blocked: true };
      const busy = entry('b', 'connected', 50);
      for (let start = 0; start < 4; start++) expect(leastLoaded([blocked, busy], start)?.id).toBe('b');
      // Every connected one blocked: the fewest pending among them.
      const other = { ...entry('c', 'connected', 3), blocked: true };
      for (let start = 0; start < 4; start++) expect(leastLoaded([other, blocked, entry('d', 'broken')], start)?.id).toBe('a');
    });

    it('returns undefined when nothing is connected', () => {
      expect(leastLoaded([])).toBeUndefined();
      expect(leastLoaded([entry('a', 'broken'), entry('b', 'connecting')], 5)).toBeUndefined();
    });

    it('spreads ties according to the start index', () => {
      const connections = [entry('a', 'connected', 2), entry('b', 'broken'), entry('c', 'connected', 2), entry('d', 'connected', 2)];
      const chosen = [0, 1, 2, 3].map((start) => leastLoaded(connections, start)?.id);
      expect(chosen).toEqual(['a', 'c', 'c', 'd']);
      expect(leastLoaded(connections, -1)?.id).toBe('d');
    });

    it('nextLeastLoaded scans from the state rotation', () => {
      const connections = [entry('a'), entry('b')];
      expect(nextLeastLoaded({ poolSize: 2, connections, rotation: 0 })?.id).toBe('a');
      expect(nextLeastLoaded({ poolSize: 2, connections, rotation: 3 })?.id).toBe('b');
    });
  });

  describe('removalOrder', () => {
    const connections = [
      entry('a', 'connected', 2),
      entry('b', 'connected', 0),
      entry('c', 'broken', 1),
      entry('d', 'idle', 0),
      entry('e', 'connected', 1),
      entry('f', 'broken', 0),
    ];

    it('leaves out connections with pending requests unless allowed', () => {
      expect(removalOrder(connections, false).map((c) => c.id)).toEqual(['d', 'f', 'b']);
    });

    it('puts non-connected first, fewest pending first within each group', () => {
      expect(removalOrder(connections, true).map((c) => c.id)).toEqual(['d', 'f', 'c', 'b', 'e', 'a']);
    });
  });
});
