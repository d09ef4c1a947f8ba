/**
 * soonestToConnect at its edges: the soonest wait wins wherever it stands
 * in the scan, fewer pending requests break ties, connections that will
 * never connect are never chosen, and any start index works (negative too).
 */
import { describe, expect, it } from 'vitest';
import type { ConnectionState } from '../../src/connection/state.js';
import { leastLoaded, nextAttemptIn, soonestToConnect, type ReconnectingConnection } from '../../src/pool/selectors.js';

const conn = (id: string, state: ConnectionState, pendingRequests: number, wait?: number): ReconnectingConnection & { id: string } =>
  wait === undefined && state !== 'broken' ? { id, state, pendingRequests } : { id, state, pendingRequests, nextAttemptIn: wait };

describe('soonestToConnect', () => {
  it('picks the shortest wait, wherever the scan starts', () => {
    const list = [conn('a', 'broken', 0, 500), conn('b', 'broken', 0, 100), conn('c', 'broken', 0, 300)];
    for (let start = 0; start < 6; start++) expect(soonestToConnect(list, start)?.id, `start ${start}`).toBe('b');
  });

  it('a later, longer wait does not replace a shorter one', () => {
    const list = [conn('a', 'broken', 0, 100), conn('b', 'broken', 0, 900)];
    expect(soonestToConnect(list, 0)?.id).toBe('a');
    // Not even with fewer pending requests: the wait comes first.
    const busy = [conn('a', 'broken', 3, 100), conn('b', 'broken', 0, 900)];
    expect(soonestToConnect(busy, 0)?.id).toBe('a');
  });

  it('breaks ties on fewer pending requests, then on scan order', () => {
    const list = [conn('a', 'broken', 3, 100), conn('b', 'broken', 1, 100), conn('c', 'broken', 1, 100)];
    expect(soonestToConnect(list, 0)?.id).toBe('b');
    expect(soonestToConnect(list, 2)?.id).toBe('c');
    const equal = [conn('a', 'broken', 1, 100), conn('b', 'broken', 1, 100)];
    expect(soonestToConnect(equal, 0)?.id).toBe('a');
    expect(soonestToConnect(equal, 1)?.id).toBe('b');
  });

  it('never picks a connection that will not connect by itself', () => {
    const list = [conn('a', 'broken', 0, 100), conn('never', 'broken', 0, undefined), conn('idle', 'idle', 0)];
    expect(soonestToConnect(list, 0)?.id).toBe('a');
    expect(soonestToConnect([conn('never', 'broken', 0, undefined), conn('idle', 'idle', 0)], 0)).toBeUndefined();
    expect(soonestToConnect([], 3)).toBeUndefined();
  });

  it('a connecting connection without nextAttemptIn counts as 0', () => {
    const list = [conn('a', 'broken', 0, 50), conn('c', 'connecting', 4)];
    expect(nextAttemptIn(list[1]!)).toBe(0);
    expect(soonestToConnect(list, 0)?.id).toBe('c');
  });

  it('any start works, negative ones too', () => {
    const list = [conn('a', 'broken', 0, 100), conn('b', 'broken', 0, 100), conn('c', 'broken', 0, 100)];
    expect(soonestToConnect(list, -1)?.id).toBe('c');
    expect(soonestToConnect(list, -5)?.id).toBe('b');
    expect(soonestToConnect(list, 7)?.id).toBe('b');
    const connected = [conn('a', 'connected', 0), conn('b', 'connected', 0)];
    expect(leastLoaded(connected, -1)?.id).toBe('b');
  });
});
