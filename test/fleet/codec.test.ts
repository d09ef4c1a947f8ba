/**
 * `ZCachedFleet` with a value codec, against embedded servers on 127.0.0.1,
 * 127.0.0.2 and 127.0.0.3: values encoded once before a command is split
 * by server and decoded after the parts are merged, with `ZCached`'s own
 * refusals (thrown at the call, nothing sent: the servers' request counters
 * do not move), its `CodecError`, its types, and a fast-check round trip of
 * any JSON value over the three servers.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, expectTypeOf, it } from 'vitest';
import { ZCached } from '../../src/client/client.js';
import type { ValueCodec } from '../../src/client/codec.js';
import { CodecError, ZCachedError } from '../../src/errors.js';
import { PartialFailureError, ZCachedFleet } from '../../src/fleet/index.js';
import type { Reply } from '../../src/protocol/values.js';
import type { ZCachedServer } from '../../src/testing/index.js';
import { refusedPort, until, watchUnhandledRejections } from '../support.js';
import { idOf, openResources, QUICK, startServers, untilResourcesBackTo } from './fleet-support.js';

const unhandled = watchUnhandledRejections();
let baseline: number;
let list: ZCachedServer[];
let json: ZCachedFleet<'json'>;
let raw: ZCachedFleet;

const urls = (): string[] => list.map((server) => `zcached://${server.host}:${server.port}`);
const requests = (): number => list.reduce((sum, server) => sum + server.stats.requests, 0);
const keys = (count: number, prefix: string): string[] => Array.from({ length: count }, (_, i) => `${prefix}:${i}`);

beforeAll(async () => {
  baseline = openResources();
  list = await startServers(3);
  json = new ZCachedFleet({ ...QUICK, servers: urls(), codec: 'json' });
  raw = new ZCachedFleet({ ...QUICK, servers: urls() });
  await Promise.all([json.run(), raw.run()]);
});
afterAll(async () => {
  await Promise.all([json?.close(), raw?.close()]);
  await Promise.all((list ?? []).map((server) => server.close()));
  await untilResourcesBackTo(baseline);
  expect(unhandled).toEqual([]);
});

interface User {
  readonly name: string;
  readonly bio: string;
  readonly tags: string[];
}

describe("ZCachedFleet with codec: 'json'", () => {
  it('set/get: stores the JSON text on the key’s server (multi-line text too) and gives back the value', async () => {
    const names = keys(48, 'user');
    // The keys reach every one of the three servers (ports are random, so placement is too: with 48 keys a server is left out once in ~10^8 runs; 12 left one out in ~2 %).
    expect(new Set(names.map((key) => json.serverFor(key)))).toEqual(new Set(list.map(idOf)));
    for (const [index, key] of names.entries()) {
      const user: User = { name: `user ${index}`, bio: `line one\nline two\r\nline ${index}\u0003`, tags: index % 2 === 0 ? [] : ['', 'x'] };
      expect(await json.set(key, user)).toBe('OK');
      expect(await json.get<User>(key)).toEqual(user);
      // What the server holds is the JSON text, on the server placement names.
      expect(await raw.get(key)).toBe(JSON.stringify(user));
      const owner = list.find((server) => idOf(server) === json.serverFor(key))!;
      expect(owner.store.get(key)).toBeDefined();
    }
    await json.set('user:empty', '');
    expect(await json.get('user:empty')).toBe('');
    expect(await json.get('user:missing')).toBeUndefined();
    expect(await json.exists('user:missing')).toBe(false);
  });

  it('mset/mget: spread over the three servers, merged in the caller’s order; a missing key is undefined, a stored null is null', async () => {
    const names = keys(30, 'multi');
    const values = names.map((key, index) => (index % 3 === 0 ? { key, lines: 'a\nb\nc' } : index % 3 === 1 ? [index, `x\n${index}`] : null));
    expect(await json.mset(names.map((key, index) => [key, values[index]] as const))).toBe('OK');
    for (const outcome of (await json.byServer.keys()).values()) {
      expect(outcome.status === 'fulfilled' && outcome.value.some((key) => key.startsWith('multi:'))).toBe(true);
    }
    const asked = [...names].reverse();
    asked.splice(4, 0, 'multi:missing', asked[2]!);
    const got = await json.mget(...asked, { timeout: 5_000 });
    expect([...got.keys()]).toEqual([...new Set(asked)]);
    for (const [key, value] of got) expect(value).toEqual(key === 'multi:missing' ? undefined : values[names.indexOf(key)]);
    expect(got.has('multi:missing')).toBe(true);
    // A Map and a plain object work as for ZCached.
    await json.mset(new Map([['multi:map', { a: true }]]));
    await json.mset({ 'multi:object': 'line\nfeed' });
    expect([...(await json.mget('multi:map', 'multi:object'))]).toEqual([
      ['multi:map', { a: true }],
      ['multi:object', 'line\nfeed'],
    ]);
    // Without a codec the fleet reads the JSON text, and null for the missing key.
    expect([...(await raw.mget('multi:0', 'multi:missing'))]).toEqual([
      ['multi:0', JSON.stringify(values[0])],
      ['multi:missing', null],
    ]);
  });

  it('refuses what JSON would change, at the call, with ZCached’s messages; nothing is sent', async () => {
    const single = new ZCached({ port: list[0]!.port, codec: 'json' }); // never run: only its synchronous refusals are used
    const thrown = (call: () => unknown): unknown => {
      try {
        call();
      } catch (error) {
        return error;
      }
      return undefined;
    };
    const before = requests();
    const cyclic: Record<string, unknown> = {};
    cyclic['self'] = cyclic;
    const bad: unknown[] = [undefined, () => 1, Symbol('s'), 10n, NaN, -Infinity, -0, { a: [1, { b: -0 }] }, [1, undefined], new Map(), new Set([1]), Buffer.from('x'), cyclic];
    for (const value of bad) {
      const error = thrown(() => json.set('bad:key', value));
      expect(error).toBeInstanceOf(TypeError);
      expect((error as Error).message).toBe((thrown(() => single.set('bad:key', value)) as Error).message);
      expect((error as Error).message).toMatch(/^SET "bad:key": .*nothing was sent$/);
    }
    // mset: the entry is named in the caller's numbering, whichever server its key is on.
    const names = keys(9, 'bad');
    const entries: [string, unknown][] = names.map((key) => [key, { ok: key }]);
    entries[6] = [names[6]!, { when: 1n }];
    const message = 'MSET entry 7 (key "bad:6"): value.when is a bigint, which JSON cannot store (store it as a string); nothing was sent';
    expect(() => json.mset(entries)).toThrow(new TypeError(message));
    expect(() => single.mset(entries)).toThrow(new TypeError(message));
    expect(() => json.mset([['bad:0']] as never)).toThrow(new TypeError('mset entries must be [key, value] pairs'));
    expect(() => json.mset([])).toThrow(new RangeError('mset needs at least one entry'));
    expect(requests()).toBe(before);
    expect(await raw.mget(...names)).toEqual(new Map(names.map((key) => [key, null])));

    // Before any server is known too: the refusal wins over NoServerError.
    await using empty = new ZCachedFleet({ servers: [], codec: 'json' });
    expect(() => empty.set('k', undefined)).toThrow(TypeError);
    expect(() => empty.mset({ k: NaN })).toThrow(TypeError);
    await expect(empty.set('k', 1)).rejects.toMatchObject({ code: 'ENOSERVER' });
    await single.close();
  });

  it('rejects with a CodecError naming the key when a stored value is not JSON text; exists does not decode', async () => {
    const names = keys(6, 'text');
    await raw.mset(names.map((key, index) => [key, index === 4 ? 'not json' : JSON.stringify(index)] as const));
    await raw.set('text:number', 42);
    const notJson = await json.get('text:4').catch((error: unknown) => error);
    expect(notJson).toBeInstanceOf(CodecError);
    expect(notJson).toBeInstanceOf(ZCachedError);
    expect(notJson).toMatchObject({ name: 'CodecError', code: 'ECODEC', key: 'text:4', codec: 'json' });
    expect((notJson as Error).message).toMatch(/^the value stored under "text:4" could not be decoded by the 'json' codec: /);
    expect((notJson as Error).cause).toBeInstanceOf(SyntaxError);
    // mget over every server: the undecodable value rejects the call, as ZCached's mget does.
    expect(new Set(names.map((key) => json.serverFor(key))).size).toBeGreaterThan(1);
    await expect(json.mget(...names)).rejects.toMatchObject({ code: 'ECODEC', key: 'text:4' });
    await expect(json.mget('text:0', 'text:number')).rejects.toThrow("it holds a number, not JSON text (was it written without the 'json' codec?)");
    expect(await json.mget('text:0', 'text:1')).toEqual(new Map([['text:0', 0], ['text:1', 1]]));
    expect(await json.exists('text:4')).toBe(true);
  });

  it('decodes the values of a PartialFailureError too', async () => {
    const dead = `127.0.0.1:${await refusedPort()}`;
    await using fleet = new ZCachedFleet({ ...QUICK, servers: [...urls().slice(0, 2), dead], codec: 'json', failureLimit: 1, retryTimeout: 60_000 });
    await fleet.run();
    await until(() => fleet.state.servers.some((server) => server.id === dead && server.health !== 'up'));
    const names = [...keys(20, 'partial'), 'partial:none'];
    const alive = names.filter((key) => fleet.serverFor(key) !== dead);
    const lost = names.filter((key) => fleet.serverFor(key) === dead);
    expect(alive.length).toBeGreaterThan(0);
    expect(lost.length).toBeGreaterThan(0);
    const stored = alive.filter((key) => key !== 'partial:none');
    await fleet.mset(stored.map((key) => [key, { at: key, text: 'a\nb' }] as const));
    const error = await fleet.mget(...names).catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(PartialFailureError);
    const failure = error as PartialFailureError;
    expect(failure.failedKeys).toEqual(lost);
    expect(new Map(failure.values)).toEqual(new Map(alive.map((key) => [key, key === 'partial:none' ? undefined : { at: key, text: 'a\nb' }])));
  });

  it('is typed as ZCached is: ZCachedFleet<C>, get<T>(), mget with undefined, a codec of the fleet only', async () => {
    expectTypeOf(json).toEqualTypeOf<ZCachedFleet<'json'>>();
    expectTypeOf(json.get('k')).toEqualTypeOf<Promise<unknown>>();
    expectTypeOf(json.get<User>('k')).toEqualTypeOf<Promise<User | undefined>>();
    expectTypeOf(json.mget<User>('a', 'b')).toEqualTypeOf<Promise<Map<string, User | undefined>>>();
    expectTypeOf(json.set).parameter(1).toEqualTypeOf<unknown>();
    expectTypeOf(raw).toEqualTypeOf<ZCachedFleet>();
    expectTypeOf(raw.get('k')).toEqualTypeOf<Promise<Reply | undefined>>();
    expectTypeOf(raw.mget('a')).toEqualTypeOf<Promise<Map<string, Reply>>>();

    const point: ValueCodec<{ x: number; y: number }> = {
      name: 'point',
      encode: ({ x, y }) => `${x},${y}`,
      decode: (stored) => {
        const match = typeof stored === 'string' ? /^(-?\d+),(-?\d+)$/.exec(stored) : null;
        if (match === null) throw new RangeError(`not a point: ${String(stored)}`);
        return { x: Number(match[1]), y: Number(match[2]) };
      },
    };
    await using points = new ZCachedFleet({ ...QUICK, servers: urls(), codec: point });
    await points.run();
    expectTypeOf(points.get('p')).toEqualTypeOf<Promise<{ x: number; y: number } | undefined>>(); // (expectTypeOf runs its argument)
    await points.mset(keys(6, 'point').map((key, index) => [key, { x: index, y: -index }] as const));
    expect(await raw.get('point:5')).toBe('5,-5');
    expect(await points.mget('point:1', 'point:5', 'point:none')).toEqual(new Map([['point:1', { x: 1, y: -1 }], ['point:5', { x: 5, y: -5 }], ['point:none', undefined]]));
    await expect(points.get('text:4')).rejects.toMatchObject({ code: 'ECODEC', codec: 'point', cause: new RangeError('not a point: not json') });

    const check = (): void => {
      // @ts-expect-error a point codec takes points
      void points.set('p', 'text');
      // @ts-expect-error without a codec, values are protocol values
      void raw.set('k', undefined);
      // @ts-expect-error the codec is the fleet's, not a server's
      void new ZCachedFleet({ servers: [{ host: '127.0.0.1', codec: 'json' }] });
    };
    void check;
    expect(() => new ZCachedFleet({ servers: [{ host: '127.0.0.1', codec: 'json' } as never] })).toThrow(
      new TypeError('servers[0]: codec is an option of the whole fleet, not of one server (a key may move to another server): new ZCachedFleet({ servers, codec })'),
    );
    expect(() => new ZCachedFleet({ servers: ['zcached://127.0.0.1:7556?codec=json'] })).toThrow(/^servers\[0\]: option "codec" cannot be given in a URL: codec is an option of the whole fleet/);
    expect(() => new ZCachedFleet({ servers: [], codec: 'yaml' as never })).toThrow(new TypeError(`codec must be 'json' or an object with encode(value) and decode(stored) functions, got "yaml"`));
  });

  it('any JSON value round-trips through set/get and mset/mget over the three servers (fast-check)', async () => {
    const before = requests();
    let run = 0;
    // Strings of what the etx dialect refuses raw (line feeds, CR, 0x03, ''), so that every run meets them.
    const awkward = fc.string({ unit: fc.constantFrom('\n', '\r', '\u0003', 'a', '"', '\\', 'é', '🐢'), maxLength: 6 });
    // Through JSON once: -0 becomes 0 (the refusal of -0 is checked above).
    const value = fc
      .oneof(fc.jsonValue({ maxDepth: 3 }), awkward, fc.dictionary(awkward, fc.array(awkward, { maxLength: 3 }), { maxKeys: 3 }))
      .map((item) => JSON.parse(JSON.stringify(item)) as unknown);
    await fc.assert(
      fc.asyncProperty(value, fc.array(value, { minLength: 1, maxLength: 8 }), async (single, batch) => {
        const id = run++;
        await json.set(`prop:${id}`, single);
        expect(await json.get(`prop:${id}`)).toEqual(single);
        const names = batch.map((_, index) => `prop:${id}:${index}`);
        await json.mset(names.map((key, index) => [key, batch[index]] as const));
        expect([...(await json.mget(...names)).values()]).toEqual(batch);
      }),
      { numRuns: 60 },
    );
    expect(requests()).toBeGreaterThan(before);
    for (const server of list) expect(server.crashLog).toEqual([]);
  });
});
