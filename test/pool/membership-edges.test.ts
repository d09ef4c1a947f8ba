/**
 * The pool's members, kept in line with the reducer state: Members.sync on
 * hand-made states (same size, other ids; an id never joined), the events
 * it gives, the list it keeps (and does not rebuild when nothing changed),
 * subscriptions that end on removal even when a connection's unsubscribe
 * does not, and the promise helpers.
 */
import { describe, expect, it } from 'vitest';
import type { ConnectionStateChange } from '../../src/connection/state.js';
import { Members, settled, untilRemoved, type Membership } from '../../src/pool/membership.js';
import { ConnectionPool, type PoolEvent } from '../../src/pool/index.js';
import type { PoolState } from '../../src/pool/state.js';
import { FakeConnection } from '../../src/testing/fake-connection.js';

const state = (poolSize: number, ...ids: string[]): PoolState => ({
  poolSize,
  rotation: 0,
  connections: ids.map((id) => ({ id, state: 'idle', pendingRequests: 0 })),
});

function members(...ids: string[]): { members: Members<FakeConnection>; byId: Map<string, FakeConnection>; changes: [string, ConnectionStateChange][] } {
  const m = new Members<FakeConnection>();
  const byId = new Map<string, FakeConnection>();
  const changes: [string, ConnectionStateChange][] = [];
  for (const id of ids) {
    const connection = new FakeConnection({ id });
    byId.set(id, connection);
    m.join(connection, (c, change) => changes.push([c.id, change]));
  }
  return { members: m, byId, changes };
}

describe('Members.sync', () => {
  it('same size, other ids: the ones that left are removed, the new ones added, in order', () => {
    const { members: m, byId } = members('a', 'b', 'c');
    m.sync(state(2), state(2, 'a', 'b'));
    expect(m.list.map((c) => c.id)).toEqual(['a', 'b']);
    const { removed, events } = m.sync(state(2, 'a', 'b'), state(2, 'a', 'c'));
    expect([...removed.keys()]).toEqual(['b']);
    expect(removed.get('b')?.connection).toBe(byId.get('b'));
    expect(events).toEqual([
      { type: 'connectionRemoved', connection: byId.get('b') },
      { type: 'connectionAdded', connection: byId.get('c') },
    ]);
    expect(m.list.map((c) => c.id)).toEqual(['a', 'c']);
    expect(m.view).toEqual(m.list);
    expect(Object.isFrozen(m.view)).toBe(true);
    expect(m.has('b')).toBe(false);
    expect(m.get('b')).toBeUndefined();
    expect(m.get('a')?.connection).toBe(byId.get('a'));
  });

  it('the same ids in another order are another list', () => {
    const { members: m } = members('a', 'b');
    m.sync(state(2), state(2, 'a', 'b'));
    const { events } = m.sync(state(2, 'a', 'b'), state(2, 'b', 'a'));
    expect(events).toEqual([]);
    expect(m.list.map((c) => c.id)).toEqual(['b', 'a']);
  });

  it('the same members: nothing rebuilt, only a size change told', () => {
    const { members: m } = members('a');
    m.sync(state(1), state(1, 'a'));
    const { list, view } = m;
    const same = state(1, 'a');
    expect(m.sync(state(1, 'a'), same)).toEqual({ removed: new Map(), events: [] });
    expect(m.sync(same, same).events).toEqual([]);
    expect(m.list).toBe(list);
    expect(m.view).toBe(view);
    expect(m.sync(state(1, 'a'), state(3, 'a')).events).toEqual([{ type: 'poolSizeChanged', from: 1, to: 3 }]);
    expect(m.view).toBe(view);
  });

  it('an id that never joined: skipped when it leaves, an error when it is in the new state', () => {
    const { members: m } = members('a');
    expect(m.sync(state(2, 'ghost'), state(2, 'a')).events.map((event) => event.type)).toEqual(['connectionAdded']);
    expect(() => m.sync(state(2, 'a'), state(2, 'a', 'nobody'))).toThrow(new Error('ConnectionPool: no connection with id nobody'));
  });

  it('a removed member is unsubscribed, marked removed, and its changes no longer heard', async () => {
    const { members: m, byId, changes } = members('a', 'b');
    m.sync(state(2), state(2, 'a', 'b'));
    const membership = m.get('b') as Membership<FakeConnection>;
    m.sync(state(2, 'a', 'b'), state(2, 'a'));
    await expect(membership.removal).resolves.toBeUndefined();
    expect(byId.get('b')?.listenerCount).toBe(0);
    await byId.get('a')?.connect();
    expect(changes.map(([id, change]) => [id, change.to])).toEqual([
      ['a', 'connecting'],
      ['a', 'connected'],
    ]);
  });

  it('stillMembers keeps the ids that are still members, in order', () => {
    const { members: m } = members('a', 'b', 'c');
    expect(m.stillMembers(['c', 'x', 'a']).map((membership) => membership.connection.id)).toEqual(['c', 'a']);
    expect(m.stillMembers([])).toEqual([]);
  });
});

describe('the promise helpers', () => {
  it('settled resolves once its promise settles either way, and on a synchronous throw', async () => {
    await expect(settled(() => Promise.reject(new Error('no')))).resolves.toBeUndefined();
    await expect(settled(() => Promise.resolve(5))).resolves.toBeUndefined();
    await expect(
      settled(() => {
        throw new Error('sync');
      }),
    ).resolves.toBeUndefined();
  });

  it('untilRemoved resolves when the connection leaves, even if its work never ends', async () => {
    const { members: m } = members('a');
    m.sync(state(1), state(1, 'a'));
    const membership = m.get('a') as Membership<FakeConnection>;
    let done = false;
    const waiting = untilRemoved(membership, () => new Promise(() => undefined)).then(() => (done = true));
    await new Promise((resolve) => setImmediate(resolve));
    expect(done).toBe(false);
    m.sync(state(1, 'a'), state(1));
    await waiting;
    expect(done).toBe(true);
  });
});

describe('through the pool', () => {
  it('connections is the same array while the members stay the same, a new one when they change', async () => {
    const pool = new ConnectionPool(2, () => new FakeConnection());
    await pool.setup();
    const before = pool.connections;
    pool.connections[0]?.constructor; // reading does not rebuild
    expect(pool.connections).toBe(before);
    (pool.connections[0] as FakeConnection).drop();
    await pool.reconnect();
    expect(pool.connections).toBe(before);
    await pool.extendPoolBySize(1);
    expect(pool.connections).not.toBe(before);
    expect(pool.connections).toHaveLength(3);
    await pool.close();
  });

  it('a removed connection whose unsubscribe does nothing is no longer heard', async () => {
    class Sticky extends FakeConnection {
      override subscribe(listener: (change: ConnectionStateChange) => void): () => void {
        super.subscribe(listener);
        return () => undefined; // a connection that keeps calling its listeners
      }
    }
    const sticky = new Sticky({ id: 'sticky', state: 'connected' });
    const pool = new ConnectionPool(1, () => new FakeConnection());
    await pool.extendPoolByConnections([sticky]);
    const events: PoolEvent<FakeConnection>[] = [];
    pool.subscribe((event) => events.push(event));
    // Removed, then closed by the pool: its change to 'closed' still reaches the pool's listener.
    await pool.reducePoolConnections(1);
    expect(sticky.state).toBe('closed');
    expect(events.map((event) => event.type)).toEqual(['connectionRemoved', 'poolSizeChanged']);
    expect(pool.connections).toEqual([]);
  });

  it('close() resolves even when a connection’s close throws at once', async () => {
    class Throwing extends FakeConnection {
      override close(): Promise<void> {
        throw new Error('close failed at once');
      }
    }
    const pool = new ConnectionPool(1, () => new Throwing());
    await pool.setup();
    await expect(pool.close()).resolves.toBeUndefined();
    expect(pool.connections).toEqual([]);
  });
});
