/**
 * The client names the argument at fault in a DialectError: the encoder knows
 * positions only (`argument 2[1]`), the client's commands know names (`key`,
 * `value`, `newKey`, `mset entry 3 value`). The call throws synchronously, as
 * every argument check of the client does, and nothing reaches the server.
 */
import * as E from 'fp-ts/lib/Either.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ZCached } from '../../src/client/client.js';
import { argumentName } from '../../src/client/commands.js';
import { DialectError, type DialectErrorReason } from '../../src/errors.js';
import type { Value } from '../../src/protocol/values.js';
import { startServer, type ZCachedServer } from '../../src/testing/server.js';

type Call = (client: ZCached) => unknown;

/** [label, call, path in the client's error, reason] on the default 'etx' dialect. */
const cases: [string, Call, string, DialectErrorReason][] = [
  ['set, LF in the value', (c) => c.set('k', 'line1\nline2'), 'value', 'line-feed'],
  ['set, CR LF in the value', (c) => c.set('k', 'a\r\nb'), 'value', 'line-feed'],
  ['set, LF in the key', (c) => c.set('k\ney', 'v'), 'key', 'line-feed'],
  ['set, LF in an array element', (c) => c.set('k', ['ok', 'x\ny']), 'value[1]', 'line-feed'],
  ['set, LF in a Map value', (c) => c.set('k', new Map([['k', 'v\nw']])), 'value.get("k")', 'line-feed'],
  ['set, LF in an object value', (c) => c.set('k', { a: [1, 'x\n'] }), 'value["a"][1]', 'line-feed'],
  ['set, LF in a set element', (c) => c.set('k', new Set(['a', 'b\n'])), '[...value][1]', 'line-feed'],
  ['set, LF in a map key', (c) => c.set('k', new Map([['a\nb', 1]])), 'map key "a\\nb" in value', 'line-feed'],
  ['set, LF in bytes', (c) => c.set('k', Buffer.from([0x61, 0x0a, 0x62])), 'value', 'line-feed'],
  ['set, 0x03 in the value', (c) => c.set('k', 'a\x03'), 'value', 'etx'],
  ['set, an empty value', (c) => c.set('k', ''), 'value', 'empty-string'],
  ['set, an empty key', (c) => c.set('', 'v'), 'key', 'empty-string'],
  ['set, empty bytes', (c) => c.set('k', Buffer.alloc(0)), 'value', 'empty-string'],
  ['set, an empty Map', (c) => c.set('k', new Map()), 'value', 'empty-map'],
  ['set, an empty object', (c) => c.set('k', {}), 'value', 'empty-map'],
  ['set, an empty map nested', (c) => c.set('k', [1, { a: {} }]), 'value[1]["a"]', 'empty-map'],
  ['get, LF in the key', (c) => c.get('a\nb'), 'key', 'line-feed'],
  ['get, an empty key', (c) => c.get(''), 'key', 'empty-string'],
  ['delete, LF in the key', (c) => c.delete('a\nb'), 'key', 'line-feed'],
  ['exists, an empty key', (c) => c.exists(''), 'key', 'empty-string'],
  ['sizeof, LF in the key', (c) => c.sizeof('a\n'), 'key', 'line-feed'],
  ['echo, LF in the message', (c) => c.echo('hi\n'), 'message', 'line-feed'],
  ['rename, LF in the new key', (c) => c.rename('a', 'b\n'), 'newKey', 'line-feed'],
  ['copy, LF in the source', (c) => c.copy('a\n', 'b'), 'source', 'line-feed'],
  ['copy, an empty destination', (c) => c.copy('a', '', { replace: true }), 'destination', 'empty-string'],
  ['mget, LF in the second key', (c) => c.mget('a', 'b\n'), 'mget key #2', 'line-feed'],
  ['mset, LF in the third value', (c) => c.mset({ a: 'ok', b: 'x', c: 'y\n' }), 'mset entry 3 value', 'line-feed'],
  ['mset, LF in the second key', (c) => c.mset([['a', 1], ['b\n', 2]]), 'mset entry 2 key', 'line-feed'],
  ['mset, an empty map as a value', (c) => c.mset(new Map<string, Value>([['a', new Map()]])), 'mset entry 1 value', 'empty-map'],
  ['sendCommand SET', (c) => c.sendCommand(['SET', 'k', ['x\n']]), 'value[0]', 'line-feed'],
  ['sendCommand set, lower case', (c) => c.sendCommand(['set', 'k', 'x\n']), 'value', 'line-feed'],
  ['sendCommand of an unknown command', (c) => c.sendCommand(['NOSUCH', 'x', 'y\n']), 'argument 2', 'line-feed'],
];

function thrownBy(call: () => unknown): unknown {
  try {
    call();
  } catch (error) {
    return error;
  }
  return undefined;
}

describe("ZCached names the argument at fault ('etx')", () => {
  let server: ZCachedServer;
  let client: ZCached;

  beforeAll(async () => {
    server = await startServer({ dialect: 'etx' });
    client = new ZCached({ port: server.port, poolSize: 1 });
    await client.run();
  });
  afterAll(async () => {
    await client.close();
    await server.close();
  });

  it.each(cases)('%s: throws a DialectError at the call site naming %s; nothing is sent', async (_, call, path, reason) => {
    await client.ping();
    const before = server.stats.requests;
    const error = thrownBy(() => call(client));
    expect(error).toBeInstanceOf(DialectError);
    expect(error).toMatchObject({ code: 'EDIALECT', reason, path, dialect: 'etx' });
    expect((error as Error).message).toContain(` ${path} `);
    for (const connection of client.connectionPool.connections) expect(connection.pendingRequests).toBe(0);
    expect(await client.ping()).toBe('PONG');
    expect(server.stats.requests).toBe(before + 1);
  });

  it("set('k', 'line1\\nline2'): the whole message, and the encoder's error as its cause", () => {
    const error = thrownBy(() => client.set('k', 'line1\nline2')) as DialectError;
    expect(error.message).toBe(
      "SET: value holds a line feed (0x0a), which the 'etx' dialect cannot carry: current zcached servers store the string cut at its first line feed; nothing was sent. Store such values with a codec that escapes them (e.g. JSON).",
    );
    expect(error).toMatchObject({ command: 'SET', argument: 2, location: [] });
    expect(error.cause).toBeInstanceOf(DialectError);
    expect(error.cause).toMatchObject({ path: 'argument 2', reason: 'line-feed' });
  });

  it('the fp view gives the same named DialectError as a Left', async () => {
    const before = server.stats.requests;
    const result = await client.fp.set('k', { a: 'x\ny' })();
    expect(E.isLeft(result) && result.left).toBeInstanceOf(DialectError);
    expect(E.isLeft(result) && result.left).toMatchObject({ path: 'value["a"]' });
    expect(server.stats.requests).toBe(before);
  });

  it('a too large request is about no single argument: its error passes unchanged', () => {
    const error = thrownBy(() => client.set('k', 'x'.repeat(10 * 1024 * 1024))) as DialectError;
    expect(error).toMatchObject({ reason: 'too-large', path: 'request', argument: undefined });
    expect(error.cause).toBeUndefined();
  });

  it('what the current server carries goes through: a lone CR, an empty array, an empty set', async () => {
    const before = server.stats.requests;
    expect(await client.set('cr', 'a\rb')).toBe('OK');
    expect(await client.set('array', [])).toBe('OK');
    expect(await client.set('set', new Set())).toBe('OK');
    expect(server.stats.requests).toBe(before + 3);
  });
});

describe('ZCached with no connection', () => {
  it('still names the argument when it checks a command before rejecting with PoolEmptyError', async () => {
    const client = new ZCached({ port: 1 });
    const error = thrownBy(() => client.set('k', ['a', '']));
    expect(error).toMatchObject({ path: 'value[1]', reason: 'empty-string' });
    await client.close();
  });
});

describe('ZCached on the other dialects', () => {
  it.each(['legacy', 'etx-request'] as const)("%s: names the argument too, and sends empty values the current server would refuse", async (dialect) => {
    await using server = await startServer({ dialect });
    await using client = new ZCached({ port: server.port, dialect });
    await client.run();
    const before = server.stats.requests;
    expect(thrownBy(() => client.rename('a', 'b\nc'))).toMatchObject({ path: 'newKey', reason: 'line-feed', dialect });
    expect(thrownBy(() => client.mset({ a: 1, b: ['x\n'] }))).toMatchObject({ path: 'mset entry 2 value[0]' });
    expect(server.stats.requests).toBe(before);
    expect(await client.set('empty', '')).toBe('OK');
    expect(server.stats.requests).toBe(before + 1);
  });
});

describe('argumentName', () => {
  it('knows the server commands, case-insensitively, and numbers MGET keys and MSET entries', () => {
    expect(argumentName(['SET', 'k', 'v'], 1)).toBe('key');
    expect(argumentName(['set', 'k', 'v'], 2)).toBe('value');
    expect(argumentName(['RENAME', 'a', 'b'], 2)).toBe('newKey');
    expect(argumentName(['MSET', 'a', 1, 'b', 2], 3)).toBe('mset entry 2 key');
    expect(argumentName(['MSET', 'a', 1, 'b', 2], 4)).toBe('mset entry 2 value');
    expect(argumentName(['MGET', 'a', 'b'], 2)).toBe('mget key #2');
    expect(argumentName(['SET', 'k', 'v'], 3)).toBeUndefined();
    expect(argumentName(['SET', 'k', 'v'], 0)).toBeUndefined();
    expect(argumentName(['NOSUCH', 'x'], 1)).toBeUndefined();
    expect(argumentName(['toString', 'x'], 1)).toBeUndefined();
  });
});
