import * as E from 'fp-ts/lib/Either.js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ZCached } from '../../src/client/client.js';
import { Connection } from '../../src/connection/connection.js';
import {
  ConnectError,
  DialectError,
  InvalidArgumentError,
  PoolEmptyError,
  ServerError,
  ZCachedError,
} from '../../src/errors.js';
import { ConnectionPool } from '../../src/pool/pool.js';
import type { DialectName } from '../../src/protocol/dialect.js';
import { float } from '../../src/protocol/values.js';
import { startServer, type ZCachedServer } from '../../src/testing/server.js';

const DIALECTS: readonly DialectName[] = ['legacy', 'etx-request', 'etx'];

describe.each(DIALECTS)('ZCached against the embedded server (%s)', (dialect) => {
  let server: ZCachedServer;
  let client: ZCached;
  const newer = dialect !== 'legacy';

  beforeEach(async () => {
    server = await startServer({ dialect });
    client = new ZCached({ port: server.port, dialect, poolSize: 2 });
    await client.run();
  });
  afterEach(async () => {
    await client.close();
    await server.close();
  });

  it('PING, isAlive, DBSIZE, FLUSH', async () => {
    expect(await client.ping()).toBe('PONG');
    expect(await client.isAlive()).toBe(true);
    expect(await client.dbsize()).toBe(0);
    await client.set('a', 1);
    expect(await client.dbsize()).toBe(1);
    expect(await client.flush()).toBe('OK');
    expect(await client.dbsize()).toBe(0);
  });

  it('round-trips every value type through SET/GET', async () => {
    const values = [
      'text',
      // The current server answers -ERR unprocessable to an empty string: 'etx' refuses it (test/client/dialect-errors.test.ts).
      ...(dialect === 'etx' ? [] : ['']),
      'żółw 🐢',
      42,
      -7,
      2 ** 53 - 1,
      9007199254740993n,
      1.5,
      Infinity,
      -Infinity,
      true,
      false,
      null,
      [1, 'two', [3, null], false],
      new Map<string, unknown>([['__proto__', 1], ['x', [2]]]),
      ...(newer ? [new Set([1, 'a'])] : []),
    ];
    for (const [i, value] of values.entries()) {
      expect(await client.set(`k${i}`, value as never)).toBe('OK');
      expect(await client.get(`k${i}`), `value #${i}`).toEqual(value);
    }
    await client.set('nan', Number.NaN);
    expect(await client.get('nan')).toBeNaN();
    await client.set('f', float(1));
    expect(await client.get('f')).toBe(1);
    await client.set('obj', { a: 1, b: 'x' });
    expect(await client.get('obj')).toEqual(new Map<string, unknown>([['a', 1], ['b', 'x']]));
    await client.set('bytes', Buffer.from('raw'));
    expect(await client.get('bytes')).toBe('raw');
  });

  it('GET and DELETE of a missing key, EXISTS', async () => {
    expect(await client.get('missing')).toBeUndefined();
    expect(await client.exists('missing')).toBe(false);
    expect(await client.delete('missing')).toBe(false);
    await client.set('present', null);
    expect(await client.get('present')).toBeNull();
    expect(await client.exists('present')).toBe(true);
    expect(await client.delete('present')).toBe(true);
    expect(await client.exists('present')).toBe(false);
  });

  it('KEYS, MSET in all three shapes, MGET as a Map', async () => {
    await client.mset(new Map([['a', 1]]));
    await client.mset({ b: 'two' });
    await client.mset([['c', [3]]]);
    expect((await client.keys()).sort()).toEqual(['a', 'b', 'c']);
    const values = await client.mget('a', 'b', 'nope', 'a');
    expect(values).toBeInstanceOf(Map);
    expect(values).toEqual(new Map<string, unknown>([['a', 1], ['b', 'two'], ['nope', null]]));
    expect(await client.mget()).toEqual(new Map());
    expect(await client.mget('a', { timeout: 1_000 })).toEqual(new Map([['a', 1]]));
    const aborted = client.mget('a', 'b', { signal: AbortSignal.abort() });
    await expect(aborted).rejects.toMatchObject({ code: 'EABORT' });
  });

  it('SAVE and LASTSAVE', async () => {
    const start = await client.lastsave();
    expect(start).toBeGreaterThan(1_600_000_000);
    const empty = await client.save().catch((e: unknown) => e);
    expect(empty).toBeInstanceOf(ServerError);
    expect(['ERR', 'NOSAVE']).toContain((empty as ServerError).code);
    await client.set('k', 1);
    expect(await client.save()).toBe('OK');
    expect(await client.lastsave()).toBeGreaterThanOrEqual(start);
  });

  it('server errors arrive as ServerError with their code', async () => {
    const unknown = await client.sendCommand(['NOPE']).catch((e: unknown) => e);
    expect(unknown).toMatchObject({ name: 'ServerError', code: 'ERR', message: "unknown command 'NOPE'" });
    const arity = await client.sendCommand(['GET']).catch((e: unknown) => e);
    expect(arity).toMatchObject({ code: 'ERR', message: 'unexpected' });
    const keyType = await client.sendCommand(['SET', 1, 2]).catch((e: unknown) => e);
    // Protocol reference, "What real servers answer to odd requests": the current server says `-ERR unexpected`.
    expect(keyType).toMatchObject(dialect === 'etx' ? { code: 'ERR', message: 'unexpected' } : { code: 'TYPERR', message: 'key not string' });
    expect(await client.ping()).toBe('PONG');
  });

  // One of the two tests below applies to each dialect (no test is skipped for the other).
  if (newer) it('ECHO, SIZEOF, RENAME, COPY', async () => {
    expect(await client.echo('hello')).toBe('hello');
    await client.set('s', 'abcd');
    expect(await client.sizeof('s')).toBe(4);
    expect(await client.rename('s', 't')).toBe('OK');
    expect(await client.get('s')).toBeUndefined();
    await expect(client.rename('s', 'u')).rejects.toMatchObject({ code: 'ERR' });
    expect(await client.copy('t', 'u')).toBe('OK');
    await expect(client.copy('t', 'u')).rejects.toMatchObject({ code: 'BUSYKEY' });
    await client.set('t', 'new');
    expect(await client.copy('t', 'u', { replace: true })).toBe('OK');
    expect(await client.get('u')).toBe('new');
  });

  if (!newer) it('the newer commands are unknown to the legacy server', async () => {
    await expect(client.echo('x')).rejects.toMatchObject({ code: 'ERR', message: "unknown command 'ECHO'" });
  });

  it('validates arguments at the call site and stays in step', async () => {
    expect(() => client.get(42 as never)).toThrow(TypeError);
    expect(() => client.set('k', undefined as never)).toThrow(TypeError);
    expect(() => client.set('k', 2n ** 64n)).toThrow(RangeError);
    expect(() => client.mset([])).toThrow(RangeError);
    expect(() => client.mset([[1, 2]] as never)).toThrow(TypeError);
    expect(() => client.mget('a', 1 as never)).toThrow(/mget key #2/);
    if (dialect === 'legacy') expect(() => client.set('k', 'line\nbreak')).toThrow(DialectError);
    else expect(() => client.set('k', 'etx\x03')).toThrow(DialectError);
    for (const connection of client.connectionPool.connections) expect(connection.pendingRequests).toBe(0);
    expect(await client.set('k', 'ok')).toBe('OK');
    expect(await client.get('k')).toBe('ok');
  });

  it('spreads load: pending counts rise synchronously and both connections are used', async () => {
    const [a, b] = client.connectionPool.connections as [Connection, Connection];
    const first = client.ping();
    const second = client.ping();
    expect(a.pendingRequests + b.pendingRequests).toBe(2);
    expect(a.pendingRequests).toBe(1);
    expect(b.pendingRequests).toBe(1);
    await Promise.all([first, second]);
  });
});

describe('ZCached', () => {
  it('rejects at once with PoolEmptyError when no connection works, after checking the arguments', async () => {
    const client = new ZCached({ port: 1 });
    await expect(client.ping()).rejects.toBeInstanceOf(PoolEmptyError);
    await expect(client.ping()).rejects.toBeInstanceOf(ZCachedError);
    expect(() => client.set('k', undefined as never)).toThrow(TypeError);
    expect(() => client.set('k', 'a\x03')).toThrow(DialectError);
    await client.close();
  });

  it('run() rejects with ConnectError when the server cannot be reached', async () => {
    const server = await startServer();
    const port = server.port;
    await server.close();
    const client = new ZCached({ port, connectionAttempts: 1 });
    await expect(client.run()).rejects.toBeInstanceOf(ConnectError);
    await client.close();
  });

  it('validates its options at construction', () => {
    expect(() => new ZCached({ poolSize: -1 })).toThrow(RangeError);
    expect(() => new ZCached({ timeoutLimit: 0 })).toThrow(/timeoutLimit/);
    expect(() => new ZCached({ port: 1e6 })).toThrow(/port/);
  });

  it('wraps an existing pool', async () => {
    await using server = await startServer();
    const pool = new ConnectionPool(1, () => new Connection({ host: '127.0.0.1', port: server.port }));
    await using client = ZCached.fromConnectionPool(pool);
    expect(client.connectionPool).toBe(pool);
    await client.run();
    expect(await client.ping()).toBe('PONG');
  });

  it('offers the same commands as TaskEither', async () => {
    await using server = await startServer();
    await using client = new ZCached({ port: server.port });
    await client.run();
    expect(await client.fp.set('k', 1)()).toEqual(E.right('OK'));
    expect(await client.fp.get('k')()).toEqual(E.right(1));
    const failed = await client.fp.rename('nope', 'x')();
    expect(E.isLeft(failed) && failed.left).toBeInstanceOf(ServerError);
    const invalid = await client.fp.get(5 as never)();
    expect(E.isLeft(invalid) && invalid.left).toBeInstanceOf(InvalidArgumentError);
    expect(E.isLeft(invalid) && invalid.left.cause).toBeInstanceOf(TypeError);
  });

  it('honours per-call timeout and AbortSignal', async () => {
    await using server = await startServer();
    await using client = new ZCached({ port: server.port });
    await client.run();
    server.delayReplies(200);
    await expect(client.ping({ timeout: 20 })).rejects.toMatchObject({ code: 'ETIMEOUT' });
    server.delayReplies(0);
    // A per-call timeout fails only its own request: the connection stays (its late reply is dropped).
    expect(client.connectionPool.isWorking()).toBe(true);
    expect(await client.ping()).toBe('PONG');
    const controller = new AbortController();
    const pending = client.get('x', { signal: controller.signal });
    controller.abort();
    await expect(pending).rejects.toMatchObject({ code: 'EABORT' });
  });
});
