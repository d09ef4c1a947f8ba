import { afterEach, describe, expect, it, vi } from 'vitest';
import { ConnectionClosedError, PoolEmptyError, ZCachedError } from '../../src/errors.js';
import { ConnectionPool, type PoolEvent } from '../../src/pool/index.js';
import { FakeConnection, type ConnectOutcome, type FakeConnectionOptions } from '../../src/testing/fake-connection.js';

/** A pool of fakes, and every fake its factory made. */
function fakePool(poolSize: number, outcomes: ConnectOutcome | ConnectOutcome[] = 'succeed') {
  const created: FakeConnection[] = [];
  const plan = Array.isArray(outcomes) ? outcomes : [outcomes];
  const pool = new ConnectionPool(poolSize, () => {
    const fake = new FakeConnection({ connectOutcome: plan[created.length % plan.length] ?? 'succeed' });
    created.push(fake);
    return fake;
  });
  return { pool, created };
}

function fake(options: FakeConnectionOptions = {}): FakeConnection {
  return new FakeConnection(options);
}

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Records the state of a promise without awaiting it. */
function track<T>(promise: Promise<T>): { readonly settled: boolean } {
  const status = { settled: false };
  promise.then(
    () => (status.settled = true),
    () => (status.settled = true),
  );
  return status;
}

describe('new ConnectionPool', () => {
  it('validates poolSize, naming it', () => {
    const factory = () => fake();
    expect(() => new ConnectionPool(-1, factory)).toThrow(RangeError);
    expect(() => new ConnectionPool(-1, factory)).toThrow(/poolSize/);
    expect(() => new ConnectionPool(1.5, factory)).toThrow(RangeError);
    expect(() => new ConnectionPool(Number.NaN, factory)).toThrow(RangeError);
    expect(() => new ConnectionPool(Infinity, factory)).toThrow(RangeError);
    expect(() => new ConnectionPool('3' as unknown as number, factory)).toThrow(TypeError);
    expect(() => new ConnectionPool('3' as unknown as number, factory)).toThrow(/poolSize/);
  });

  it('requires a factory function', () => {
    expect(() => new ConnectionPool(1, undefined as unknown as () => FakeConnection)).toThrow(TypeError);
    expect(() => new ConnectionPool(1, {} as unknown as () => FakeConnection)).toThrow(/connectionFactory/);
  });

  it('starts empty, with its size and factory', () => {
    const factory = () => fake();
    const pool = new ConnectionPool(3, factory);
    expect(pool.poolSize).toBe(3);
    expect(pool.connectionFactory).toBe(factory);
    expect(pool.connections).toEqual([]);
    expect(pool.isEmpty()).toBe(true);
    expect(pool.isFull()).toBe(false);
    expect(pool.isWorking()).toBe(false);
    expect(new ConnectionPool(0, factory).isFull()).toBe(true);
  });
});

describe('setup', () => {
  it('creates poolSize connections and connects them in parallel', async () => {
    const { pool, created } = fakePool(3, 'hang');
    const ready = track(pool.setup());
    expect(created).toHaveLength(3);
    expect(created.map((connection) => connection.connectCalls)).toEqual([1, 1, 1]);
    expect(pool.connections).toEqual(created);
    expect(pool.brokenConnections).toEqual(created);
    created[0]?.resolveConnect();
    created[1]?.failConnect();
    await turn();
    expect(ready.settled).toBe(false);
    created[2]?.resolveConnect();
    await turn();
    expect(ready.settled).toBe(true);
    expect(pool.connectedConnections).toEqual([created[0], created[2]]);
    expect(pool.brokenConnections).toEqual([created[1]]);
    expect(pool.isFull()).toBe(true);
    expect(pool.isWorking()).toBe(true);
  });

  it('does not reject when no server is reachable', async () => {
    const { pool } = fakePool(2, 'fail');
    await expect(pool.setup()).resolves.toBeUndefined();
    expect(pool.connections).toHaveLength(2);
    expect(pool.isWorking()).toBe(false);
    expect(pool.brokenConnections).toHaveLength(2);
  });

  it('closes the connections the pool already has first', async () => {
    const { pool, created } = fakePool(2);
    await pool.setup();
    const [first, second] = created;
    await pool.setup();
    expect(first?.state).toBe('closed');
    expect(second?.state).toBe('closed');
    expect(first?.listenerCount).toBe(0);
    expect(pool.connections).toEqual(created.slice(2));
    expect(pool.connectedConnections).toHaveLength(2);
  });

  it('rejects with what the factory throws, closing what it made', async () => {
    const made: FakeConnection[] = [];
    const pool = new ConnectionPool(3, () => {
      if (made.length === 2) throw new Error('out of sockets');
      const connection = fake();
      made.push(connection);
      return connection;
    });
    await expect(pool.setup()).rejects.toThrow('out of sockets');
    expect(pool.connections).toEqual([]);
    expect(made.map((connection) => connection.state)).toEqual(['closed', 'closed']);
  });

  it('rejects factories returning non-connections or repeated ids', async () => {
    await expect(new ConnectionPool(1, () => ({}) as unknown as FakeConnection).setup()).rejects.toThrow(TypeError);
    const same = fake();
    await expect(new ConnectionPool(2, () => same).setup()).rejects.toThrow(RangeError);
    expect(same.state).toBe('closed');
  });

  it('with poolSize 0 adds nothing', async () => {
    const { pool, created } = fakePool(0);
    await pool.setup();
    expect(created).toEqual([]);
    expect(pool.isEmpty()).toBe(true);
  });
});

describe('close', () => {
  it('closes every connection, empties the pool and keeps its size', async () => {
    const { pool, created } = fakePool(3, ['succeed', 'fail', 'succeed']);
    await pool.setup();
    const request = created[0]!.send();
    await pool.close();
    expect(pool.connections).toEqual([]);
    expect(pool.poolSize).toBe(3);
    expect(created.map((connection) => connection.state)).toEqual(['closed', 'closed', 'closed']);
    expect(created.map((connection) => connection.closeCalls)).toEqual([[undefined], [undefined], [undefined]]);
    await expect(request).rejects.toBeInstanceOf(ConnectionClosedError);
  });

  it('during setup resolves, and setup resolves too, leaving nothing', async () => {
    const { pool, created } = fakePool(2, 'hang');
    const setup = pool.setup();
    await pool.close();
    await expect(setup).resolves.toBeUndefined();
    expect(pool.isEmpty()).toBe(true);
    expect(created.every((connection) => connection.state === 'closed' && !connection.hasConnectInFlight)).toBe(true);
  });

  it('does not wait on a connection whose connect never settles once it is removed', async () => {
    const stubborn = fake({ connectOutcome: 'hang' });
    // A connection that ignores close while connecting: its connect() never settles.
    stubborn.close = () => Promise.resolve();
    const pool = new ConnectionPool(1, () => stubborn);
    const setup = pool.setup();
    await pool.close();
    await expect(setup).resolves.toBeUndefined();
  });

  it('is what [Symbol.asyncDispose] does', async () => {
    const { pool, created } = fakePool(1);
    await pool.setup();
    await pool[Symbol.asyncDispose]();
    expect(pool.isEmpty()).toBe(true);
    expect(created[0]?.state).toBe('closed');
  });
});

describe('extendPoolBySize', () => {
  it('adds and connects connections, growing the pool size when needed', async () => {
    const { pool, created } = fakePool(2);
    await pool.setup();
    await pool.extendPoolBySize(3);
    expect(created).toHaveLength(5);
    expect(pool.connectedConnections).toHaveLength(5);
    expect(pool.poolSize).toBe(5);
  });

  it('keeps a larger pool size', async () => {
    const { pool } = fakePool(4);
    await pool.extendPoolBySize(2);
    expect(pool.poolSize).toBe(4);
    expect(pool.connections).toHaveLength(2);
    await pool.extendPoolBySize(0);
    expect(pool.connections).toHaveLength(2);
  });

  it('validates size', async () => {
    const { pool } = fakePool(1);
    await expect(pool.extendPoolBySize(-1)).rejects.toThrow(RangeError);
    await expect(pool.extendPoolBySize(0.5)).rejects.toThrow(/size/);
    await expect(pool.extendPoolBySize('2' as unknown as number)).rejects.toThrow(TypeError);
  });
});

describe('extendPoolByConnections', () => {
  it('adds connections, connecting idle ones and reconnecting broken ones', async () => {
    const { pool } = fakePool(1);
    const idle = fake();
    const up = fake({ state: 'connected' });
    const down = fake({ state: 'broken' });
    await pool.extendPoolByConnections(new Set([idle, up, down]));
    expect(pool.connections).toEqual([idle, up, down]);
    expect(pool.poolSize).toBe(3);
    expect([idle.connectCalls, up.connectCalls, down.connectCalls]).toEqual([1, 0, 0]);
    expect([idle.tryReconnectCalls, up.tryReconnectCalls, down.tryReconnectCalls]).toEqual([0, 0, 1]);
    expect(pool.connectedConnections).toHaveLength(3);
  });

  it('validates its argument and adds nothing when anything is wrong', async () => {
    const { pool } = fakePool(1);
    const one = fake();
    await expect(pool.extendPoolByConnections(5 as unknown as FakeConnection[])).rejects.toThrow(TypeError);
    await expect(pool.extendPoolByConnections(null as unknown as FakeConnection[])).rejects.toThrow(/connections/);
    await expect(pool.extendPoolByConnections([one, {} as FakeConnection])).rejects.toThrow(/connections\[1\]/);
    await expect(pool.extendPoolByConnections([one, one])).rejects.toThrow(RangeError);
    expect(pool.isEmpty()).toBe(true);
    await pool.extendPoolByConnections([one]);
    await expect(pool.extendPoolByConnections([fake({ id: one.id })])).rejects.toThrow(/already in the pool/);
    expect(pool.connections).toEqual([one]);
  });
});

describe('reducePoolConnections', () => {
  it('does nothing for amount <= 0', async () => {
    const { pool } = fakePool(2);
    await pool.setup();
    await pool.reducePoolConnections(0);
    await pool.reducePoolConnections(-4, true);
    expect(pool.connections).toHaveLength(2);
    expect(pool.poolSize).toBe(2);
  });

  it('removes non-connected connections first, then idle connected ones', async () => {
    const { pool, created } = fakePool(4, ['succeed', 'fail', 'succeed', 'succeed']);
    await pool.setup();
    created[2]!.addPending(1);
    const reduced = pool.reducePoolConnections(2);
    expect(pool.connections).toEqual([created[2], created[3]]);
    expect(pool.poolSize).toBe(2);
    await reduced;
    expect(created[1]?.state).toBe('closed');
  });

  it('keeps connections with pending requests, then the pool size is what is left', async () => {
    const { pool, created } = fakePool(3);
    await pool.setup();
    created[0]!.addPending(2);
    created[1]!.addPending(1);
    await pool.reducePoolConnections(3);
    expect(pool.connections).toEqual([created[0], created[1]]);
    expect(pool.poolSize).toBe(2);
    expect(created[2]?.closeCalls).toEqual([undefined]);
  });

  it('with deletePendingConnections closes busy ones by force, rejecting their requests', async () => {
    const { pool, created } = fakePool(3);
    await pool.setup();
    const heavy = [created[0]!.send(), created[0]!.send()];
    const light = created[1]!.send();
    await pool.reducePoolConnections(2, true);
    expect(pool.connections).toEqual([created[0]]);
    expect(pool.poolSize).toBe(1);
    expect(created[2]?.closeCalls).toEqual([undefined]);
    expect(created[1]?.closeCalls).toEqual([{ force: true }]);
    await expect(light).rejects.toBeInstanceOf(ConnectionClosedError);
    created[0]!.finishPending(2);
    await expect(Promise.all(heavy)).resolves.toBeDefined();
  });

  it('removed connections leave at once; the promise waits for their close', async () => {
    const { pool, created } = fakePool(2);
    await pool.setup();
    const slow = created[0]!;
    let finishClose!: () => void;
    const realClose = slow.close.bind(slow);
    slow.close = (options) => {
      void realClose(options);
      return new Promise<void>((resolve) => (finishClose = resolve));
    };
    const reduced = track(pool.reducePoolConnections(2));
    expect(pool.isEmpty()).toBe(true);
    await turn();
    expect(reduced.settled).toBe(false);
    finishClose();
    await turn();
    expect(reduced.settled).toBe(true);
  });

  it('validates its arguments', async () => {
    const { pool } = fakePool(1);
    await expect(pool.reducePoolConnections(1.2)).rejects.toThrow(RangeError);
    await expect(pool.reducePoolConnections('1' as unknown as number)).rejects.toThrow(/amount/);
    await expect(pool.reducePoolConnections(1, 'yes' as unknown as boolean)).rejects.toThrow(TypeError);
  });
});

describe('cleanupBrokenConnections', () => {
  it('closes and removes every non-connected connection, keeping the pool size', async () => {
    const { pool, created } = fakePool(3, ['succeed', 'fail', 'hang']);
    const setup = pool.setup();
    await turn();
    await pool.cleanupBrokenConnections();
    await setup;
    expect(pool.connections).toEqual([created[0]]);
    expect(pool.poolSize).toBe(3);
    expect(created[1]?.state).toBe('closed');
    expect(created[2]?.state).toBe('closed');
    expect(pool.isFull()).toBe(false);
  });
});

describe('reconnect', () => {
  it('reconnects the broken connections and counts the connected ones', async () => {
    const { pool, created } = fakePool(3, ['succeed', 'fail', 'fail']);
    await pool.setup();
    created[1]!.connectOutcome = 'succeed';
    await expect(pool.reconnect()).resolves.toBe(2);
    expect(created.map((connection) => connection.tryReconnectCalls)).toEqual([0, 1, 1]);
  });

  it('reconnects every connection when onlyBrokenConnections is false', async () => {
    const { pool, created } = fakePool(2);
    await pool.setup();
    await expect(pool.reconnect(false)).resolves.toBe(2);
    expect(created.map((connection) => connection.tryReconnectCalls)).toEqual([1, 1]);
  });

  it('resolves when the pool is closed meanwhile', async () => {
    const { pool, created } = fakePool(2, 'fail');
    await pool.setup();
    for (const connection of created) connection.connectOutcome = 'hang';
    const reconnecting = pool.reconnect();
    await pool.close();
    await expect(reconnecting).resolves.toBe(0);
  });
});

describe('getLeastLoadedConnection', () => {
  it('throws PoolEmptyError when nothing is connected', async () => {
    const { pool } = fakePool(1, 'fail');
    expect(() => pool.getLeastLoadedConnection()).toThrow(PoolEmptyError);
    await pool.setup();
    try {
      pool.getLeastLoadedConnection();
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(RangeError);
      expect(error).toBeInstanceOf(ZCachedError);
      expect((error as PoolEmptyError).code).toBe('EPOOLEMPTY');
    }
  });

  it('picks the connected connection with the fewest pending requests, live', async () => {
    const { pool, created } = fakePool(3, ['succeed', 'succeed', 'fail']);
    await pool.setup();
    created[0]!.addPending(2);
    created[1]!.addPending(3);
    expect(pool.getLeastLoadedConnection()).toBe(created[0]);
    created[0]!.addPending(2);
    expect(pool.getLeastLoadedConnection()).toBe(created[1]);
  });

  it('spreads ties', async () => {
    const { pool, created } = fakePool(4);
    await pool.setup();
    const chosen = new Set(Array.from({ length: 4 }, () => pool.getLeastLoadedConnection()));
    expect(chosen).toEqual(new Set(created));
  });
});

describe('subscribe', () => {
  it('reports added and removed connections, state changes and pool size changes', async () => {
    const { pool, created } = fakePool(1);
    const events: string[] = [];
    const unsubscribe = pool.subscribe((event) => events.push(describeEvent(event)));
    await pool.setup();
    await pool.extendPoolBySize(1);
    await pool.reducePoolConnections(2);
    unsubscribe();
    await pool.setup();
    const [a, b] = created.map((connection) => connection.id);
    expect(events).toEqual([
      `added ${a}`,
      `${a} idle->connecting`,
      `${a} connecting->connected`,
      `added ${b}`,
      'size 1->2',
      `${b} idle->connecting`,
      `${b} connecting->connected`,
      `removed ${a}`,
      `removed ${b}`,
      'size 2->0',
    ]);
  });

  it('copes with a listener that closes the pool while connections are added', async () => {
    const { pool, created } = fakePool(2, 'hang');
    pool.subscribe((event) => {
      if (event.type === 'connectionAdded') void pool.close();
    });
    await pool.setup();
    expect(pool.isEmpty()).toBe(true);
    expect(created.every((connection) => connection.state === 'closed' && connection.connectCalls === 0)).toBe(true);
  });
});

function describeEvent(event: PoolEvent<FakeConnection>): string {
  switch (event.type) {
    case 'connectionAdded':
      return `added ${event.connection.id}`;
    case 'connectionRemoved':
      return `removed ${event.connection.id}`;
    case 'connectionStateChanged':
      return `${event.connection.id} ${event.change.from}->${event.change.to}`;
    case 'poolSizeChanged':
      return `size ${event.from}->${event.to}`;
  }
}

describe('runInBackground', () => {
  const saved: NodeJS.UnhandledRejectionListener[] = [];
  afterEach(() => {
    process.removeAllListeners('unhandledRejection');
    for (const listener of saved.splice(0)) process.on('unhandledRejection', listener);
  });

  /** Runs `scenario`, then reports the unhandled rejections it caused. */
  async function unhandledRejectionsOf(scenario: () => void): Promise<unknown[]> {
    saved.push(...process.listeners('unhandledRejection'));
    process.removeAllListeners('unhandledRejection');
    const reasons: unknown[] = [];
    process.on('unhandledRejection', (reason) => reasons.push(reason));
    scenario();
    for (let i = 0; i < 3; i++) await turn();
    return reasons;
  }

  it('runs fn later with its arguments and carries its result', async () => {
    const fn = vi.fn((a: number, b: string) => `${a}${b}`);
    const result = ConnectionPool.runInBackground(fn, 1, 'x');
    expect(fn).not.toHaveBeenCalled();
    await expect(result).resolves.toBe('1x');
    expect(fn).toHaveBeenCalledWith(1, 'x');
    await expect(ConnectionPool.runInBackground(async (n: number) => n * 2, 21)).resolves.toBe(42);
  });

  it('rejects for whoever awaits it, when fn throws or rejects', async () => {
    await expect(
      ConnectionPool.runInBackground(() => {
        throw new Error('sync');
      }),
    ).rejects.toThrow('sync');
    await expect(ConnectionPool.runInBackground(() => Promise.reject(new Error('async')))).rejects.toThrow('async');
  });

  it('never causes an unhandled rejection when nobody listens', async () => {
    // The detector works: a bare rejected promise is reported.
    expect(await unhandledRejectionsOf(() => void Promise.reject(new Error('bare')))).toHaveLength(1);
    const reasons = await unhandledRejectionsOf(() => {
      void ConnectionPool.runInBackground(() => {
        throw new Error('nobody listens');
      });
      void ConnectionPool.runInBackground(() => Promise.reject(new Error('nobody listens either')));
    });
    expect(reasons).toEqual([]);
  });

  it('runInThread is the same thing', async () => {
    await expect(ConnectionPool.runInThread((a: number) => a + 1, 1)).resolves.toBe(2);
  });
});
