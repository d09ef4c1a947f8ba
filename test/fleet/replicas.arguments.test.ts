/**
 * Argument checking with `replicas: 2`, as with `replicas: 1`
 * (test/fleet/call-arguments.test.ts): plain-JavaScript calls with wrong
 * types, counts, options or values the dialect cannot carry are refused
 * synchronously with a TypeError / RangeError / DialectError naming the
 * method or the argument, and nothing reaches any server (counted on
 * every embedded server around the call, then one fleet-wide PING). The
 * same refusals while a server is ejected, while every server is, and
 * through the fp view.
 */
import * as E from 'fp-ts/lib/Either.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DialectError, InvalidArgumentError } from '../../src/errors.js';
import type { ZCachedFleet } from '../../src/fleet/index.js';
import type { ZCachedServer } from '../../src/testing/index.js';
import { until } from '../support.js';
import { fleetOver, idOf, startServers } from './fleet-support.js';

type ErrorClass = new (...args: never[]) => Error;
type Untyped = Record<string, (...args: unknown[]) => unknown>;

let servers: ZCachedServer[];
let fleet: ZCachedFleet;
let js: Untyped;

beforeAll(async () => {
  servers = await startServers(3);
  fleet = fleetOver(servers, { replicas: 2, poolSize: 1 });
  await fleet.run();
  js = fleet as unknown as Untyped;
});
afterAll(async () => {
  await fleet?.close();
  await Promise.all((servers ?? []).map((server) => server.close()));
});

const requests = (list: readonly ZCachedServer[] = servers): number => list.reduce((sum, server) => sum + server.stats.requests, 0);

/** What `call` throws synchronously; a returned promise is a failure of the test (its rejection is noted, not left unhandled). */
function thrownBy(call: () => unknown): unknown {
  let result: unknown;
  try {
    result = call();
  } catch (error) {
    return error;
  }
  if (result instanceof Promise) result.catch(() => undefined);
  return new Error(`the call was taken (returned ${result instanceof Promise ? 'a promise' : String(result)}), not refused synchronously`);
}

/** Checks the refusal, then that no server got anything: a fleet-wide PING afterwards is all they see. */
async function expectRefused(call: () => unknown, errorClass: ErrorClass, message: RegExp, live: readonly ZCachedServer[] = servers): Promise<void> {
  const before = requests(live);
  const error = thrownBy(call);
  expect(error, (error as Error).message).toBeInstanceOf(errorClass);
  expect((error as Error).message).toMatch(message);
  await fleet.byServer.ping();
  expect(requests(live) - before, 'requests sent besides the PINGs').toBe(live.length);
}

const NO_EXPIRY = /^ZCachedFleet\.set: zcached has no expiry/;
const LF = /holds a line feed \(0x0a\), which the 'etx' dialect cannot carry/;
const EMPTY = /is an empty string, which the 'etx' dialect cannot carry/;

/** Keys of one replica pair, for mget / rename cases that stay on one server. */
const tagged = (suffix: string): string => `{arg}${suffix}`;

const typeErrors: [string, () => unknown, RegExp][] = [
  ['get(42)', () => js.get!(42), /^ZCachedFleet\.get: key must be a string, got the number 42$/],
  ['get(k, 200)', () => js.get!('k', 200), /^ZCachedFleet\.get takes \(key, options\?\): .*pass \{ timeout: 200 \}$/],
  ['get(k, { timout })', () => js.get!('k', { timout: 1 }), /^ZCachedFleet\.get: unknown option "timout"; did you mean timeout\?$/],
  ['getBuffer()', () => js.getBuffer!(), /^ZCachedFleet\.getBuffer: key must be a string, got undefined$/],
  ['exists(a, b)', () => js.exists!('a', 'b'), /^ZCachedFleet\.exists takes \(key, options\?\)/],
  ['sizeof(a, {}, b)', () => js.sizeof!('a', {}, 'b'), /^ZCachedFleet\.sizeof takes \(key, options\?\): at most 2 arguments, got 3/],
  ['echo(a, b)', () => js.echo!('a', 'b'), /^ZCachedFleet\.echo takes \(message, options\?\)/],
  ['set(k)', () => js.set!('k'), /^ZCachedFleet\.set takes \(key, value, options\?\): at least 2 arguments, got 1/],
  ['set(k, v, EX, 10)', () => js.set!('k', 'v', 'EX', 10), NO_EXPIRY],
  ['set(k, v, { ttl })', () => js.set!('k', 'v', { ttl: 10 }), NO_EXPIRY],
  ['set(k, undefined)', () => js.set!('k', undefined), /cannot send undefined/],
  ['set(k, v, { signal: {} })', () => js.set!('k', 'v', { signal: {} }), /^ZCachedFleet\.set: signal must be an AbortSignal, got an object$/],
  ['delete(a, b)', () => js.delete!('a', 'b'), /^ZCachedFleet\.delete takes \(key, options\?\)/],
  ['delete(1)', () => js.delete!(1), /^ZCachedFleet\.delete: key must be a string, got the number 1$/],
  ['rename(a, b, c)', () => js.rename!(tagged('a'), tagged('b'), 'c'), /^ZCachedFleet\.rename takes \(key, newKey, options\?\)/],
  ['rename(a, 2)', () => js.rename!(tagged('a'), 2), /^ZCachedFleet\.rename: newKey must be a string/],
  ['copy(a, b, { replace: 1 })', () => js.copy!(tagged('a'), tagged('b'), { replace: 1 }), /^ZCachedFleet\.copy: replace must be a boolean, got the number 1$/],
  ['copy(a, b, { signal: 1 })', () => js.copy!(tagged('a'), tagged('b'), { replace: true, signal: 1 }), /^ZCachedFleet\.copy: signal must be an AbortSignal/],
  ['mget(a, 1)', () => js.mget!('a', 1), /^ZCachedFleet\.mget: mget key #2 must be a string, got the number 1$/],
  ['mget(a, [b])', () => js.mget!('a', ['b']), /^ZCachedFleet\.mget takes .*not an array among other arguments$/],
  ['mgetBuffer([a], { sigal })', () => js.mgetBuffer!(['a'], { sigal: 1 }), /^ZCachedFleet\.mgetBuffer: unknown option "sigal"; did you mean signal\?$/],
  ['mset(a, 1, b, 2)', () => js.mset!('a', 1, 'b', 2), /^ZCachedFleet\.mset takes \(entries, options\?\): at most 2 arguments, got 4/],
  ['mset({ a: 1 }, { ttl: 5 })', () => js.mset!({ a: 1 }, { ttl: 5 }), /^ZCachedFleet\.mset: zcached has no expiry/],
  ['sendCommand(GET)', () => js.sendCommand!('GET'), /^ZCachedFleet\.sendCommand: command must be an array/],
  ['sendCommand([GET, k], { kye })', () => js.sendCommand!(['GET', 'k'], { kye: 'k' }), /^ZCachedFleet\.sendCommand: unknown option "kye"; did you mean key\?$/],
  ['sendCommand([SET, k, v])', () => js.sendCommand!(['SET', 'k', 'v']), /^ZCachedFleet\.sendCommand: SET with replicas would reach one replica only; use fleet\.set\(\)/],
  ['sendCommand([MSET, a, 1])', () => js.sendCommand!(['MSET', 'a', '1']), /^ZCachedFleet\.sendCommand .*MSET has none/],
  ['keys(*)', () => js.keys!('*'), /^ZCachedFleet\.keys takes \(options\?\): .*KEYS takes no pattern/],
  ['dbsize({ timout })', () => js.dbsize!({ timout: 1 }), /^ZCachedFleet\.dbsize: unknown option "timout"; did you mean timeout\?$/],
  ['flush({}, 1)', () => js.flush!({}, 1), /^ZCachedFleet\.flush takes \(options\?\): at most 1 argument, got 2$/],
  ['ping(x, y)', () => js.ping!('x', 'y'), /^ZCachedFleet\.ping takes \(options\?\): at most 1 argument, got 2/],
  ['placement(1)', () => js.placement!(1), /^ZCachedFleet\.placement: key must be a string, got the number 1$/],
  ['placement(a, b)', () => js.placement!('a', 'b'), /^ZCachedFleet\.placement takes \(key\): at most 1 argument, got 2$/],
  ['serverFor(1)', () => js.serverFor!(1), /^ZCachedFleet\.serverFor: key must be a string, got the number 1$/],
  ['subscribe(x)', () => js.subscribe!('x'), /^ZCachedFleet\.subscribe: listener must be a function, got string$/],
];

const rangeErrors: [string, () => unknown, RegExp][] = [
  ['get(k, { timeout: 0 })', () => js.get!('k', { timeout: 0 }), /^ZCachedFleet\.get: timeout must be a positive integer \(ms\), got 0$/],
  ['set(k, v, { timeout: 1.5 })', () => js.set!('k', 'v', { timeout: 1.5 }), /^ZCachedFleet\.set: timeout must be a positive integer \(ms\), got 1\.5$/],
  ['mset([])', () => js.mset!([]), /mset needs at least one entry/],
];

const dialectErrors: [string, () => unknown, RegExp][] = [
  ["get('')", () => js.get!(''), EMPTY],
  ['exists(a\\nb)', () => js.exists!('a\nb'), LF],
  ['sizeof(a\\nb)', () => js.sizeof!('a\nb'), LF],
  ["echo('')", () => js.echo!(''), EMPTY],
  ["set(k, '')", () => js.set!('k', ''), EMPTY],
  ['set(a\\nb, v)', () => js.set!('a\nb', 'v'), LF],
  ['delete(a\\nb)', () => js.delete!('a\nb'), LF],
  ["rename(a, '')", () => js.rename!(tagged('a'), ''), EMPTY],
  ['copy(a, b\\n)', () => js.copy!(tagged('a'), `${tagged('b')}\n`), LF],
  ['mget([a\\nb]): one key', () => js.mget!(['a\nb']), /^MGET: mget key #1 holds a line feed/],
  ['mgetBuffer([a\\nb]): one key', () => js.mgetBuffer!(['a\nb']), /^MGET: mget key #1 holds a line feed/],
  ['mget of one tag, the last key bad', () => js.mget!([tagged('a'), tagged('b'), `${tagged('c')}\n`]), /^MGET: mget key #3 holds a line feed/],
  ["mset([[k, '']])", () => js.mset!([['k', '']]), /^MSET: mset entry 1 value is an empty string/],
  ["mset of one tag, entry 2's key bad", () => js.mset!([[tagged('a'), 'v'], [`${tagged('b')}\n`, 'v']]), /^MSET: mset entry 2 key holds a line feed/],
  ["sendCommand([GET, ''])", () => js.sendCommand!(['GET', '']), EMPTY],
];

describe('replicas: 2, every server up', () => {
  it.each(typeErrors)('%s: TypeError, synchronously, nothing sent', async (_, call, message) => {
    await expectRefused(call, TypeError, message);
  });
  it.each(rangeErrors)('%s: RangeError, synchronously, nothing sent', async (_, call, message) => {
    await expectRefused(call, RangeError, message);
  });
  it.each(dialectErrors)('%s: DialectError, synchronously, nothing sent', async (_, call, message) => {
    await expectRefused(call, DialectError, message);
  });

  it('the fp view: the refusals as InvalidArgumentError (Left), nothing sent', async () => {
    const fp = fleet.fp as unknown as Record<string, (...args: unknown[]) => () => Promise<E.Either<Error, unknown>>>;
    const before = requests();
    for (const make of [() => fp.get!(42), () => fp.set!('k', 'v', 'EX', 1), () => fp.mset!([]), () => fp.delete!('a', 'b')]) {
      const result = await make()();
      expect(E.isLeft(result)).toBe(true);
      expect((result as E.Left<Error>).left).toBeInstanceOf(InvalidArgumentError);
    }
    // A DialectError is a ZCachedError already: the Left holds it as it is, as for replicas: 1.
    for (const make of [() => fp.mget!(['a\nb']), () => fp.set!('k', '')]) {
      const result = await make()();
      expect(E.isLeft(result)).toBe(true);
      expect((result as E.Left<Error>).left).toBeInstanceOf(DialectError);
    }
    expect(requests()).toBe(before);
  });
});

describe('replicas: 2 with a server ejected, then with every server ejected', () => {
  it('the same refusals, synchronously; nothing reaches the servers that are up', async () => {
    const down = servers[2]!;
    const live = servers.slice(0, 2);
    await down.close();
    // Writes of keys it holds find it gone: ejected (or fenced).
    await until(() => {
      void fleet.set(`{probe}${Math.random()}`, 'v').catch(() => undefined);
      return fleet.state.servers.find((server) => server.id === idOf(down))!.health !== 'up';
    }, 15_000, 20);
    // The others stand in for its keys: their warm-ups (KEYS, MGET, MSET) end before anything is counted.
    await until(() => fleet.state.servers.every((server) => server.warming === undefined && server.sweep === undefined), 15_000);
    // The writes of that loop reach the live servers before this PING's reply (one connection each): none is counted below.
    await fleet.byServer.ping();
    for (const [, call, message] of typeErrors.filter(([name]) => !/^(keys|dbsize|flush|ping)/.test(name))) await expectRefused(call, TypeError, message, live);
    for (const [, call, message] of dialectErrors) await expectRefused(call, DialectError, message, live);
    await Promise.all(live.map((server) => server.close()));
    await until(() => {
      for (const key of ['e1', 'e2', 'e3', 'e4']) void fleet.get(key).catch(() => undefined);
      return fleet.state.servers.every((server) => server.health !== 'up');
    }, 15_000, 20);
    for (const [name, call, message] of dialectErrors) {
      const error = thrownBy(call);
      expect(error, `${name}: ${(error as Error).message}`).toBeInstanceOf(DialectError);
      expect((error as Error).message).toMatch(message);
    }
  });
});
