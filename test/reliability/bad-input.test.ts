/**
 * Reliability: bad input at the API. Invalid arguments, oversize values and
 * bytes the dialect cannot carry get a clear, typed error before anything is
 * written; the connection stays healthy and in step: the same socket serves
 * the next request with the right reply, and the server never saw the bad one.
 */
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { ZCached } from '../../src/client/client.js';
import type { Connection } from '../../src/connection/connection.js';
import { AbortError, DialectError, InvalidArgumentError, ServerError, ZCachedError } from '../../src/errors.js';
import { DIALECTS, type DialectName } from '../../src/protocol/dialect.js';
import { RequestWriter } from '../../src/protocol/encoder.js';
import type { Value } from '../../src/protocol/values.js';
import { startServer, type ZCachedServer } from '../../src/testing/server.js';
import { deferredCleanup, watchUnhandledRejections } from '../support.js';

const cleanup = deferredCleanup();

const unhandled = watchUnhandledRejections();
afterAll(() => {
  expect(unhandled).toEqual([]);
});

async function clientFor(dialect: DialectName): Promise<{ server: ZCachedServer; client: ZCached; connection: Connection }> {
  const server = await startServer({ dialect });
  cleanup.push(() => server.close());
  const client = new ZCached({ port: server.port, dialect, poolSize: 1, timeoutLimit: 2_000, closeTimeout: 50 });
  cleanup.push(() => client.close());
  await client.run();
  return { server, client, connection: client.connectionPool.connections[0] as Connection };
}

let probe = 0;

/** The same socket is up, the server saw no new request or connection, and the next requests get their own replies. */
async function expectHealthyAndInStep(server: ZCachedServer, client: ZCached, connection: Connection, requestsBefore: number): Promise<void> {
  expect(server.stats.requests).toBe(requestsBefore);
  expect(connection.state).toBe('connected');
  expect(client.connectionPool.connections[0]).toBe(connection);
  const key = `probe:${++probe}`;
  const replies = await Promise.all([client.set(key, probe), client.get(key), client.ping(), client.get(key)]);
  expect(replies).toEqual(['OK', probe, 'PONG', probe]);
  expect(server.stats.connectionsAccepted).toBe(1);
}

type Call = (client: ZCached) => unknown;

const cyclic: Record<string, Value> = {};
cyclic['self'] = cyclic as Value;
let deep: Value = 1;
for (let i = 0; i < 1_000; i++) deep = [deep];

const invalidArguments: [string, Call, new (...args: never[]) => Error][] = [
  ['a number as key', (c) => c.set(42 as unknown as string, 'v'), TypeError],
  ['null as key', (c) => c.get(null as unknown as string), TypeError],
  ['undefined as value', (c) => c.set('k', undefined as unknown as Value), TypeError],
  ['a function as value', (c) => c.set('k', (() => 1) as unknown as Value), TypeError],
  ['a symbol as value', (c) => c.set('k', Symbol('s') as unknown as Value), TypeError],
  ['a class instance as value', (c) => c.set('k', new Date() as unknown as Value), TypeError],
  ['a value that contains itself', (c) => c.set('k', cyclic as Value), TypeError],
  ['a map with a number key', (c) => c.set('k', new Map([[1, 'a']]) as unknown as Value), TypeError],
  ['an integer past 64 bits', (c) => c.set('k', 2n ** 64n), RangeError],
  ['nesting 1000 deep', (c) => c.set('k', deep), RangeError],
  ['mset with no entry', (c) => c.mset({}), RangeError],
  ['mset with a bad pair', (c) => c.mset([['only-a-key']] as unknown as [string, Value][]), TypeError],
  ['mset with a number key', (c) => c.mset([[1, 'v']] as unknown as [string, Value][]), TypeError],
  ['an empty command', (c) => c.sendCommand([] as unknown as ['PING']), TypeError],
  ['an empty command name', (c) => c.sendCommand(['']), TypeError],
  ['a timeout of 0', (c) => c.get('k', { timeout: 0 }), RangeError],
  ['a negative timeout', (c) => c.get('k', { timeout: -5 }), RangeError],
  ['a NaN timeout', (c) => c.get('k', { timeout: Number.NaN }), RangeError],
  ['a string timeout', (c) => c.get('k', { timeout: '100' as unknown as number }), TypeError],
  // Node timers hold at most 2^31 - 1 ms; a longer one would fire after 1 ms.
  ['a timeout past 2^31 - 1 ms', (c) => c.get('k', { timeout: 2 ** 31 }), RangeError],
];

describe('invalid arguments', () => {
  it.each(invalidArguments)('%s: throws %O before anything is sent; the connection stays in step', async (_, call, errorClass) => {
    const { server, client, connection } = await clientFor('etx');
    await client.set('warm', 1);
    const before = server.stats.requests;
    expect(() => call(client)).toThrow(errorClass);
    await expectHealthyAndInStep(server, client, connection, before);
  });

  it.each([
    ['timeoutLimit', { timeoutLimit: 2 ** 31 }],
    ['closeTimeout', { closeTimeout: 3_000_000_000 }],
    ['connectTimeout', { connectTimeout: 2 ** 40 }],
    ['pingInterval', { pingInterval: 2 ** 31 }],
    ['timeoutLimit', { timeoutLimit: 0 }],
    ['poolSize', { poolSize: -1 }],
    ['port', { port: 70_000 }],
    ['backoff', { backoff: { initial: -1 } }],
    ['connectionAttempts', { connectionAttempts: 0 }],
  ])('a client option out of range (%s) throws a RangeError naming it, at construction', (name, options) => {
    expect(() => new ZCached(options)).toThrow(RangeError);
    expect(() => new ZCached(options)).toThrow(name === 'backoff' ? /initial/ : new RegExp(name));
  });

  it('the fp view turns the same mistakes into a Left(InvalidArgumentError) that keeps the original as cause', async () => {
    const { server, client, connection } = await clientFor('etx');
    const before = server.stats.requests;
    const result = await client.fp.set('k', undefined as unknown as Value)();
    expect(result._tag).toBe('Left');
    if (result._tag === 'Left') {
      expect(result.left).toBeInstanceOf(InvalidArgumentError);
      expect(result.left.code).toBe('EINVAL');
      expect(result.left.cause).toBeInstanceOf(TypeError);
    }
    await expectHealthyAndInStep(server, client, connection, before);
  });

  it('an already aborted signal rejects with an AbortError and sends nothing', async () => {
    const { server, client, connection } = await clientFor('etx');
    const before = server.stats.requests;
    await expect(client.get('k', { signal: AbortSignal.abort() })).rejects.toBeInstanceOf(AbortError);
    await expectHealthyAndInStep(server, client, connection, before);
  });
});

describe('bytes and sizes the dialect cannot carry', () => {
  /** [dialect, label, call, the path the DialectError names]. */
  const cases: [DialectName, string, Call, string][] = [
    ['etx', '0x03 in a value', (c) => c.set('k', 'a\x03b'), 'value'],
    ['etx', '0x03 in a key', (c) => c.set('k\x03', 'v'), 'key'],
    ['etx', '0x03 in bytes', (c) => c.set('k', Buffer.from([0x61, 0x03])), 'value'],
    ['etx', '0x03 deep in an array', (c) => c.set('k', [1, ['x', 'y\x03']]), 'value[1][1]'],
    ['etx', '0x03 in a map key', (c) => c.set('k', new Map([['a\x03', 1]])), 'map key "a\\u0003" in value'],
    ['etx', '0x03 in an mset value', (c) => c.mset({ a: 'ok', b: '\x03' }), 'mset entry 2 value'],
    // The current server stores a string cut at its first LF and answers +OK: silent data loss.
    ['etx', 'LF in a value', (c) => c.set('k', 'line1\nline2'), 'value'],
    ['etx', 'CR LF in a value', (c) => c.set('k', 'a\r\nb'), 'value'],
    ['etx', 'LF at the end of a value', (c) => c.set('k', 'end\n'), 'value'],
    ['etx', 'pretty-printed JSON', (c) => c.set('k', JSON.stringify({ a: 1, b: [1, 2] }, null, 2)), 'value'],
    ['etx', 'LF in bytes', (c) => c.set('k', Buffer.from([0x61, 0x0a, 0x62])), 'value'],
    ['etx', 'LF in a key', (c) => c.get('a\nb'), 'key'],
    ['etx', 'LF in an array element', (c) => c.set('k', ['ok', 'x\ny']), 'value[1]'],
    ['etx', 'LF in a Map value', (c) => c.set('k', new Map([['k', 'v\nw']])), 'value.get("k")'],
    ['etx', 'LF deep in objects and sets', (c) => c.set('k', { a: [new Set(['s', 'x\n'])] }), '[...value["a"][0]][1]'],
    ['etx', 'LF in a map key', (c) => c.set('k', { 'a\nb': 1 }), 'map key "a\\nb" in value'],
    ['etx', 'LF in an mset key', (c) => c.mset([['a', 1], ['b\n', 2]]), 'mset entry 2 key'],
    ['etx', 'LF in a new key', (c) => c.rename('a', 'b\n'), 'newKey'],
    // The current server answers -ERR unprocessable to empty strings and maps.
    ['etx', 'an empty key', (c) => c.set('', 'v'), 'key'],
    ['etx', 'an empty value', (c) => c.set('k', ''), 'value'],
    ['etx', 'empty bytes', (c) => c.set('k', Buffer.alloc(0)), 'value'],
    ['etx', 'an empty Map', (c) => c.set('k', new Map()), 'value'],
    ['etx', 'an empty object', (c) => c.set('k', {}), 'value'],
    ['etx', 'an empty map in an array', (c) => c.set('k', [1, {}]), 'value[1]'],
    ['etx', 'an empty map key', (c) => c.set('k', new Map([['', 1]])), 'map key "" in value'],
    ['etx', 'an empty mset value', (c) => c.mset({ a: 1, b: '' }), 'mset entry 2 value'],
    ['etx', 'an empty mget key', (c) => c.mget('a', ''), 'mget key #2'],
    ['etx', 'a value over 10 MB', (c) => c.set('k', 'x'.repeat(10 * 1024 * 1024 + 1)), 'request'],
    ['etx-request', '0x03 in a value', (c) => c.set('k', '\x03'), 'value'],
    ['etx-request', 'LF in a value', (c) => c.set('k', 'line1\nline2'), 'value'],
    ['etx-request', 'LF in a map key', (c) => c.set('k', new Map([['a\nb', 1]])), 'map key "a\\nb" in value'],
    ['etx-request', 'a value over 10 MB', (c) => c.set('k', Buffer.alloc(10 * 1024 * 1024 + 1, 0x61)), 'request'],
    ['legacy', 'LF in a value', (c) => c.set('k', 'line\nbreak'), 'value'],
    ['legacy', 'CR in a value', (c) => c.set('k', 'carriage\rreturn'), 'value'],
    ['legacy', 'LF in a key', (c) => c.get('a\nb'), 'key'],
    ['legacy', 'LF in bytes', (c) => c.set('k', Buffer.from('a\nb')), 'value'],
    ['legacy', 'a request over 4096 bytes', (c) => c.set('k', 'x'.repeat(4_100)), 'request'],
    ['legacy', 'an mset over 4096 bytes', (c) => c.mset(Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`key${i}`, i]))), 'request'],
  ];

  it.each(cases)('%s, %s: a DialectError (EDIALECT) naming the part at fault, before anything is sent; the connection stays in step', async (dialect, _, call, path) => {
    const { server, client, connection } = await clientFor(dialect);
    await client.set('warm', 1);
    const before = server.stats.requests;
    let thrown: unknown;
    try {
      call(client);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(DialectError);
    expect((thrown as DialectError).code).toBe('EDIALECT');
    expect((thrown as DialectError).message).toMatch(/dialect/);
    expect((thrown as DialectError).path).toBe(path);
    expect((thrown as DialectError).dialect).toBe(dialect);
    await expectHealthyAndInStep(server, client, connection, before);
  });

  it.each<[DialectName, string, Value]>([
    ['etx', 'a lone CR', 'a\rb'],
    ['etx', 'an empty array', []],
    ['etx', 'an empty set', new Set()],
    ['etx-request', 'an empty string', ''],
    ['etx-request', 'an empty map', {}],
    ['legacy', 'an empty string', ''],
    ['legacy', '0x03', 'a\x03b'],
  ])('%s carries %s: it is sent', async (dialect, _, value) => {
    const { server, client, connection } = await clientFor(dialect);
    const before = server.stats.requests;
    expect(await client.set('k', value)).toBe('OK');
    await expectHealthyAndInStep(server, client, connection, before + 1);
  });

  it('the largest value the legacy dialect carries still goes through; one byte more does not', async () => {
    const { client } = await clientFor('legacy');
    const limit = DIALECTS.legacy.maxRequestBytes;
    let length = limit;
    // The legacy dialect adds no terminator: its size is the bare encoding's.
    while (new RequestWriter().append(['SET', 'k', 'x'.repeat(length)]) > limit) length--;
    expect(() => client.set('k', 'x'.repeat(length + 1))).toThrow(DialectError);
    const value = 'x'.repeat(length);
    expect(await client.set('k', value)).toBe('OK');
    expect(await client.get('k')).toBe(value);
  });
});

describe('requests the server refuses', () => {
  it.each<[string, readonly [string, ...Value[]]]>([
    ['an unknown command', ['NOSUCH', 'x']],
    ['GET without a key', ['GET']],
    ['MSET with an odd number of arguments', ['MSET', 'a']],
    ['SET with a non-string key', ['SET', 1, 'v']],
  ])('%s: a ServerError with its code; the connection stays in step', async (_, command) => {
    const { server, client, connection } = await clientFor('etx');
    const error = await client.sendCommand(command).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ServerError);
    expect((error as ServerError).code).toMatch(/^(ERR|TYPERR)$/);
    await expectHealthyAndInStep(server, client, connection, server.stats.requests);
  });
});

describe('good and bad requests interleaved', () => {
  const good = fc.oneof(
    fc.record({ kind: fc.constant('set' as const), key: fc.constantFrom('a', 'b', 'c'), value: fc.oneof(fc.integer(), fc.string({ unit: 'grapheme-ascii', minLength: 1 }).filter((s) => !/[\x03\n]/.test(s))) }),
    fc.record({ kind: fc.constant('get' as const), key: fc.constantFrom('a', 'b', 'c') }),
  );
  const bad = fc.record({
    kind: fc.constant('bad' as const),
    make: fc.constantFrom<Call>(
      (c) => c.set('a', 'x\x03'),
      (c) => c.set('b', undefined as unknown as Value),
      (c) => c.get(7 as unknown as string),
      (c) => c.set('c', 2n ** 70n),
      (c) => c.set('a', 'x\ny'),
      (c) => c.set('b', ''),
      (c) => c.mset({ c: new Map() }),
    ),
  });

  it('fired together without waiting, every good request gets its own reply and every bad one throws typed', async () => {
    const { server, client, connection } = await clientFor('etx');
    await fc.assert(
      fc.asyncProperty(fc.array(fc.oneof(good, bad), { minLength: 1, maxLength: 60 }), async (operations) => {
        await client.flush();
        const before = server.stats.requests;
        const model = new Map<string, Value>();
        const pending: Promise<void>[] = [];
        let sent = 0;
        for (const operation of operations) {
          if (operation.kind === 'bad') {
            expect(() => operation.make(client)).toThrow();
            try {
              operation.make(client);
            } catch (error) {
              expect(error instanceof TypeError || error instanceof RangeError || error instanceof ZCachedError).toBe(true);
            }
            continue;
          }
          sent++;
          if (operation.kind === 'set') {
            model.set(operation.key, operation.value);
            pending.push(client.set(operation.key, operation.value).then((reply) => expect(reply).toBe('OK')));
          } else {
            const expected = model.get(operation.key);
            pending.push(client.get(operation.key).then((reply) => expect(reply).toEqual(expected)));
          }
        }
        await Promise.all(pending);
        expect(server.stats.requests - before).toBe(sent);
        expect(connection.state).toBe('connected');
      }),
      { numRuns: 40 },
    );
    expect(server.stats.connectionsAccepted).toBe(1);
  });
});
