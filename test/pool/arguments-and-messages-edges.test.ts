/**
 * The pool's pure helpers at their edges: argument checks with their exact
 * messages, what counts as a connection the pool can hold, and the messages
 * of an empty pool, connection by connection.
 */
import { describe as group, expect, it } from 'vitest';
import { assertInteger, assertSize, describe, isIterable, isPoolConnection } from '../../src/pool/checks.js';
import { describeConnections, emptyPoolMessage, noneAvailableMessage, noneConnectedMessage } from '../../src/pool/messages.js';
import type { PoolConnection } from '../../src/pool/pool-connection.js';

function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (error) {
    return error as Error;
  }
  throw new Error('nothing was thrown');
}

/** A minimal connection-shaped object. */
function connectionLike(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: 'c1',
    state: 'idle',
    pendingRequests: 0,
    isConnected: () => false,
    connect: () => Promise.resolve(),
    tryReconnect: () => Promise.resolve(),
    close: () => Promise.resolve(),
    subscribe: () => () => undefined,
    ...overrides,
  };
}

group('argument checks', () => {
  it('assertInteger: a number that is an integer, else a TypeError or RangeError naming it', () => {
    expect(() => assertInteger(0, 'n')).not.toThrow();
    expect(() => assertInteger(-3, 'n')).not.toThrow();
    expect(thrown(() => assertInteger('3', 'poolSize'))).toEqual(new TypeError('poolSize must be a number, got "3"'));
    expect(thrown(() => assertInteger(null, 'poolSize'))).toEqual(new TypeError('poolSize must be a number, got null'));
    expect(thrown(() => assertInteger(1.5, 'amount'))).toEqual(new RangeError('amount must be an integer, got 1.5'));
    expect(thrown(() => assertInteger(Number.NaN, 'amount'))).toEqual(new RangeError('amount must be an integer, got NaN'));
    expect(thrown(() => assertInteger(Infinity, 'amount'))).toEqual(new RangeError('amount must be an integer, got Infinity'));
  });

  it('assertSize: a non-negative integer; 0 is fine, -1 is not', () => {
    expect(() => assertSize(0, 'n')).not.toThrow();
    expect(() => assertSize(7, 'n')).not.toThrow();
    expect(thrown(() => assertSize(-1, 'poolSize'))).toEqual(new RangeError('poolSize must be a non-negative integer, got -1'));
    expect(thrown(() => assertSize(undefined, 'poolSize'))).toEqual(new TypeError('poolSize must be a number, got undefined'));
    expect(thrown(() => assertSize(0.5, 'poolSize'))).toBeInstanceOf(RangeError);
  });

  it('isIterable: objects with an iterator method only', () => {
    expect(isIterable([])).toBe(true);
    expect(isIterable(new Set())).toBe(true);
    expect(isIterable({ [Symbol.iterator]: function* () {} })).toBe(true);
    expect(isIterable('abc')).toBe(false);
    expect(isIterable(null)).toBe(false);
    expect(isIterable(undefined)).toBe(false);
    expect(isIterable({})).toBe(false);
    expect(isIterable({ [Symbol.iterator]: 1 })).toBe(false);
  });

  it('isPoolConnection: every required member, of the right type', () => {
    expect(isPoolConnection(connectionLike())).toBe(true);
    expect(isPoolConnection(null)).toBe(false);
    expect(isPoolConnection('c1')).toBe(false);
    expect(isPoolConnection(() => undefined)).toBe(false);
    // A function carrying every member is still not a connection object.
    expect(isPoolConnection(Object.assign(() => undefined, connectionLike()))).toBe(false);
    const members = ['id', 'state', 'pendingRequests', 'isConnected', 'connect', 'tryReconnect', 'close', 'subscribe'];
    for (const member of members) {
      expect(isPoolConnection(connectionLike({ [member]: undefined })), `without ${member}`).toBe(false);
    }
    expect(isPoolConnection(connectionLike({ id: 1 }))).toBe(false);
    expect(isPoolConnection(connectionLike({ state: 1 }))).toBe(false);
    expect(isPoolConnection(connectionLike({ pendingRequests: '0' }))).toBe(false);
    expect(isPoolConnection(connectionLike({ close: 'close' }))).toBe(false);
  });

  it('describe: a short description of a value of the wrong kind', () => {
    expect(describe(null)).toBe('null');
    expect(describe(undefined)).toBe('undefined');
    expect(describe('x')).toBe('"x"');
    expect(describe(12)).toBe('12');
    expect(describe(true)).toBe('true');
    expect(describe(10n)).toBe('10');
    expect(describe(() => 1)).toBe('a function');
    expect(describe([])).toBe('Array');
    expect(describe(new Map())).toBe('Map');
    expect(describe(new (class Custom {})())).toBe('Custom');
    expect(describe(Object.create(null))).toBe('object');
  });
});

group('messages of an empty pool', () => {
  const connection = (id: string, state: string, description?: string): PoolConnection =>
    ({ id, state, ...(description === undefined ? {} : { describeState: () => description }) }) as unknown as PoolConnection;

  it('say why the pool has no connection at all', () => {
    expect(emptyPoolMessage('new', 3)).toBe('the connection pool has no connection: setup() was never called');
    expect(emptyPoolMessage('closed', 3)).toBe('the connection pool has no connection: it was closed (setup() fills it again)');
    expect(emptyPoolMessage('setUp', 3)).toBe(
      'the connection pool has no connection (poolSize 3): they were removed (reducePoolConnections, cleanupBrokenConnections); extendPoolBySize(n) adds new ones',
    );
  });

  it('describe each connection by describeState(), else by id and state', () => {
    expect(describeConnections([])).toBe('');
    expect(describeConnections([connection('a', 'broken', 'a: gave up')])).toBe('a: gave up');
    expect(describeConnections([connection('a', 'broken'), connection('b', 'connecting', 'b: connecting (attempt 2)')])).toBe(
      'connection a is broken; b: connecting (attempt 2)',
    );
  });

  it('list four connections and count the rest', () => {
    const four = ['a', 'b', 'c', 'd'].map((id) => connection(id, 'idle'));
    expect(describeConnections(four)).toBe('connection a is idle; connection b is idle; connection c is idle; connection d is idle');
    const six = [...four, connection('e', 'idle'), connection('f', 'idle')];
    expect(describeConnections(six)).toBe(
      'connection a is idle; connection b is idle; connection c is idle; connection d is idle; and 2 more',
    );
  });

  it('none connected / none available: the pool-level reason when empty, else the connections', () => {
    expect(noneConnectedMessage([], 'new', 2)).toBe(emptyPoolMessage('new', 2));
    expect(noneAvailableMessage([], 'setUp', 2)).toBe(emptyPoolMessage('setUp', 2));
    const one = [connection('a', 'broken', 'a: resting')];
    expect(noneConnectedMessage(one, 'setUp', 1)).toBe('no connection of the pool is connected: a: resting');
    expect(noneAvailableMessage(one, 'setUp', 1)).toBe('no connection of the pool is connected or will connect by itself: a: resting');
  });
});
