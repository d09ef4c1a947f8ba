/**
 * The fleet reads bytes per call as `ZCached` does: `getBuffer` on the
 * key's server, `mgetBuffer` split by server and merged in the caller's
 * key order; `get` and `mget` stay strings (and decoded with a codec).
 */
import { describe, expect, it } from 'vitest';
import { ZCachedFleet } from '../../src/fleet/fleet.js';
import { startServer } from '../../src/testing/server.js';

const NOT_UTF8 = Buffer.from([0xff, 0xfe, 0x80, 0x41, 0xc3]);

describe('ZCachedFleet bytes per call', () => {
  it('getBuffer and mgetBuffer give the stored bytes over several servers; get and mget stay strings', async () => {
    await using one = await startServer();
    await using two = await startServer();
    await using fleet = new ZCachedFleet({ servers: [`zcached://127.0.0.1:${one.port}`, `zcached://127.0.0.1:${two.port}`] });
    await fleet.run();
    const keys = Array.from({ length: 12 }, (_, index) => `k${index}`);
    await fleet.mset(keys.map((key) => [key, NOT_UTF8] as const));
    await fleet.set('text', 'alpha');
    expect(new Set(keys.map((key) => fleet.serverFor(key))).size).toBe(2);
    expect(await fleet.getBuffer('k1')).toEqual(NOT_UTF8);
    expect(await fleet.getBuffer('missing')).toBeUndefined();
    const values = await fleet.mgetBuffer([...keys, 'text', 'missing']);
    expect([...values.keys()]).toEqual([...keys, 'text', 'missing']);
    for (const key of keys) expect(values.get(key)).toEqual(NOT_UTF8);
    expect(values.get('text')).toEqual(Buffer.from('alpha'));
    expect(values.get('missing')).toBeNull();
    expect(typeof (await fleet.get('k1'))).toBe('string');
    expect((await fleet.mget('text')).get('text')).toBe('alpha');
    expect(() => fleet.getBuffer(1 as never)).toThrow(/ZCachedFleet.getBuffer/);
    expect(await fleet.fp.getBuffer('k2')()).toEqual({ _tag: 'Right', right: NOT_UTF8 });
  });
});
