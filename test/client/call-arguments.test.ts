/**
 * Issue 18, item 4: every call of `ZCached` (and of its `fp` view) checks
 * its arguments at run time, for plain-JavaScript callers whom TypeScript
 * never checks: argument count and types, per-call options. A refused call
 * throws a TypeError (a RangeError for a timeout out of range) naming the
 * method and the cause, and sends nothing: each case below counts the
 * requests the embedded server handled around it (the refused call, then
 * one PING: exactly one more request).
 *
 * Other clients' habits: `mget(['a', 'b'])` (ioredis) is taken, every other
 * one is refused with the call to make.
 */
import fc from 'fast-check';
import * as E from 'fp-ts/lib/Either.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ZCached } from '../../src/client/client.js';
import { InvalidArgumentError } from '../../src/errors.js';
import { startServer, type ZCachedServer } from '../../src/testing/server.js';
import { sleep } from '../support.js';
import { typoOf as anyTypo } from '../typos.js';

type Call = (client: ZCached) => unknown;
type ErrorClass = new (...args: never[]) => Error;

let server: ZCachedServer;
let client: ZCached;
/** Plain JavaScript: no types. */
let js: Record<string, (...args: unknown[]) => unknown>;

beforeAll(async () => {
  server = await startServer({ dialect: 'etx' });
  client = new ZCached({ port: server.port, dialect: 'etx', poolSize: 1 });
  await client.run();
  js = client as unknown as typeof js;
});
afterAll(async () => {
  await client.close();
  await server.close();
});

/** What `call` throws (undefined when it does not), after letting a promise it returned settle a little. */
async function thrownBy(call: () => unknown): Promise<unknown> {
  try {
    const result = call();
    // Old code: the call was taken and sent; let it finish so that the counts below see it.
    if (result instanceof Promise) await Promise.race([result.catch(() => undefined), sleep(500)]);
    return undefined;
  } catch (error) {
    return error;
  }
}

/** The requests the server handled for `call` (a PING follows it, and is not counted). */
async function requestsSentBy(call: () => unknown): Promise<number> {
  const before = server.stats.requests;
  try {
    const result = call();
    if (result instanceof Promise) await Promise.race([result.catch(() => undefined), sleep(500)]);
  } catch {
    // counted below either way
  }
  await client.ping();
  return server.stats.requests - before - 1;
}

async function expectRefused(call: () => unknown, errorClass: ErrorClass, message: RegExp): Promise<void> {
  const before = server.stats.requests;
  const error = await thrownBy(call);
  expect(error, 'the call was taken').toBeInstanceOf(errorClass);
  expect((error as Error).message).toMatch(message);
  await client.ping();
  expect(server.stats.requests - before, 'requests sent besides the PING').toBe(1);
}

const NO_EXPIRY = /^ZCached\.set: zcached has no expiry \(.+ given\): keys live until they are deleted or flushed\. For entries that expire, use Keyv over the zcached\/keyv adapter and Keyv's ttl: .+; nothing was sent$/;

describe("the issue's plain-JavaScript calls: refused, nothing sent", () => {
  const issue: [string, Call, ErrorClass, RegExp][] = [
    [`delete('a', 'b')`, () => js.delete!('a', 'b'), TypeError,
      /^ZCached\.delete takes \(key, options\?\): options must be an object \{ signal\?, timeout\? \}, got the string "b"; zcached's DELETE deletes one key: to delete several, await Promise\.all\(keys\.map\(\(key\) => client\.delete\(key\)\)\)$/],
    [`get('k', { timout: 200 })`, () => js.get!('k', { timout: 200 }), TypeError, /^ZCached\.get: unknown option "timout"; did you mean timeout\?$/],
    [`get('k', 200)`, () => js.get!('k', 200), TypeError,
      /^ZCached\.get takes \(key, options\?\): options must be an object \{ signal\?, timeout\? \}, got the number 200; for a time limit, pass \{ timeout: 200 \}$/],
    [`set('k', 'v', 'EX', 10)`, () => js.set!('k', 'v', 'EX', 10), TypeError, NO_EXPIRY],
    [`set('k', 'v', { ttl: 10 })`, () => js.set!('k', 'v', { ttl: 10 }), TypeError, NO_EXPIRY],
    [`set('k')`, () => js.set!('k'), TypeError, /^ZCached\.set takes \(key, value, options\?\): at least 2 arguments, got 1 \(nothing is sent for a value not given\)$/],
    [`ping('x', 'y')`, () => js.ping!('x', 'y'), TypeError, /^ZCached\.ping takes \(options\?\): at most 1 argument, got 2; PING takes no message: use echo\(message\)$/],
    [`echo('a', 'b')`, () => js.echo!('a', 'b'), TypeError,
      /^ZCached\.echo takes \(message, options\?\): options must be an object \{ signal\?, timeout\? \}, got the string "b"; ECHO takes one message$/],
  ];
  it.each(issue)('%s', async (_, call, errorClass, message) => {
    await expectRefused(() => call(client), errorClass, message);
  });

  it(`delete('a', 'b') deletes nothing; set('k', 'v', 'EX', 10) stores nothing`, async () => {
    await client.mset({ a: 1, b: 2 });
    await thrownBy(() => js.delete!('a', 'b'));
    await client.delete('k');
    await thrownBy(() => js.set!('k', 'v', 'EX', 10));
    await thrownBy(() => js.set!('k', 'v', { ttl: 10 }));
    expect(await client.mget('a', 'b', 'k')).toEqual(new Map<string, unknown>([['a', 1], ['b', 2], ['k', null]]));
  });
});

describe("other clients' habits", () => {
  it(`mget(['a', 'b']) (ioredis) is taken: the keys of the array, in one MGET`, async () => {
    await client.mset({ a: 1, b: 2 });
    let map: Map<string, unknown> | undefined;
    expect(await requestsSentBy(async () => (map = await client.mget(['a', 'b', 'missing'])))).toBe(1);
    expect(map).toEqual(new Map<string, unknown>([['a', 1], ['b', 2], ['missing', null]]));
    expect(await client.mget(['b'], { timeout: 1_000 })).toEqual(new Map([['b', 2]]));
    // A trailing undefined stands for no options (forwarding an optional options object).
    expect(await client.mget('a', 'b', undefined as never)).toEqual(new Map([['a', 1], ['b', 2]]));
  });

  const expiry: [string, Call][] = [
    [`set('k', 'v', 'PX', 100)`, () => js.set!('k', 'v', 'PX', 100)],
    [`set('k', 'v', 'ex', 10)`, () => js.set!('k', 'v', 'ex', 10)],
    [`set('k', 'v', 'KEEPTTL')`, () => js.set!('k', 'v', 'KEEPTTL')],
    [`set('k', 'v', 10) (a TTL, as Keyv and node-cache take it)`, () => js.set!('k', 'v', 10)],
    [`set('k', 'v', { EX: 10 })`, () => js.set!('k', 'v', { EX: 10 })],
    [`set('k', 'v', { ex: 10 })`, () => js.set!('k', 'v', { ex: 10 })],
    [`set('k', 'v', { px: 100 })`, () => js.set!('k', 'v', { px: 100 })],
    [`set('k', 'v', { expiresIn: 10 })`, () => js.set!('k', 'v', { expiresIn: 10 })],
    [`set('k', 'v', { timeout: 100, maxAge: 10 })`, () => js.set!('k', 'v', { timeout: 100, maxAge: 10 })],
  ];
  it.each(expiry)('%s: refused, zcached has no expiry, see the Keyv adapter', async (_, call) => {
    await expectRefused(() => call(client), TypeError, NO_EXPIRY);
  });

  const refused: [string, Call, RegExp][] = [
    [`set('k', 'v', 'NX')`, () => js.set!('k', 'v', 'NX'), /^ZCached\.set takes \(key, value, options\?\): .*got the string "NX"; zcached's SET takes no flags/],
    [`get('k', { ttl: 10 })`, () => js.get!('k', { ttl: 10 }), /^ZCached\.get: zcached has no expiry \(option "ttl" given\)/],
    [`get('a', 'b')`, () => js.get!('a', 'b'), /got the string "b"; get takes one key: for several, use mget\(\.\.\.keys\)$/],
    [`exists('a', 'b')`, () => js.exists!('a', 'b'), /^ZCached\.exists takes \(key, options\?\): .*got the string "b"; exists takes one key/],
    [`keys('user:*')`, () => js.keys!('user:*'), /^ZCached\.keys takes \(options\?\): .*got the string "user:\*"; zcached's KEYS takes no pattern: keys\(\) returns every key$/],
    [`mset('a', 1, 'b', 2)`, () => js.mset!('a', 1, 'b', 2), /^ZCached\.mset takes \(entries, options\?\): at most 2 arguments, got 4; pass every entry in one Map, object or \[key, value\] pairs: mset\(\{ a: 1, b: 2 \}\)$/],
    [`mget('a', ['b'])`, () => js.mget!('a', ['b']), /^ZCached\.mget takes .*not an array among other arguments$/],
    [`mget(['a'], ['b'])`, () => js.mget!(['a'], ['b']), /not an array among other arguments/],
    [`mget(['a'], {}, {})`, () => js.mget!(['a'], {}, {}), /not an array among other arguments/],
    [`copy('a', 'b', true)`, () => js.copy!('a', 'b', true), /^ZCached\.copy takes \(source, destination, options\?\): options must be an object \{ replace\?, signal\?, timeout\? \}, got the boolean true; pass \{ replace: true \}$/],
    [`sendCommand('GET', 'k')`, () => js.sendCommand!('GET', 'k'), /^ZCached\.sendCommand: command must be an array \[name, \.\.\.arguments\], got the string "GET"; the command is one array: sendCommand\(\['GET', 'key'\]\)$/],
  ];
  it.each(refused)('%s: refused with the call to make', async (_, call, message) => {
    await expectRefused(() => call(client), TypeError, message);
  });
});

describe('argument count, on every method', () => {
  const tooMany: [string, Call, RegExp][] = [
    ['ping', () => js.ping!({}, 1), /^ZCached\.ping takes \(options\?\): at most 1 argument, got 2/],
    ['get', () => js.get!('a', {}, 'c'), /^ZCached\.get takes \(key, options\?\): at most 2 arguments, got 3/],
    ['set', () => js.set!('k', 'v', {}, {}), /^ZCached\.set takes \(key, value, options\?\): at most 3 arguments, got 4/],
    ['delete', () => js.delete!('a', {}, 'c'), /^ZCached\.delete takes \(key, options\?\): at most 2 arguments, got 3; zcached's DELETE deletes one key/],
    ['exists', () => js.exists!('a', undefined, undefined), /^ZCached\.exists takes \(key, options\?\): at most 2 arguments, got 3/],
    ['flush', () => js.flush!({}, 1), /^ZCached\.flush takes \(options\?\): at most 1 argument, got 2$/],
    ['dbsize', () => js.dbsize!(undefined, undefined), /^ZCached\.dbsize takes \(options\?\): at most 1 argument, got 2$/],
    ['save', () => js.save!({}, {}), /^ZCached\.save takes \(options\?\)/],
    ['lastsave', () => js.lastsave!({}, {}), /^ZCached\.lastsave takes \(options\?\)/],
    ['keys', () => js.keys!({}, '*'), /^ZCached\.keys takes \(options\?\): at most 1 argument, got 2/],
    ['mset', () => js.mset!({ a: 1 }, {}, {}), /^ZCached\.mset takes \(entries, options\?\): at most 2 arguments, got 3/],
    ['echo', () => js.echo!('m', {}, 'x'), /^ZCached\.echo takes \(message, options\?\): at most 2 arguments, got 3/],
    ['sizeof', () => js.sizeof!('a', {}, 'b'), /^ZCached\.sizeof takes \(key, options\?\): at most 2 arguments, got 3/],
    ['rename', () => js.rename!('a', 'b', {}, 'c'), /^ZCached\.rename takes \(key, newKey, options\?\): at most 3 arguments, got 4$/],
    ['copy', () => js.copy!('a', 'b', {}, true), /^ZCached\.copy takes \(source, destination, options\?\): at most 3 arguments, got 4$/],
    ['isAlive', () => js.isAlive!({}, 1), /^ZCached\.isAlive takes \(options\?\): at most 1 argument, got 2$/],
    ['sendCommand', () => js.sendCommand!(['PING'], {}, 1), /^ZCached\.sendCommand takes \(command, options\?\): at most 2 arguments, got 3/],
    ['run', () => js.run!({}), /^ZCached\.run takes \(\): no arguments, got 1$/],
  ];
  it.each(tooMany)('%s', async (_, call, message) => {
    await expectRefused(() => call(client), TypeError, message);
  });

  it('close: at most one argument (a client of its own: the old code would close it)', async () => {
    const own = new ZCached({ port: server.port, dialect: 'etx', poolSize: 1 });
    try {
      await own.run();
      expect(await thrownBy(() => (own as unknown as typeof js).close!({}, 1))).toEqual(new TypeError('ZCached.close takes (options?): at most 1 argument, got 2'));
      expect(await own.ping()).toBe('PONG');
    } finally {
      await own.close();
    }
  });
});

describe('argument types and options, on every method', () => {
  const controller = new AbortController();
  const typeErrors: [string, Call, RegExp][] = [
    ['get()', () => js.get!(), /^ZCached\.get: key must be a string, got undefined$/],
    ['get(42)', () => js.get!(42), /^ZCached\.get: key must be a string, got the number 42$/],
    ['set(null, v)', () => js.set!(null, 'v'), /^ZCached\.set: key must be a string, got null$/],
    ['delete([a])', () => js.delete!(['a']), /^ZCached\.delete: key must be a string, got an array$/],
    ['exists(undefined)', () => js.exists!(undefined), /^ZCached\.exists: key must be a string/],
    ['echo(5)', () => js.echo!(5), /^ZCached\.echo: message must be a string, got the number 5$/],
    ['sizeof(symbol)', () => js.sizeof!(Symbol('k')), /^ZCached\.sizeof: key must be a string, got a symbol$/],
    ['rename(a, 1)', () => js.rename!('a', 1), /^ZCached\.rename: newKey must be a string, got the number 1$/],
    ['copy(1, b)', () => js.copy!(1, 'b'), /^ZCached\.copy: source must be a string/],
    ['copy(a, b, { replace: "yes" })', () => js.copy!('a', 'b', { replace: 'yes' }), /^ZCached\.copy: replace must be a boolean, got the string "yes"$/],
    ['copy(a, b, { replce })', () => js.copy!('a', 'b', { replce: true }), /^ZCached\.copy: unknown option "replce"; did you mean replace\?$/],
    ['mget(a, 1)', () => js.mget!('a', 1), /^ZCached\.mget: mget key #2 must be a string, got the number 1$/],
    ['mget([a, 1])', () => js.mget!(['a', 1]), /^ZCached\.mget: mget key #2 must be a string/],
    ['mget(a, { timout })', () => js.mget!('a', { timout: 1 }), /^ZCached\.mget: unknown option "timout"; did you mean timeout\?$/],
    ['mget([a], 5)', () => js.mget!(['a'], 5), /^ZCached\.mget takes .*got the number 5; for a time limit, pass \{ timeout: 5 \}$/],
    ['get(k, null)', () => js.get!('k', null), /options must be an object \{ signal\?, timeout\? \}, got null$/],
    ['get(k, [timeout])', () => js.get!('k', ['timeout']), /got an array$/],
    ['get(k, signal)', () => js.get!('k', controller.signal), /got an AbortSignal; pass it as \{ signal \}$/],
    ['get(k, new Map())', () => js.get!('k', new Map()), /got a Map$/],
    ['ping("hello")', () => js.ping!('hello'), /^ZCached\.ping takes \(options\?\): .*got the string "hello"; PING takes no message: use echo\(message\)$/],
    ['save("x")', () => js.save!('x'), /^ZCached\.save takes \(options\?\): options must be an object/],
    ['lastsave(100)', () => js.lastsave!(100), /pass \{ timeout: 100 \}$/],
    ['flush(true)', () => js.flush!(true), /^ZCached\.flush takes \(options\?\): .*got the boolean true$/],
    ['dbsize({ timeOut })', () => js.dbsize!({ timeOut: 5 }), /^ZCached\.dbsize: unknown option "timeOut"; did you mean timeout\?$/],
    ['isAlive("x")', () => js.isAlive!('x'), /^ZCached\.isAlive takes \(options\?\)/],
    ['mset(entries, { sgnal })', () => js.mset!({ a: 1 }, { sgnal: controller.signal }), /^ZCached\.mset: unknown option "sgnal"; did you mean signal\?$/],
    ['rename(a, b, "c")', () => js.rename!('a', 'b', 'c'), /^ZCached\.rename takes \(key, newKey, options\?\): .*got the string "c"$/],
    ['sendCommand([GET, k], { timout })', () => js.sendCommand!(['GET', 'k'], { timout: 1 }), /^ZCached\.sendCommand: unknown option "timout"; did you mean timeout\?$/],
    ['get(k, { signal: "x" })', () => js.get!('k', { signal: 'x' }), /^ZCached\.get: signal must be an AbortSignal, got the string "x"$/],
    ['get(k, { signal: {} })', () => js.get!('k', { signal: {} }), /^ZCached\.get: signal must be an AbortSignal, got an object$/],
    ['get(k, { timeout: "100" })', () => js.get!('k', { timeout: '100' }), /^ZCached\.get: timeout must be a number of milliseconds, got the string "100"$/],
  ];
  it.each(typeErrors)('%s: TypeError', async (_, call, message) => {
    await expectRefused(() => call(client), TypeError, message);
  });

  const rangeErrors: [string, Call, RegExp][] = [
    ['timeout 0', () => js.get!('k', { timeout: 0 }), /^ZCached\.get: timeout must be a positive integer \(ms\), got 0$/],
    ['timeout -5', () => js.set!('k', 'v', { timeout: -5 }), /^ZCached\.set: timeout must be a positive integer/],
    ['timeout 1.5', () => js.delete!('k', { timeout: 1.5 }), /^ZCached\.delete: timeout must be a positive integer \(ms\), got 1\.5$/],
    ['timeout NaN', () => js.ping!({ timeout: Number.NaN }), /^ZCached\.ping: timeout must be a positive integer/],
    ['timeout 2^31', () => js.keys!({ timeout: 2 ** 31 }), /^ZCached\.keys: timeout must be at most 2147483647 ms \(the longest timer Node\.js can hold\), got 2147483648$/],
  ];
  it.each(rangeErrors)('%s: RangeError', async (_, call, message) => {
    await expectRefused(() => call(client), RangeError, message);
  });

  it('correct calls are taken as before: no options, undefined, {}, undefined values, an object without prototype', async () => {
    await client.set('k', 'v');
    const none = Object.create(null) as { timeout?: number };
    none.timeout = 1_000;
    for (const options of [undefined, {}, { timeout: undefined, signal: undefined }, { timeout: 1_000, signal: controller.signal }, none]) {
      expect(await client.get('k', options)).toBe('v');
      expect(await client.exists('k', options)).toBe(true);
      expect(await client.ping(options)).toBe('PONG');
    }
    expect(await client.copy('k', 'k2', { replace: true, timeout: 1_000 })).toBe('OK');
    expect(await client.copy('k', 'k2', { replace: true })).toBe('OK');
    expect(await client.rename('k2', 'k3', {})).toBe('OK');
    expect(await client.delete('k3', undefined)).toBe(true);
    expect(await client.isAlive({ timeout: 1_000 })).toBe(true);
  });
});

describe('the fp view: refusals as InvalidArgumentError (the TypeError as cause), nothing sent', () => {
  const fpCalls: [string, (fp: Record<string, (...args: unknown[]) => () => Promise<unknown>>) => () => Promise<unknown>, RegExp][] = [
    [`delete('a', 'b')`, (fp) => fp.delete!('a', 'b'), /^ZCached\.delete takes \(key, options\?\)/],
    [`get('k', { timout: 200 })`, (fp) => fp.get!('k', { timout: 200 }), /^ZCached\.get: unknown option "timout"; did you mean timeout\?$/],
    [`get('k', 200)`, (fp) => fp.get!('k', 200), /got the number 200/],
    [`set('k', 'v', 'EX', 10)`, (fp) => fp.set!('k', 'v', 'EX', 10), NO_EXPIRY],
    [`set('k', 'v', { ttl: 10 })`, (fp) => fp.set!('k', 'v', { ttl: 10 }), NO_EXPIRY],
    [`ping('x', 'y')`, (fp) => fp.ping!('x', 'y'), /^ZCached\.ping takes/],
    [`echo('a', 'b')`, (fp) => fp.echo!('a', 'b'), /^ZCached\.echo takes/],
  ];
  it.each(fpCalls)('%s', async (_, make, message) => {
    const fp = client.fp as unknown as Parameters<(typeof fpCalls)[number][1]>[0];
    expect(await requestsSentBy(async () => {
      const result = (await make(fp)()) as E.Either<Error, unknown>;
      expect(E.isLeft(result)).toBe(true);
      const error = (result as E.Left<Error>).left;
      expect(error).toBeInstanceOf(InvalidArgumentError);
      expect(error.message).toMatch(message);
      expect(error.cause).toBeInstanceOf(TypeError);
    })).toBe(0);
  });

  it(`mget(['a', 'b']) is taken`, async () => {
    await client.mset({ a: 1, b: 2 });
    expect(await client.fp.mget(['a', 'b'])()).toEqual(E.right(new Map([['a', 1], ['b', 2]])));
  });
});

describe('property: an option name one edit away from a valid one is refused, naming it, nothing sent', () => {
  // EX and PX are expiry names (refused with their own message), not typos.
  const typoOf = (valid: readonly string[]) => anyTypo(valid).filter(({ typo }) => !/^(ex|px)$/i.test(typo));

  const REQUEST = ['signal', 'timeout'];
  const calls: [string, readonly string[], (options: object) => unknown][] = [
    ['get', REQUEST, (options) => js.get!('k', options)],
    ['set', REQUEST, (options) => js.set!('k', 'v', options)],
    ['delete', REQUEST, (options) => js.delete!('k', options)],
    ['mget', REQUEST, (options) => js.mget!('a', 'b', options)],
    ['keys', REQUEST, (options) => js.keys!(options)],
    ['sendCommand', REQUEST, (options) => js.sendCommand!(['PING'], options)],
    ['copy', ['replace', ...REQUEST], (options) => js.copy!('a', 'b', options)],
  ];
  it.each(calls)('ZCached.%s', async (method, valid, call) => {
    const before = server.stats.requests;
    fc.assert(
      fc.property(typoOf(valid), fc.boolean(), ({ typo }, withValid) => {
        const options = withValid ? { timeout: 1_000, [typo]: 1 } : { [typo]: 1 };
        let error: unknown;
        try {
          const result = call(options);
          if (result instanceof Promise) result.catch(() => undefined);
        } catch (thrown) {
          error = thrown;
        }
        expect(error).toBeInstanceOf(TypeError);
        const message = (error as TypeError).message;
        expect(message.startsWith(`ZCached.${method}: unknown option ${JSON.stringify(typo)}; did you mean `), message).toBe(true);
        const suggested = /did you mean (\S+)\?$/.exec(message)?.[1];
        expect(valid).toContain(suggested);
      }),
      { numRuns: 200 },
    );
    await client.ping();
    expect(server.stats.requests - before).toBe(1);
  });
});
