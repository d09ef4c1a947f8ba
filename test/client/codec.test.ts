import { afterAll, beforeAll, describe, expect, expectTypeOf, it } from 'vitest';
import { ZCached, type ZCachedOptions } from '../../src/client/client.js';
import type { ValueCodec } from '../../src/client/codec.js';
import { CodecError, DialectError, ZCachedError } from '../../src/errors.js';
import type { Reply } from '../../src/protocol/values.js';
import { startServer, type ZCachedServer } from '../../src/testing/server.js';

let server: ZCachedServer;
let raw: ZCached;
let json: ZCached<'json'>;

beforeAll(async () => {
  server = await startServer({ dialect: 'etx' });
  raw = new ZCached({ port: server.port });
  json = new ZCached({ port: server.port, codec: 'json' });
  await Promise.all([raw.run(), json.run()]);
});
afterAll(async () => {
  await Promise.all([raw?.close(), json?.close()]);
  await server?.close();
});

interface User {
  readonly name: string;
  readonly tags: string[];
}

describe("codec: 'json'", () => {
  it('stores the JSON text and gives back the parsed value', async () => {
    const user: User = { name: 'Ada', tags: ['a', 'b'] };
    await json.set('codec:user', user);
    expect(await raw.get('codec:user')).toBe('{"name":"Ada","tags":["a","b"]}');
    expect(await json.get<User>('codec:user')).toEqual(user);
    expect(await json.get('codec:missing')).toBeUndefined();
  });

  it('carries what the etx dialect refuses raw: line feeds, 0x03, empty strings', async () => {
    const value = { text: 'line 1\nline 2\u0003end', empty: '', nested: ['\n', '\r\n'] };
    expect(() => raw.set('codec:lf', value.text)).toThrow(DialectError);
    expect(() => raw.set('codec:empty', '')).toThrow(DialectError);
    await json.set('codec:lf', value);
    await json.set('codec:empty', '');
    expect(await json.get('codec:lf')).toEqual(value);
    expect(await json.get('codec:empty')).toBe('');
    // JSON escapes every control character below 0x20, 0x03 included.
    expect(await raw.get('codec:lf')).toContain('\\u0003');
  });

  it('mget decodes each value; a missing key is undefined, a stored JSON null is null', async () => {
    await json.mset({ 'codec:m1': { n: 1 }, 'codec:m2': null, 'codec:m3': [1, 'two'] });
    const got = await json.mget('codec:m1', 'codec:m2', 'codec:m3', 'codec:none');
    expect([...got]).toEqual([
      ['codec:m1', { n: 1 }],
      ['codec:m2', null],
      ['codec:m3', [1, 'two']],
      ['codec:none', undefined],
    ]);
    // mset accepts a Map and [key, value] pairs too.
    await json.mset(new Map([['codec:m4', { a: true }]]));
    await json.mset([['codec:m5', 'x']]);
    expect([...(await json.mget('codec:m4', 'codec:m5'))]).toEqual([
      ['codec:m4', { a: true }],
      ['codec:m5', 'x'],
    ]);
  });

  it('follows toJSON (a Date becomes its ISO text) and leaves out undefined properties, as JSON does', async () => {
    const at = new Date(Date.UTC(2026, 0, 2, 3, 4, 5));
    await json.set('codec:date', { at, gone: undefined });
    expect(await json.get('codec:date')).toEqual({ at: '2026-01-02T03:04:05.000Z' });
  });

  it.each([
    ['undefined', undefined, 'SET "codec:bad": the value is undefined, which JSON cannot store; nothing was sent'],
    ['a function', { a: { f: () => 1 } }, 'SET "codec:bad": value.a.f is a function, which JSON cannot store; nothing was sent'],
    ['a symbol', [1, Symbol('s')], 'SET "codec:bad": value[1] is a symbol, which JSON cannot store; nothing was sent'],
    ['a bigint', { 'odd key': 1n }, 'SET "codec:bad": value["odd key"] is a bigint, which JSON cannot store (store it as a string); nothing was sent'],
    ['NaN', { n: NaN }, 'SET "codec:bad": value.n is NaN, which JSON would store as null; nothing was sent'],
    ['Infinity', [Infinity], 'SET "codec:bad": value[0] is Infinity, which JSON would store as null; nothing was sent'],
    ['-0', -0, 'SET "codec:bad": the value is -0, which JSON would store as 0; nothing was sent'],
    ['-0 deep inside', { a: [1, { b: -0 }] }, 'SET "codec:bad": value.a[1].b is -0, which JSON would store as 0; nothing was sent'],
    ['-0 given by toJSON()', { toJSON: () => -0 }, 'SET "codec:bad": the value is -0, which JSON would store as 0; nothing was sent'],
    ['undefined in an array', [1, undefined], 'SET "codec:bad": value[1] is undefined, which JSON would store as null; nothing was sent'],
    ['a Map', { m: new Map([['a', 1]]) }, 'SET "codec:bad": value.m is a Map, which JSON would store as {} (convert it to an array or object); nothing was sent'],
    ['a Set', new Set([1]), 'SET "codec:bad": the value is a Set, which JSON would store as {} (convert it to an array or object); nothing was sent'],
    ['bytes', { b: Buffer.from('x') }, 'SET "codec:bad": value.b is binary data, which JSON would not give back as bytes (store it as base64 text); nothing was sent'],
  ])('refuses %s with a TypeError naming the part, before sending anything', async (_, value, message) => {
    const before = server.stats.requests;
    expect(() => json.set('codec:bad', value)).toThrow(new TypeError(message));
    expect(server.stats.requests).toBe(before);
    expect(await json.get('codec:bad')).toBeUndefined();
  });

  it('refuses a cyclic value, with JSON.stringify’s error as the cause', () => {
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic['self'] = cyclic;
    let error: unknown;
    try {
      void json.set('codec:bad', cyclic);
    } catch (thrown) {
      error = thrown;
    }
    expect(error).toBeInstanceOf(TypeError);
    expect((error as Error).message).toMatch(/^SET "codec:bad": the value cannot be stored as JSON \(Converting circular structure to JSON.*\); nothing was sent$/);
    expect((error as Error).cause).toBeInstanceOf(TypeError);
  });

  it('names the mset entry whose value it refuses', () => {
    expect(() => json.mset([['codec:ok', 1], ['codec:f', () => 1]])).toThrow(
      new TypeError('MSET entry 2 (key "codec:f"): the value is a function, which JSON cannot store; nothing was sent'),
    );
    expect(() => json.mset({ 'codec:ok': 0, 'codec:z': [-0] })).toThrow(
      new TypeError('MSET entry 2 (key "codec:z"): value[0] is -0, which JSON would store as 0; nothing was sent'),
    );
    // Malformed entries keep the messages of the raw client.
    expect(() => json.mset([['codec:ok']] as never)).toThrow(new TypeError('mset entries must be [key, value] pairs'));
    expect(() => json.mset([])).toThrow(new RangeError('mset needs at least one entry'));
  });

  it('rejects with a CodecError naming the key when the stored value is not JSON text', async () => {
    await raw.set('codec:text', 'not json');
    await raw.set('codec:number', 42);
    const notJson = await json.get('codec:text').catch((error: unknown) => error);
    expect(notJson).toBeInstanceOf(CodecError);
    expect(notJson).toBeInstanceOf(ZCachedError);
    expect(notJson).toMatchObject({ name: 'CodecError', code: 'ECODEC', key: 'codec:text', codec: 'json' });
    expect((notJson as Error).message).toMatch(/^the value stored under "codec:text" could not be decoded by the 'json' codec: .*JSON/);
    expect((notJson as Error).cause).toBeInstanceOf(SyntaxError);
    const notText = await json.mget('codec:m1', 'codec:number').catch((error: unknown) => error);
    expect(notText).toMatchObject({ code: 'ECODEC', key: 'codec:number' });
    expect((notText as Error).message).toContain("it holds a number, not JSON text (was it written without the 'json' codec?)");
    // exists() does not decode.
    expect(await json.exists('codec:text')).toBe(true);
  });
});

describe('a codec of your own', () => {
  /** Stores points as "x,y" text. */
  const pointCodec: ValueCodec<{ x: number; y: number }> = {
    name: 'point',
    encode: ({ x, y }) => `${x},${y}`,
    decode: (stored) => {
      const match = typeof stored === 'string' ? /^(-?\d+),(-?\d+)$/.exec(stored) : null;
      if (match === null) throw new RangeError(`not a point: ${String(stored)}`);
      return { x: Number(match[1]), y: Number(match[2]) };
    },
  };

  it('encodes on set and mset, decodes on get and mget', async () => {
    await using points = new ZCached({ port: server.port, codec: pointCodec });
    await points.run();
    await points.set('codec:p1', { x: 1, y: -2 });
    await points.mset({ 'codec:p2': { x: 3, y: 4 } });
    expect(await raw.get('codec:p1')).toBe('1,-2');
    expect(await points.get('codec:p1')).toEqual({ x: 1, y: -2 });
    expect([...(await points.mget('codec:p1', 'codec:p2', 'codec:p3'))]).toEqual([
      ['codec:p1', { x: 1, y: -2 }],
      ['codec:p2', { x: 3, y: 4 }],
      ['codec:p3', undefined],
    ]);
  });

  it("wraps what decode throws in a CodecError (the thrown error as cause); encode's errors are thrown as they are", async () => {
    await using points = new ZCached({ port: server.port, codec: pointCodec });
    await points.run();
    await raw.set('codec:notpoint', 'abc');
    const error = await points.get('codec:notpoint').catch((thrown: unknown) => thrown);
    expect(error).toMatchObject({ code: 'ECODEC', key: 'codec:notpoint', codec: 'point' });
    expect((error as Error).message).toBe(`the value stored under "codec:notpoint" could not be decoded by the 'point' codec: not a point: abc`);
    expect((error as Error).cause).toBeInstanceOf(RangeError);
    const failing: ValueCodec<string> = {
      encode: () => {
        throw new RangeError('too long');
      },
      decode: String,
    };
    await using client = new ZCached({ port: server.port, codec: failing });
    expect(() => client.set('codec:x', 'x')).toThrow(new RangeError('too long'));
  });

  it('goes through the dialect checks: an encoded value the dialect cannot carry is a DialectError', async () => {
    const lines: ValueCodec<string[]> = { encode: (v) => v.join('\n'), decode: (s) => String(s).split('\n') };
    await using client = new ZCached({ port: server.port, codec: lines });
    expect(() => client.set('codec:lines', ['a', 'b'])).toThrow(DialectError);
  });

  it.each([
    ['a string other than json', 'yaml', `codec must be 'json' or an object with encode(value) and decode(stored) functions, got "yaml"`],
    ['null', null, `codec must be 'json' or an object with encode(value) and decode(stored) functions, got null`],
    ['an object without decode', { encode: String }, `codec must be 'json' or an object with encode(value) and decode(stored) functions, got object`],
    ['a name that is not a string', { encode: String, decode: String, name: 1 }, 'codec.name must be a string when given'],
  ])('refuses %s as the codec option, in the constructor', (_, codec, message) => {
    expect(() => new ZCached({ port: server.port, codec: codec as never })).toThrow(new TypeError(message));
  });
});

describe('without a codec (the default)', () => {
  it('keeps the raw mapping: values as they are, null for a missing mget key', async () => {
    await raw.set('codec:raw', new Map([['a', 1]]));
    expect(await raw.get('codec:raw')).toEqual(new Map([['a', 1]]));
    expect([...(await raw.mget('codec:raw', 'codec:nothing'))]).toEqual([
      ['codec:raw', new Map([['a', 1]])],
      ['codec:nothing', null],
    ]);
  });

  it('types: raw Reply without a codec, unknown (or your T) with json, the codec’s type with your own', () => {
    // Checked by the compiler (`npm run typecheck`), not at run time: nothing here is called.
    const types = (dates: ZCached<ValueCodec<Date>>): void => {
      expectTypeOf(raw.get('k')).toEqualTypeOf<Promise<Reply | undefined>>();
      expectTypeOf(raw.mget('k')).toEqualTypeOf<Promise<Map<string, Reply>>>();
      expectTypeOf(json.get('k')).toEqualTypeOf<Promise<unknown>>();
      expectTypeOf(json.get<User>('k')).toEqualTypeOf<Promise<User | undefined>>();
      expectTypeOf(json.mget<User>('k')).toEqualTypeOf<Promise<Map<string, User | undefined>>>();
      expectTypeOf(dates.get('k')).toEqualTypeOf<Promise<Date | undefined>>();
      expectTypeOf(dates.set).parameter(1).toEqualTypeOf<Date>();
      const codec: ValueCodec<Date> = { encode: (d) => d.toISOString(), decode: (s) => new Date(String(s)) };
      expectTypeOf(new ZCached({ codec })).toEqualTypeOf<ZCached<ValueCodec<Date>>>();
      expectTypeOf(new ZCached({ codec: 'json' })).toEqualTypeOf<ZCached<'json'>>();
      expectTypeOf(new ZCached()).toEqualTypeOf<ZCached>();
      const options: ZCachedOptions = { poolSize: 2 };
      expectTypeOf(new ZCached(options)).toEqualTypeOf<ZCached>();
    };
    expect(types).toBeTypeOf('function');
  });
});
