/**
 * Issue 18, item 4, for the fleet: every call of `ZCachedFleet`, of its
 * `byServer` commands and of its `fp` view checks its arguments at run time
 * as `ZCached` does (test/client/call-arguments.test.ts), with messages
 * naming `ZCachedFleet.<method>`; a refused call sends nothing to any
 * server (counted on every embedded server around the call, then one
 * fleet-wide PING: one request per server).
 */
import fc from 'fast-check';
import * as E from 'fp-ts/lib/Either.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../src/errors.js';
import { ZCachedFleet } from '../../src/fleet/index.js';
import { startServer, type ZCachedServer } from '../../src/testing/index.js';
import { sleep } from '../support.js';
import { HOSTS, fleetOver } from './fleet-support.js';
import { typoOf as anyTypo } from '../typos.js';

type ErrorClass = new (...args: never[]) => Error;
type Untyped = Record<string, (...args: unknown[]) => unknown>;

let servers: ZCachedServer[];
let fleet: ZCachedFleet;
/** Plain JavaScript: no types. */
let js: Untyped;
let byServer: Untyped;

beforeAll(async () => {
  servers = await Promise.all(HOSTS.slice(0, 2).map((host) => startServer({ host, dialect: 'etx' })));
  fleet = fleetOver(servers, { dialect: 'etx', poolSize: 1 });
  await fleet.run();
  js = fleet as unknown as Untyped;
  byServer = fleet.byServer as unknown as Untyped;
});
afterAll(async () => {
  await fleet.close();
  await Promise.all(servers.map((server) => server.close()));
});

const requests = (): number => servers.reduce((sum, server) => sum + server.stats.requests, 0);

/** What `call` throws or rejects with (undefined when it is taken), after letting a promise it returned settle a little. */
async function failureOf(call: () => unknown): Promise<unknown> {
  try {
    const result = call();
    if (!(result instanceof Promise)) return undefined;
    // Old code: the call was taken and sent; let it finish so that the counts see it.
    return await Promise.race([result.then(() => undefined, (error: unknown) => error), sleep(500)]);
  } catch (error) {
    return error;
  }
}

async function expectRefused(call: () => unknown, errorClass: ErrorClass, message: RegExp): Promise<void> {
  const before = requests();
  const error = await failureOf(call);
  expect(error, 'the call was taken').toBeInstanceOf(errorClass);
  expect((error as Error).message).toMatch(message);
  await fleet.ping();
  expect(requests() - before, 'requests sent besides the PINGs').toBe(servers.length);
}

const NO_EXPIRY = /^ZCachedFleet\.set: zcached has no expiry \(.+ given\): keys live until they are deleted or flushed\. For entries that expire, use Keyv over the zcached\/keyv adapter and Keyv's ttl: .+; nothing was sent$/;

describe("the issue's plain-JavaScript calls on a fleet: refused, nothing sent", () => {
  const issue: [string, () => unknown, RegExp][] = [
    [`delete('a', 'b')`, () => js.delete!('a', 'b'), /^ZCachedFleet\.delete takes \(key, options\?\): options must be an object \{ signal\?, timeout\? \}, got the string "b"; zcached's DELETE deletes one key/],
    [`get('k', { timout: 200 })`, () => js.get!('k', { timout: 200 }), /^ZCachedFleet\.get: unknown option "timout"; did you mean timeout\?$/],
    [`get('k', 200)`, () => js.get!('k', 200), /^ZCachedFleet\.get takes \(key, options\?\): .*got the number 200; for a time limit, pass \{ timeout: 200 \}$/],
    [`set('k', 'v', 'EX', 10)`, () => js.set!('k', 'v', 'EX', 10), NO_EXPIRY],
    [`set('k', 'v', { ttl: 10 })`, () => js.set!('k', 'v', { ttl: 10 }), NO_EXPIRY],
    [`set('k', 'v', 10)`, () => js.set!('k', 'v', 10), NO_EXPIRY],
    [`set('k')`, () => js.set!('k'), /^ZCachedFleet\.set takes \(key, value, options\?\): at least 2 arguments, got 1/],
    [`ping('x', 'y')`, () => js.ping!('x', 'y'), /^ZCachedFleet\.ping takes \(options\?\): at most 1 argument, got 2; PING takes no message/],
    [`echo('a', 'b')`, () => js.echo!('a', 'b'), /^ZCachedFleet\.echo takes \(message, options\?\): .*got the string "b"; ECHO takes one message$/],
  ];
  it.each(issue)('%s', async (_, call, message) => {
    await expectRefused(call, TypeError, message);
  });

  it(`mget(['a', 'b']) is taken (keys on both servers), each key once in the caller's order`, async () => {
    const keys = Array.from({ length: 8 }, (_, i) => `habit:${i}`);
    expect(new Set(keys.map((key) => fleet.serverFor(key))).size).toBe(2);
    await fleet.mset(keys.map((key, i) => [key, i] as const));
    const expected = new Map<string, unknown>(keys.map((key, i) => [key, i]));
    expect(await fleet.mget(keys)).toEqual(expected);
    expect(await fleet.mget(keys, { timeout: 1_000 })).toEqual(expected);
    expect(await fleet.fp.mget(keys)()).toEqual(E.right(expected));
  });
});

describe('every fleet method: count, types, options', () => {
  const typeErrors: [string, () => unknown, RegExp][] = [
    ['get(42)', () => js.get!(42), /^ZCachedFleet\.get: key must be a string, got the number 42$/],
    ['exists(a, b)', () => js.exists!('a', 'b'), /^ZCachedFleet\.exists takes \(key, options\?\)/],
    ['sizeof(a, {}, b)', () => js.sizeof!('a', {}, 'b'), /^ZCachedFleet\.sizeof takes \(key, options\?\): at most 2 arguments, got 3/],
    ['keys("*")', () => js.keys!('*'), /^ZCachedFleet\.keys takes \(options\?\): .*KEYS takes no pattern/],
    ['flush({}, 1)', () => js.flush!({}, 1), /^ZCachedFleet\.flush takes \(options\?\): at most 1 argument, got 2$/],
    ['dbsize({ timout })', () => js.dbsize!({ timout: 1 }), /^ZCachedFleet\.dbsize: unknown option "timout"; did you mean timeout\?$/],
    ['save("x")', () => js.save!('x'), /^ZCachedFleet\.save takes \(options\?\)/],
    ['lastsave(5)', () => js.lastsave!(5), /^ZCachedFleet\.lastsave takes \(options\?\): .*pass \{ timeout: 5 \}$/],
    ['isAlive({}, 1)', () => js.isAlive!({}, 1), /^ZCachedFleet\.isAlive takes \(options\?\)/],
    ['mset(a, 1, b, 2)', () => js.mset!('a', 1, 'b', 2), /^ZCachedFleet\.mset takes \(entries, options\?\): at most 2 arguments, got 4; pass every entry/],
    ['mset({ a: 1 }, { ttl: 5 })', () => js.mset!({ a: 1 }, { ttl: 5 }), /^ZCachedFleet\.mset: zcached has no expiry \(option "ttl" given\)/],
    ['mget(a, [b])', () => js.mget!('a', ['b']), /^ZCachedFleet\.mget takes .*not an array among other arguments$/],
    ['mget(a, 1)', () => js.mget!('a', 1), /^ZCachedFleet\.mget: mget key #2 must be a string, got the number 1$/],
    ['mget([a], { sigal })', () => js.mget!(['a'], { sigal: 1 }), /^ZCachedFleet\.mget: unknown option "sigal"; did you mean signal\?$/],
    ['rename({t}a, {t}b, "c")', () => js.rename!('{t}a', '{t}b', 'c'), /^ZCachedFleet\.rename takes \(key, newKey, options\?\)/],
    ['copy({t}a, {t}b, { replace: 1 })', () => js.copy!('{t}a', '{t}b', { replace: 1 }), /^ZCachedFleet\.copy: replace must be a boolean, got the number 1$/],
    ['copy({t}a, 2)', () => js.copy!('{t}a', 2), /^ZCachedFleet\.copy: destination must be a string/],
    ['sendCommand("GET")', () => js.sendCommand!('GET'), /^ZCachedFleet\.sendCommand: command must be an array/],
    ['sendCommand([GET, k], { kye })', () => js.sendCommand!(['GET', 'k'], { kye: 'k' }), /^ZCachedFleet\.sendCommand: unknown option "kye"; did you mean key\?$/],
    ['sendCommand([DBSIZE], { key: 1 })', () => js.sendCommand!(['DBSIZE'], { key: 1 }), /^ZCachedFleet\.sendCommand: key must be a string, got the number 1$/],
    ['sendCommand([PING], {}, 1)', () => js.sendCommand!(['PING'], {}, 1), /^ZCachedFleet\.sendCommand takes \(command, options\?\): at most 2 arguments, got 3/],
    ['serverFor(1)', () => js.serverFor!(1), /^ZCachedFleet\.serverFor: key must be a string, got the number 1$/],
    ['serverFor(a, b)', () => js.serverFor!('a', 'b'), /^ZCachedFleet\.serverFor takes \(key\): at most 1 argument, got 2$/],
    ['subscribe("x")', () => js.subscribe!('x'), /^ZCachedFleet\.subscribe: listener must be a function, got string$/],
    ['subscribe(fn, 1)', () => js.subscribe!(() => undefined, 1), /^ZCachedFleet\.subscribe takes \(listener\): at most 1 argument, got 2$/],
    ['run(1) (rejects)', () => js.run!(1), /^ZCachedFleet\.run takes \(\): no arguments, got 1$/],
    ['byServer.ping(x, y)', () => byServer.ping!('x', 'y'), /^ZCachedFleet\.byServer\.ping takes \(options\?\): at most 1 argument, got 2/],
    ['byServer.keys("*")', () => byServer.keys!('*'), /^ZCachedFleet\.byServer\.keys takes \(options\?\): .*KEYS takes no pattern/],
    ['byServer.flush(1)', () => byServer.flush!(1), /^ZCachedFleet\.byServer\.flush takes/],
    ['byServer.dbsize({ timout })', () => byServer.dbsize!({ timout: 1 }), /^ZCachedFleet\.byServer\.dbsize: unknown option "timout"; did you mean timeout\?$/],
    ['byServer.save({}, 1)', () => byServer.save!({}, 1), /^ZCachedFleet\.byServer\.save takes/],
    ['byServer.lastsave("x")', () => byServer.lastsave!('x'), /^ZCachedFleet\.byServer\.lastsave takes/],
    ['byServer.sendCommand([DBSIZE], { key })', () => byServer.sendCommand!(['DBSIZE'], { key: 'k' }), /^ZCachedFleet\.byServer\.sendCommand: unknown option "key"; the options are signal, timeout$/],
  ];
  it.each(typeErrors)('%s: TypeError', async (_, call, message) => {
    await expectRefused(call, TypeError, message);
  });

  it.each([
    ['get(k, { timeout: 0 })', () => js.get!('k', { timeout: 0 }), /^ZCachedFleet\.get: timeout must be a positive integer \(ms\), got 0$/],
    ['byServer.ping({ timeout: 2^31 })', () => byServer.ping!({ timeout: 2 ** 31 }), /^ZCachedFleet\.byServer\.ping: timeout must be at most 2147483647 ms/],
  ] as [string, () => unknown, RegExp][])('%s: RangeError', async (_, call, message) => {
    await expectRefused(call, RangeError, message);
  });

  it('correct calls are taken: { key } routes sendCommand (and is not passed on), copy takes { replace }', async () => {
    expect(await fleet.sendCommand(['SET', '{t}a', 'v'], { key: '{t}a', timeout: 1_000 })).toBe('OK');
    expect(await fleet.sendCommand(['DBSIZE'], { key: '{t}a' })).toBeGreaterThan(0);
    expect(await fleet.copy('{t}a', '{t}b', { replace: true })).toBe('OK');
    expect(await fleet.copy('{t}a', '{t}b', { replace: true, timeout: 1_000 })).toBe('OK');
    expect(await fleet.get('{t}b', undefined)).toBe('v');
    expect(await fleet.delete('{t}b', {})).toBe(true);
    expect(await fleet.isAlive()).toBe(true);
    expect((await fleet.byServer.dbsize({ timeout: 1_000 })).size).toBe(2);
  });

  it('membership calls (a fleet of its own: the old code would change it): count and id types', async () => {
    const own = fleetOver(servers, { dialect: 'etx', poolSize: 1 });
    const untyped = own as unknown as Untyped;
    const id = own.state.servers[0]!.id;
    try {
      await own.run();
      const cases: [() => unknown, RegExp][] = [
        [() => untyped.setWeight!(1, 2), /^ZCachedFleet\.setWeight: id must be a string, got the number 1$/],
        [() => untyped.setWeight!(id, 2, 3), /^ZCachedFleet\.setWeight takes \(id, weight\): at most 2 arguments, got 3$/],
        [() => untyped.removeServer!(5), /^ZCachedFleet\.removeServer: id must be a string, got the number 5$/],
        [() => untyped.removeServer!(id, {}), /^ZCachedFleet\.removeServer takes \(id\): at most 1 argument, got 2$/],
        [() => untyped.addServer!('127.0.0.9:1', {}), /^ZCachedFleet\.addServer takes \(spec\): at most 1 argument, got 2$/],
      ];
      for (const [call, message] of cases) {
        const error = await failureOf(call);
        expect(error, String(call)).toBeInstanceOf(TypeError);
        expect((error as Error).message).toMatch(message);
      }
      expect(own.state.servers.map((server) => [server.id, server.weight])).toEqual(servers.map((server) => [`${server.host}:${server.port}`, 1]));
    } finally {
      await own.close();
    }
  });

  it('close takes no options: close({ force: true }) is refused, not ignored', async () => {
    const own = fleetOver(servers, { dialect: 'etx', poolSize: 1 });
    try {
      await own.run();
      expect(await failureOf(() => (own as unknown as Untyped).close!({ force: true }))).toEqual(
        new TypeError("ZCachedFleet.close takes (): no arguments, got 1; it takes no options: each server's pool lets pending requests finish for closeTimeout"),
      );
      expect(await own.ping()).toBe('PONG');
    } finally {
      await own.close();
    }
  });
});

describe('the fleet fp view: refusals as InvalidArgumentError, nothing sent', () => {
  const fpCalls: [string, (fp: Record<string, (...args: unknown[]) => () => Promise<unknown>>) => () => Promise<unknown>, RegExp][] = [
    [`delete('a', 'b')`, (fp) => fp.delete!('a', 'b'), /^ZCachedFleet\.delete takes/],
    [`get('k', { timout: 200 })`, (fp) => fp.get!('k', { timout: 200 }), /^ZCachedFleet\.get: unknown option "timout"; did you mean timeout\?$/],
    [`set('k', 'v', 'EX', 10)`, (fp) => fp.set!('k', 'v', 'EX', 10), NO_EXPIRY],
    [`ping('x', 'y')`, (fp) => fp.ping!('x', 'y'), /^ZCachedFleet\.ping takes/],
    [`echo('a', 'b')`, (fp) => fp.echo!('a', 'b'), /^ZCachedFleet\.echo takes/],
  ];
  it.each(fpCalls)('%s', async (_, make, message) => {
    const fp = fleet.fp as unknown as Parameters<(typeof fpCalls)[number][1]>[0];
    const before = requests();
    const result = (await make(fp)()) as E.Either<Error, unknown>;
    expect(E.isLeft(result)).toBe(true);
    const error = (result as E.Left<Error>).left;
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect(error.message).toMatch(message);
    expect(error.cause).toBeInstanceOf(TypeError);
    await fleet.ping();
    expect(requests() - before).toBe(servers.length);
  });
});

describe('property: an option name one edit away from a valid one is refused, naming it, nothing sent', () => {
  // EX and PX are expiry names (refused with their own message), not typos.
  const typoOf = (valid: readonly string[]) => anyTypo(valid).map(({ typo }) => typo).filter((typo) => !/^(ex|px)$/i.test(typo));

  const calls: [string, readonly string[], (options: object) => unknown][] = [
    ['get', ['signal', 'timeout'], (options) => js.get!('k', options)],
    ['sendCommand', ['key', 'signal', 'timeout'], (options) => js.sendCommand!(['GET', 'k'], options)],
  ];
  it.each(calls)('ZCachedFleet.%s', async (method, valid, call) => {
    const before = requests();
    fc.assert(
      fc.property(typoOf(valid), (typo) => {
        let error: unknown;
        try {
          const result = call({ [typo]: 'x' });
          if (result instanceof Promise) result.catch(() => undefined);
        } catch (thrown) {
          error = thrown;
        }
        expect(error).toBeInstanceOf(TypeError);
        const message = (error as TypeError).message;
        expect(message.startsWith(`ZCachedFleet.${method}: unknown option ${JSON.stringify(typo)}`), message).toBe(true);
      }),
      { numRuns: 200 },
    );
    await fleet.ping();
    expect(requests() - before).toBe(servers.length);
  });
});
