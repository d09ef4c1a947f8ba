/**
 * `keyPrefix` (as ioredis): every key argument of every command carries
 * it on the wire, values never do, and what the client answers with keys
 * (`keys()`, the `Map` of `mget`) is without it; `keys()` answers only the
 * keys under the prefix. Checked at construction, URL included.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ZCached } from '../../src/client/client.js';
import { DialectError } from '../../src/errors.js';
import { startServer, type ZCachedServer } from '../../src/testing/server.js';

describe('keyPrefix', () => {
  let server: ZCachedServer;
  let plain: ZCached;
  let client: ZCached;

  beforeEach(async () => {
    server = await startServer();
    plain = new ZCached({ port: server.port });
    client = new ZCached({ port: server.port, keyPrefix: 'app:' });
    await Promise.all([plain.run(), client.run()]);
  });
  afterEach(async () => {
    await Promise.all([plain.close(), client.close()]);
    await server.close();
  });

  it('set, get, getBuffer, exists, delete: the key is prefixed on the wire, the value is not', async () => {
    await plain.set('other', 'outside');
    expect(await client.set('user:1', 'app:value')).toBe('OK');
    expect(await plain.get('app:user:1')).toBe('app:value');
    expect(await plain.get('user:1')).toBeUndefined();
    expect(await client.get('user:1')).toBe('app:value');
    expect(await client.getBuffer('user:1')).toEqual(Buffer.from('app:value'));
    expect(await client.exists('user:1')).toBe(true);
    expect(await client.exists('other')).toBe(false);
    expect(await client.delete('user:1')).toBe(true);
    expect(await plain.get('app:user:1')).toBeUndefined();
  });

  it('mset and mget (and mgetBuffer): keys prefixed on the wire, answered without it', async () => {
    await client.mset({ a: 'app:1', b: 2 });
    expect(await plain.mget('app:a', 'app:b', 'a')).toEqual(new Map<string, unknown>([['app:a', 'app:1'], ['app:b', 2], ['a', null]]));
    expect(await client.mget('a', 'b', 'c')).toEqual(new Map<string, unknown>([['a', 'app:1'], ['b', 2], ['c', null]]));
    expect(await client.mgetBuffer(['a'])).toEqual(new Map([['a', Buffer.from('app:1')]]));
  });

  it('rename, copy, sizeof, sendCommand: every key argument is prefixed', async () => {
    await client.set('a', 'hello');
    expect(await client.sizeof('a')).toBe(5);
    await client.rename('a', 'b');
    await client.copy('b', 'c');
    expect((await plain.keys()).sort()).toEqual(['app:b', 'app:c']);
    expect(await client.sendCommand(['GET', 'c'])).toBe('hello');
    expect(await client.sendCommand(['MGET', 'b'])).toEqual(new Map([['b', 'hello']]));
  });

  it('keys() answers the keys under the prefix, without it; dbsize and flush stay server-wide', async () => {
    await plain.mset({ other: 1, 'app:x': 2, 'app:y': 3, 'ap': 4 });
    expect((await client.keys()).sort()).toEqual(['x', 'y']);
    expect(await client.dbsize()).toBe(4);
  });

  it('with a codec, values are encoded as ever, keys prefixed', async () => {
    await using json = new ZCached({ port: server.port, keyPrefix: 'j:', codec: 'json' });
    await json.run();
    await json.set('doc', { a: 1 });
    expect(await plain.get('j:doc')).toBe('{"a":1}');
    expect(await json.mget('doc')).toEqual(new Map([['doc', { a: 1 }]]));
  });
});

describe('keyPrefix is checked at construction', () => {
  it('a URL parameter, like the other options', () => {
    const client = new ZCached('zcached://127.0.0.1:7556?keyPrefix=tenant%3A1%3A');
    expect(client.keyPrefix).toBe('tenant:1:');
    expect(new ZCached({ keyPrefix: 'p:' }).keyPrefix).toBe('p:');
    expect(new ZCached().keyPrefix).toBe('');
  });

  it('refuses a prefix that is not a string (TypeError) or that the dialect cannot carry (DialectError naming keyPrefix)', () => {
    expect(() => new ZCached({ keyPrefix: 5 as never })).toThrow(new TypeError('ZCached: keyPrefix must be a string, got the number 5'));
    const error = (() => {
      try {
        new ZCached({ keyPrefix: 'a\nb', dialect: 'etx' });
      } catch (caught) {
        return caught;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(DialectError);
    expect(error).toMatchObject({ path: 'keyPrefix', reason: 'line-feed', dialect: 'etx' });
    expect(() => new ZCached({ keyPrefix: 'a\u0003' })).toThrow(DialectError);
    expect(() => new ZCached({ keyPreffix: 'a' } as never)).toThrow(/keyPrefix/);
  });
});
