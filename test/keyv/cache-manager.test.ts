/**
 * cache-manager 7 (on Keyv) over KeyvZCached and the faithful embedded
 * server: get/set/del, mset/mget, wrap (the function runs once, then the
 * cached value), a TTL that lapses, and disconnect leaving a given client open.
 */
import { createCache } from 'cache-manager';
import Keyv from 'keyv';
import { describe, expect, it } from 'vitest';
import type { ZCached } from '../../src/client/client.js';
import { KeyvZCached } from '../../src/keyv/index.js';
import { etxServerAndClient } from './keyv-support.js';

let client: ZCached;

etxServerAndClient((started) => ({ client } = started));

describe('cache-manager over KeyvZCached', () => {
  it('get, set, del, mset and mget go to the server', async () => {
    const cache = createCache({ stores: [new Keyv({ store: new KeyvZCached(client), namespace: 'cm' })] });
    expect(await cache.get('user')).toBeUndefined();
    await cache.set('user', { name: 'Ada', bio: 'two\nlines' });
    expect(await cache.get('user')).toEqual({ name: 'Ada', bio: 'two\nlines' });
    expect(JSON.parse((await client.get('cm:user')) as string)).toEqual({ value: { name: 'Ada', bio: 'two\nlines' } });
    await cache.mset<unknown>([
      { key: 'a', value: 1 },
      { key: 'b', value: 'two' },
    ]);
    expect(await cache.mget(['a', 'b', 'c'])).toEqual([1, 'two', undefined]);
    expect(await cache.del('user')).toBe(true);
    expect(await client.exists('cm:user')).toBe(false);
    await cache.clear();
    expect(await client.keys()).toEqual([]);
  });

  it('wrap runs the function once, then serves the cached value; a lapsed TTL runs it again', async () => {
    const cache = createCache({ stores: [new Keyv({ store: new KeyvZCached(client), namespace: 'wrap' })] });
    let calls = 0;
    const load = async (): Promise<{ n: number }> => ({ n: ++calls });
    expect(await cache.wrap('report', load, 60_000)).toEqual({ n: 1 });
    expect(await cache.wrap('report', load, 60_000)).toEqual({ n: 1 });
    expect(calls).toBe(1);
    expect(await client.exists('wrap:report')).toBe(true);
    // A TTL already past: the entry is stored, and the next wrap finds it expired.
    expect(await cache.wrap('stale', load, -1)).toEqual({ n: 2 });
    expect(await cache.wrap('stale', load, -1)).toEqual({ n: 3 });
    expect(calls).toBe(3);
  });

  it('disconnect() leaves a client it was given open', async () => {
    const cache = createCache({ stores: [new Keyv({ store: new KeyvZCached(client) })] });
    await cache.set('k', 'v');
    await cache.disconnect();
    expect(await client.ping()).toBe('PONG');
  });
});
