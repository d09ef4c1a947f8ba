/**
 * The pool shell at its edges: the messages of its argument errors, what an
 * empty pool says after setup, the cause of a PoolEmptyError, how ties are
 * spread by the rotation, reduce with a zero or negative amount, and a
 * setup() that starts while an earlier one (ended by close()) still runs.
 */
import { describe, expect, it } from 'vitest';
import { PoolEmptyError } from '../../src/errors.js';
import { ConnectionPool, type PoolEvent } from '../../src/pool/index.js';
import { FakeConnection, type ConnectOutcome, type FakeConnectionOptions } from '../../src/testing/fake-connection.js';

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function fakePool(poolSize: number, outcome: ConnectOutcome = 'succeed') {
  const created: FakeConnection[] = [];
  const pool = new ConnectionPool(poolSize, () => {
    const fake = new FakeConnection({ connectOutcome: outcome });
    created.push(fake);
    return fake;
  });
  const events: PoolEvent<FakeConnection>[] = [];
  pool.subscribe((event) => events.push(event));
  return { pool, created, events };
}

/** A fake that remembers a last failure, as a real connection does. */
class FailedFake extends FakeConnection {
  constructor(
    readonly lastError: Error | undefined,
    options: FakeConnectionOptions = {},
  ) {
    super({ state: 'broken', connectOutcome: 'hang', ...options });
  }
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('the promise resolved');
}

describe('argument errors', () => {
  it('extendPoolByConnections refuses what is not an iterable, naming it', async () => {
    const { pool } = fakePool(1);
    expect(await rejection(pool.extendPoolByConnections(5 as never))).toEqual(new TypeError('connections must be an iterable of connections, got 5'));
    expect(await rejection(pool.extendPoolByConnections({} as never))).toEqual(new TypeError('connections must be an iterable of connections, got Object'));
    expect(await rejection(pool.extendPoolByConnections(null as never))).toEqual(new TypeError('connections must be an iterable of connections, got null'));
  });

  it('extendPoolByConnections names the element that is not a connection, or whose id is taken', async () => {
    const { pool } = fakePool(1);
    const good = new FakeConnection({ id: 'a' });
    const error = await rejection(pool.extendPoolByConnections([good, { id: 'b' } as never]));
    expect(error).toEqual(new TypeError('connections[1] is not a connection (id, state, pendingRequests, connect, close...): Object'));
    const twice = await rejection(pool.extendPoolByConnections([good, new FakeConnection({ id: 'a' })]));
    expect(twice).toEqual(new RangeError('connections[1] has id "a", which is already in the pool'));
    expect(pool.connections).toEqual([]);
  });

  it('a factory that returns something else is named connectionFactory()', async () => {
    const pool = new ConnectionPool(1, () => ({ id: 'x' }) as never);
    expect(await rejection(pool.setup())).toEqual(new TypeError('connectionFactory() is not a connection (id, state, pendingRequests, connect, close...): Object'));
    const same = new ConnectionPool(2, () => new FakeConnection({ id: 'dup' }));
    expect(await rejection(same.setup())).toEqual(new RangeError('connectionFactory() has id "dup", which is already in the pool'));
  });

  it('reducePoolConnections names a non-boolean deletePendingConnections', async () => {
    const { pool } = fakePool(1);
    expect(await rejection(pool.reducePoolConnections(1, 'yes' as never))).toEqual(new TypeError('deletePendingConnections must be a boolean, got "yes"'));
  });
});

describe('reduce with nothing to remove', () => {
  it.each([0, -1, -3])('reducePoolConnections(%i) changes nothing and tells nobody', async (amount) => {
    const { pool, created, events } = fakePool(2);
    await pool.setup();
    events.length = 0;
    await pool.reducePoolConnections(amount, true);
    expect(pool.poolSize).toBe(2);
    expect(pool.connections).toEqual(created);
    expect(events).toEqual([]);
    expect(created.every((connection) => connection.closeCalls.length === 0)).toBe(true);
  });
});

describe('an empty pool says why', () => {
  it('after setup, when every connection was removed', async () => {
    const { pool } = fakePool(2);
    await pool.setup();
    await pool.reducePoolConnections(2);
    expect(pool.connections).toEqual([]);
    const message = 'the connection pool has no connection (poolSize 0): they were removed';
    expect(() => pool.getLeastLoadedConnection()).toThrow(message);
    expect(() => pool.getConnectionForRequest()).toThrow(message);
  });

  it('after close', async () => {
    const { pool } = fakePool(2);
    await pool.setup();
    await pool.close();
    expect(() => pool.getLeastLoadedConnection()).toThrow('the connection pool has no connection: it was closed (setup() fills it again)');
  });
});

describe('the cause of a PoolEmptyError', () => {
  it('is the first last failure found among the connections', async () => {
    const first = new Error('first failure');
    const second = new Error('second failure');
    const pool = new ConnectionPool(3, () => new FakeConnection());
    // Their reconnects hang: none is connected.
    const adding = pool.extendPoolByConnections([new FailedFake(undefined, { id: 'a' }), new FailedFake(first, { id: 'b' }), new FailedFake(second, { id: 'c' })]);
    let thrown: unknown;
    try {
      pool.getLeastLoadedConnection();
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(PoolEmptyError);
    expect((thrown as Error).cause).toBe(first);
    await pool.close();
    await adding.catch(() => undefined);
  });

  it('is absent when no connection has failed', () => {
    const { pool } = fakePool(1);
    let thrown: unknown;
    try {
      pool.getLeastLoadedConnection();
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(PoolEmptyError);
    expect('cause' in (thrown as Error)).toBe(false);
  });
});

describe('ties are spread by a rotation', () => {
  it('getLeastLoadedConnection and getConnectionForRequest take turns over equally loaded connections, in order', async () => {
    const { pool, created } = fakePool(3);
    await pool.setup();
    const ids = (n: number, choose: () => FakeConnection): string[] => Array.from({ length: n }, () => choose().id);
    const order = created.map((connection) => connection.id);
    const least = ids(6, () => pool.getLeastLoadedConnection());
    expect(least).toEqual([...order, ...order]);
    const forRequest = ids(3, () => pool.getConnectionForRequest());
    expect(forRequest).toEqual(order);
    // Both share the rotation.
    expect([pool.getLeastLoadedConnection().id, pool.getConnectionForRequest().id]).toEqual(order.slice(0, 2));
    await pool.close();
  });
});

describe('setup() after close() while the first setup still runs', () => {
  it('the first setup settling does not end the second: a third call still shares the second', async () => {
    const { pool, created } = fakePool(1, 'hang');
    const first = pool.setup();
    first.catch(() => undefined);
    const closing = pool.close();
    const second = pool.setup();
    expect(second).not.toBe(first);
    expect(created).toHaveLength(2);
    await closing;
    await first.catch(() => undefined);
    await turn();
    // The first setup has settled; the second is still in progress and shared.
    const third = pool.setup();
    expect(third).toBe(second);
    expect(created).toHaveLength(2);
    created[1]!.resolveConnect();
    await second;
    await pool.close();
  });
});
