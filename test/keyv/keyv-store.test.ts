/**
 * KeyvZCached beyond Keyv's suite: what it stores where, namespaces and
 * `clear()` next to other data, the many-key calls, expiry, what the
 * dialect refuses, iteration in batches, and who closes the client.
 */
import Keyv from 'keyv';
import { describe, expect, it } from 'vitest';
import { ZCached } from '../../src/client/client.js';
import { DialectError } from '../../src/errors.js';
import { KeyvZCached } from '../../src/keyv/index.js';
import type { ZCachedServer } from '../../src/testing/server.js';
import { until } from '../support.js';
import { etxServerAndClient } from './keyv-support.js';

let server: ZCachedServer;
let client: ZCached;

etxServerAndClient((started) => ({ server, client } = started), { flushAfterEach: true });

const sortedKeys = async (): Promise<string[]> => (await client.keys()).sort();

describe('what is stored', () => {
  it("stores Keyv's serialized entry under Keyv's namespaced key", async () => {
    const keyv = new Keyv({ store: new KeyvZCached(client), namespace: 'app' });
    await keyv.set('user', { name: 'Ada', note: 'line 1\nline 2\u0003' });
    expect(await sortedKeys()).toEqual(['app:user']);
    const stored = await client.get('app:user');
    expect(typeof stored).toBe('string');
    expect(JSON.parse(stored as string)).toEqual({ value: { name: 'Ada', note: 'line 1\nline 2\u0003' } });
    expect(await keyv.get('user')).toEqual({ name: 'Ada', note: 'line 1\nline 2\u0003' });
  });

  it('setMany is one MSET; getMany one MGET, undefined for missing keys', async () => {
    const store = new KeyvZCached(client);
    const before = server.stats.requests;
    await store.setMany([
      { key: 'a', value: '"1"' },
      { key: 'b', value: '"2"' },
    ]);
    expect(server.stats.requests - before).toBe(1);
    expect(await store.getMany(['a', 'missing', 'b'])).toEqual(['"1"', undefined, '"2"']);
    expect(server.stats.requests - before).toBe(2);
    expect(await store.getMany([])).toEqual([]);
    await store.setMany([]);
    expect(server.stats.requests - before).toBe(2);
  });

  it('through Keyv: setMany, get of many keys, delete of many keys, has', async () => {
    const keyv = new Keyv({ store: new KeyvZCached(client) });
    await keyv.setMany([
      { key: 'x', value: 1 },
      { key: 'y', value: [2] },
    ]);
    expect(await keyv.get(['x', 'nope', 'y'])).toEqual([1, undefined, [2]]);
    expect(await keyv.has('x')).toBe(true);
    expect(await keyv.has('nope')).toBe(false);
    expect(await keyv.has(['x', 'nope'])).toEqual([true, false]);
    expect(await keyv.delete(['x', 'nope'])).toBe(true);
    expect(await keyv.delete(['x', 'nope'])).toBe(false);
    expect(await sortedKeys()).toEqual(['keyv:y']);
  });

  it('refuses what is not a string (Keyv without a serializer): the set resolves false and Keyv emits the TypeError', async () => {
    const keyv = new Keyv({ store: new KeyvZCached(client), serialize: undefined as never, deserialize: undefined as never });
    const errors: unknown[] = [];
    keyv.on('error', (error: unknown) => errors.push(error));
    expect(await keyv.set('raw', { a: 1 })).toBe(false);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(TypeError);
    expect((errors[0] as Error).message).toBe(
      `KeyvZCached stores the strings Keyv's serializer makes; got object for "keyv:raw" (keep Keyv's serialize option)`,
    );
    expect(await sortedKeys()).toEqual([]);
  });

  it('a key holding a line feed is a DialectError: Keyv emits it and set resolves false, or rejects with throwOnErrors', async () => {
    const keyv = new Keyv({ store: new KeyvZCached(client) });
    const errors: unknown[] = [];
    keyv.on('error', (error: unknown) => errors.push(error));
    expect(await keyv.set('a\nb', 1)).toBe(false);
    expect(errors[0]).toBeInstanceOf(DialectError);
    expect(errors[0]).toMatchObject({ reason: 'line-feed', path: 'key' });
    const strict = new Keyv({ store: new KeyvZCached(client), throwOnErrors: true });
    strict.on('error', () => {});
    await expect(strict.set('a\nb', 1)).rejects.toBeInstanceOf(DialectError);
    // A serializer of your own that keeps line feeds meets the same check on values.
    const plain = new Keyv({ store: new KeyvZCached(client), serialize: (data) => `${String(data.value)}\n`, throwOnErrors: true });
    plain.on('error', () => {});
    await expect(plain.set('k', 'v')).rejects.toMatchObject({ reason: 'line-feed', path: 'value' });
    expect(await sortedKeys()).toEqual([]);
  });
});

describe('expiry', () => {
  it('an expired entry stays until read; reading it through Keyv removes it', async () => {
    const keyv = new Keyv({ store: new KeyvZCached(client) });
    await keyv.set('short', 'v', -1); // expires 1 ms in the past
    await keyv.set('long', 'v', 60_000);
    expect(await sortedKeys()).toEqual(['keyv:long', 'keyv:short']);
    expect(await keyv.has('short')).toBe(false); // not removed by has()
    expect(await keyv.has('long')).toBe(true);
    expect(await sortedKeys()).toEqual(['keyv:long', 'keyv:short']);
    expect(await keyv.get('short')).toBeUndefined();
    expect(await sortedKeys()).toEqual(['keyv:long']);
  });

  it('has() reads expires with opts.deserialize (JSON.parse by default); an entry it cannot read exists', async () => {
    const store = new KeyvZCached(client);
    await client.set('plain', 'not json');
    await client.set('past', JSON.stringify({ value: 1, expires: Date.now() - 1000 }));
    expect(await store.hasMany(['plain', 'past', 'none'])).toEqual([true, false, false]);
    store.opts.deserialize = () => ({ expires: 0 });
    expect(await store.has('plain')).toBe(false);
  });
});

describe('namespaces and clear()', () => {
  it('clears its namespace only: other namespaces and keys of other programs stay', async () => {
    const store = new KeyvZCached(client);
    const users = new Keyv({ store, namespace: 'users' });
    const cache = new Keyv({ store: new KeyvZCached(client), namespace: 'cache' });
    await users.set('1', 'u1');
    await users.set('2', 'u2');
    await cache.set('1', 'c1');
    await client.set('usersx:1', 'other');
    await client.set('plain', 'other');
    await users.clear();
    expect(await sortedKeys()).toEqual(['cache:1', 'plain', 'usersx:1']);
    expect(await cache.get('1')).toBe('c1');
  });

  it('without a namespace, clears the keys that hold no ":"', async () => {
    const store = new KeyvZCached(client);
    const bare = new Keyv({ store, namespace: undefined as never });
    expect(store.namespace).toBeUndefined();
    await bare.set('a', 1);
    await bare.set('b', 2);
    await client.set('ns:c', 'other');
    expect(await sortedKeys()).toEqual(['a', 'b', 'ns:c']);
    await bare.clear();
    expect(await sortedKeys()).toEqual(['ns:c']);
  });

  it('clears in batches of batchSize (more keys than one batch)', async () => {
    const store = new KeyvZCached(client, { batchSize: 3 });
    const keyv = new Keyv({ store, namespace: 'many' });
    await keyv.setMany(Array.from({ length: 10 }, (_, i) => ({ key: String(i), value: i })));
    await client.set('keep', 1);
    await keyv.clear();
    expect(await sortedKeys()).toEqual(['keep']);
  });

  it('iterator(namespace) yields every entry of the namespace across MGET batches; through Keyv, values without the prefix', async () => {
    const store = new KeyvZCached(client, { batchSize: 2 });
    const keyv = new Keyv({ store, namespace: 'it' });
    keyv.iterator = keyv.generateIterator(store.iterator.bind(store) as never);
    const entries = Array.from({ length: 5 }, (_, i) => ({ key: `k${i}`, value: i }));
    await keyv.setMany(entries);
    await client.set('other:k0', 'x');
    const raw: unknown[] = [];
    for await (const entry of store.iterator('it')) raw.push(entry);
    expect(raw.map((entry) => (entry as string[])[0]).sort()).toEqual(['it:k0', 'it:k1', 'it:k2', 'it:k3', 'it:k4']);
    const seen = new Map<string, unknown>();
    for await (const [key, value] of keyv.iterator(undefined)) seen.set(key as string, value);
    expect(seen).toEqual(new Map(entries.map(({ key, value }) => [key, value])));
  });
});

describe('the client', () => {
  it('a client it was given stays open after disconnect(); one it made from a URL is closed', async () => {
    const given = new Keyv({ store: new KeyvZCached(client) });
    await given.set('k', 1);
    await given.disconnect();
    expect(await client.ping()).toBe('PONG');

    const accepted = server.stats.connectionsAccepted;
    const owned = new KeyvZCached(`zcached://127.0.0.1:${server.port}`);
    expect(owned.opts.url).toBe(`zcached://127.0.0.1:${server.port}`);
    const keyv = new Keyv({ store: owned });
    expect(await keyv.get('k')).toBe(1); // connects on first use
    expect(server.stats.connectionsAccepted).toBe(accepted + 1);
    await keyv.disconnect();
    await until(() => server.stats.openConnections === 1); // only the shared client's
    await expect(owned.get('keyv:k')).rejects.toMatchObject({ code: 'ECLOSED' });
  });

  it('makes its client from ZCached options too, and checks batchSize', async () => {
    const owned = new KeyvZCached({ port: server.port, poolSize: 1 });
    expect(owned.opts).toEqual({ dialect: 'zcached', url: `zcached://127.0.0.1:${server.port}` });
    expect(await owned.get('nothing')).toBeUndefined();
    await owned.disconnect();
    expect(() => new KeyvZCached(client, { batchSize: 0 })).toThrow(new RangeError('batchSize must be a positive integer, got 0'));
  });

  it('sends raw commands: a client with a value codec works as a plain one', async () => {
    await using json = new ZCached({ port: server.port, codec: 'json' });
    const keyv = new Keyv({ store: new KeyvZCached(json) });
    await keyv.set('j', { a: 1 });
    expect(await keyv.get('j')).toEqual({ a: 1 });
    expect(await client.get('keyv:j')).toBe('{"value":{"a":1}}');
  });
});
