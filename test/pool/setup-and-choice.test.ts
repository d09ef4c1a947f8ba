/**
 * `ConnectionPool.setup()` called again while a setup is in progress, and
 * where a request goes (or what it is told) when no connection is connected.
 */
import { describe, expect, it } from 'vitest';
import { PoolEmptyError } from '../../src/errors.js';
import { ConnectionPool, poolSelectors } from '../../src/pool/index.js';
import { FakeConnection, type ConnectOutcome } from '../../src/testing/fake-connection.js';

function fakePool(poolSize: number, outcome: ConnectOutcome = 'succeed') {
  const created: FakeConnection[] = [];
  const pool = new ConnectionPool(poolSize, () => {
    const fake = new FakeConnection({ connectOutcome: outcome });
    created.push(fake);
    return fake;
  });
  return { pool, created };
}

/** A fake that also tells when it will next try to connect, and what it is doing. */
class TimedFake extends FakeConnection {
  constructor(
    state: 'idle' | 'connected' | 'broken',
    readonly nextAttemptIn: number | undefined,
    readonly story = `connection ${state}`,
  ) {
    super({ state, connectOutcome: 'hang' });
  }

  describeState(): string {
    return `${this.id}: ${this.story}`;
  }
}

describe('setup() while a setup is in progress', () => {
  it('returns the same promise and neither creates nor closes a connection (was: closed the first setup\'s connections)', async () => {
    const { pool, created } = fakePool(3, 'hang');
    const first = pool.setup();
    const second = pool.setup();
    expect(created).toHaveLength(3);
    expect(created.every((connection) => connection.state === 'connecting')).toBe(true);
    expect(pool.connections).toEqual(created);
    expect(second).toBe(first);
    for (const connection of created) connection.resolveConnect();
    await Promise.all([first, second]);
    expect(pool.connectedConnections).toHaveLength(3);
  });

  it('once it has settled, setup() sets the pool up anew (as the Python client does)', async () => {
    const { pool, created } = fakePool(2);
    const first = pool.setup();
    await first;
    const second = pool.setup();
    expect(second).not.toBe(first);
    await second;
    expect(created).toHaveLength(4);
    expect(created.slice(0, 2).every((connection) => connection.state === 'closed')).toBe(true);
    expect(pool.connections).toEqual(created.slice(2));
  });

  it('after close(), even one made during a setup, setup() is a new setup', async () => {
    const { pool, created } = fakePool(2, 'hang');
    const first = pool.setup();
    await pool.close();
    await first;
    const second = pool.setup();
    expect(second).not.toBe(first);
    expect(created).toHaveLength(4);
    expect(pool.connections).toEqual(created.slice(2));
    await pool.close();
    await second;
  });

  it('a factory failure rejects every caller of the shared setup, and the next setup() tries again', async () => {
    let fail = true;
    const pool = new ConnectionPool(1, () => {
      if (fail) throw new Error('no sockets left');
      return new FakeConnection();
    });
    const first = pool.setup();
    const second = pool.setup();
    expect(second).toBe(first);
    await expect(first).rejects.toThrow('no sockets left');
    fail = false;
    await pool.setup();
    expect(pool.connectedConnections).toHaveLength(1);
  });
});

describe('PoolEmptyError messages', () => {
  it('a pool never set up says setup() was never called (was: "has no connected connection")', () => {
    const { pool } = fakePool(2);
    expect(() => pool.getLeastLoadedConnection()).toThrow(PoolEmptyError);
    expect(() => pool.getLeastLoadedConnection()).toThrow('the connection pool has no connection: setup() was never called');
    expect(() => pool.getConnectionForRequest()).toThrow('the connection pool has no connection: setup() was never called');
  });

  it('a closed pool says it was closed', async () => {
    const { pool } = fakePool(2);
    await pool.setup();
    await pool.close();
    expect(() => pool.getLeastLoadedConnection()).toThrow('the connection pool has no connection: it was closed (setup() fills it again)');
  });

  it('with connections, it says what each one is doing, the first four of them', async () => {
    const pool = new ConnectionPool<FakeConnection>(0, () => new FakeConnection());
    const resting = new TimedFake('broken', 4_200, 'resting, retries in ~4200 ms');
    const others = [new TimedFake('broken', undefined, 'gave up'), new FakeConnection({ state: 'broken', connectOutcome: 'hang' })];
    const more = [new TimedFake('broken', undefined), new TimedFake('broken', undefined)];
    // extendPoolByConnections reconnects broken fakes: keep them broken (their attempts hang, then fail).
    const extending = pool.extendPoolByConnections([resting, ...others, ...more]);
    for (const connection of pool.connections) connection.failConnect();
    await extending;
    const error = (() => {
      try {
        pool.getLeastLoadedConnection();
      } catch (thrown) {
        return thrown as PoolEmptyError;
      }
      throw new Error('no error');
    })();
    expect(error.message).toBe(
      `no connection of the pool is connected: ${resting.id}: resting, retries in ~4200 ms; ${others[0]!.id}: gave up; ` +
        `connection ${others[1]!.id} is broken; ${more[0]!.id}: connection broken; and 1 more`,
    );
  });
});

describe('getConnectionForRequest()', () => {
  it('is the least-loaded connected connection when there is one', async () => {
    const { pool } = fakePool(3);
    await pool.setup();
    const [a, b, c] = pool.connections as [FakeConnection, FakeConnection, FakeConnection];
    a.addPending(2);
    c.addPending(1);
    expect(pool.getConnectionForRequest()).toBe(b);
  });

  it('with none connected, the one that will be up soonest: an attempt running, then the shortest wait or rest left', async () => {
    const pool = new ConnectionPool<FakeConnection>(0, () => new FakeConnection());
    const resting = new TimedFake('broken', 4_000);
    const waiting = new TimedFake('broken', 150);
    const givenUp = new TimedFake('broken', undefined);
    // extendPoolByConnections reconnects broken fakes: keep them broken (their attempts hang, then fail).
    const extending = pool.extendPoolByConnections([resting, waiting, givenUp]);
    for (const connection of pool.connections) connection.failConnect();
    await extending;
    expect(pool.getConnectionForRequest()).toBe(waiting);
    expect(() => pool.getLeastLoadedConnection()).toThrow(PoolEmptyError);
    // Without the waiting one: the resting one.
    expect(poolSelectors.soonestToConnect([resting, givenUp])).toBe(resting);
    expect(poolSelectors.soonestToConnect([givenUp])).toBeUndefined();
  });

  it('throws a PoolEmptyError naming what each connection does when none will connect by itself', async () => {
    const pool = new ConnectionPool<FakeConnection>(0, () => new FakeConnection());
    const givenUp = new TimedFake('broken', undefined, 'gave up (reconnect: false)');
    const extending = pool.extendPoolByConnections([givenUp]);
    givenUp.failConnect();
    await extending;
    expect(() => pool.getConnectionForRequest()).toThrow(
      `no connection of the pool is connected or will connect by itself: ${givenUp.id}: gave up (reconnect: false)`,
    );
  });
});

describe('poolSelectors.soonestToConnect', () => {
  const at = (state: 'connecting' | 'broken' | 'idle' | 'connected' | 'closed', pendingRequests: number, nextAttemptIn?: number) =>
    nextAttemptIn === undefined && state !== 'broken' ? { state, pendingRequests } : { state, pendingRequests, nextAttemptIn };

  it('prefers a running attempt (0 ms), fewest pending first, then the shortest wait', () => {
    const running = at('connecting', 3, 0);
    const runningLight = at('connecting', 1, 0);
    const waiting = at('broken', 0, 100);
    expect(poolSelectors.soonestToConnect([waiting, running, runningLight])).toBe(runningLight);
    expect(poolSelectors.soonestToConnect([waiting, at('broken', 0, 5_000)])).toBe(waiting);
  });

  it('without nextAttemptIn, only a connecting connection counts (as 0 ms)', () => {
    const connecting = at('connecting', 5);
    expect(poolSelectors.soonestToConnect([at('idle', 0), connecting, at('closed', 0)])).toBe(connecting);
    expect(poolSelectors.soonestToConnect([at('idle', 0), at('connected', 0)])).toBeUndefined();
    expect(poolSelectors.soonestToConnect([])).toBeUndefined();
  });

  it('spreads equal candidates by the start of the scan', () => {
    const a = at('connecting', 0, 0);
    const b = at('connecting', 0, 0);
    expect(poolSelectors.soonestToConnect([a, b], 0)).toBe(a);
    expect(poolSelectors.soonestToConnect([a, b], 1)).toBe(b);
  });
});
