/**
 * A misspelt option is an error that names it and the option meant, in
 * every constructor that takes options: `ZCached` (object and URL query),
 * `Connection`, `ZCachedFleet` and its server objects, and the nested
 * `backoff`, `decoderLimits` and custom `dialect` objects. Before, a typo
 * (`poolsize: 4`) was silently dropped and the default used.
 *
 * The valid names are written out here, not taken from the library, so that
 * an option dropped from (or added to) the library's lists shows up.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ZCached } from '../../src/client/client.js';
import { Connection } from '../../src/connection/connection.js';
import { ZCachedFleet } from '../../src/fleet/fleet.js';
import { resolveFleetOptions, resolveServer } from '../../src/fleet/options.js';
import { typoOf } from '../typos.js';

const CONNECTION = [
  'host', 'port', 'connectionAttempts', 'reconnect', 'timeoutLimit', 'connectTimeout', 'dialect', 'tls', 'keepAliveDelay', 'maxPending',
  'pingInterval', 'closeTimeout', 'backoff', 'random', 'stableAfter', 'decoderLimits', 'bulkAsBuffer', 'openTransport',
];
const CLIENT = [...CONNECTION, 'poolSize', 'codec'];
const FLEET = [
  ...CONNECTION.filter((name) => name !== 'host' && name !== 'port'),
  'servers', 'poolSize', 'failureLimit', 'retryTimeout', 'failover', 'flushOnReturn', 'hashTags', 'now',
];
const SERVER = [...CONNECTION, 'weight', 'id', 'poolSize'];
const BACKOFF = ['initial', 'multiplier', 'max', 'jitter'];
const DECODER_LIMITS = ['maxBulkBytes', 'maxAggregateLength', 'maxDepth', 'maxBufferedBytes'];
const DIALECT = ['base', 'requestTerminator', 'pipelining', 'maxRequestBytes', 'forbidLineFeed', 'forbidCarriageReturn', 'forbidEmpty', 'maxWriteBytes', 'maxUnansweredBytes'];
const URL_QUERY = [
  'poolSize', 'connectionAttempts', 'reconnect', 'timeoutLimit', 'timeout', 'connectTimeout', 'dialect', 'keepAliveDelay', 'maxPending',
  'pingInterval', 'closeTimeout', 'stableAfter', 'bulkAsBuffer',
];

/**
 * Optimal-string-alignment distance, case ignored, written independently
 * of the library's: recursion with memoisation.
 */
function distance(a: string, b: string): number {
  const s = a.toLowerCase();
  const t = b.toLowerCase();
  const memo = new Map<string, number>();
  const d = (i: number, j: number): number => {
    if (i === 0) return j;
    if (j === 0) return i;
    const key = `${i},${j}`;
    const known = memo.get(key);
    if (known !== undefined) return known;
    let best = Math.min(d(i - 1, j) + 1, d(i, j - 1) + 1, d(i - 1, j - 1) + (s[i - 1] === t[j - 1] ? 0 : 1));
    if (i > 1 && j > 1 && s[i - 1] === t[j - 2] && s[i - 2] === t[j - 1]) best = Math.min(best, d(i - 2, j - 2) + 1);
    memo.set(key, best);
    return best;
  };
  return d(s.length, t.length);
}

/** What `build` throws, or undefined. */
function thrown(build: () => unknown): unknown {
  try {
    build();
  } catch (error) {
    return error;
  }
  return undefined;
}

/**
 * Checks that `error` is the unknown-option TypeError for `path + typo`,
 * suggesting a valid name at distance at most 1 from the typo (the one it
 * came from, or another just as close).
 */
function expectSuggestion(error: unknown, typo: string, valid: readonly string[], path = ''): void {
  expect(error).toBeInstanceOf(TypeError);
  const message = (error as TypeError).message;
  expect(message).toContain(`unknown option ${JSON.stringify(path + typo)}`);
  const suggested = /did you mean (\S+)\?$/.exec(message)?.[1];
  expect(suggested, message).toBeDefined();
  expect(suggested!.startsWith(path)).toBe(true);
  const name = suggested!.slice(path.length);
  expect(valid).toContain(name);
  expect(distance(typo, name)).toBeLessThanOrEqual(1);
}

const RUNS = { numRuns: 300 };

describe('a name one edit away from an option is refused, suggesting the option', () => {
  const owners: [string, readonly string[], (typo: string) => unknown, string?][] = [
    ['ZCached options', CLIENT, (typo) => new ZCached({ [typo]: undefined })],
    ['ZCached URL query', URL_QUERY, (typo) => new ZCached(`zcached://h?${encodeURIComponent(typo)}=1`)],
    ['Connection options', CONNECTION, (typo) => new Connection({ host: 'h', port: 1, [typo]: undefined })],
    ['ZCachedFleet options', FLEET, (typo) => new ZCachedFleet({ servers: [], [typo]: undefined })],
    ['fleet server objects', SERVER, (typo) => resolveServer({ host: 'h', [typo]: undefined }, { poolSize: 1, connection: {} })],
    ['backoff', BACKOFF, (typo) => new ZCached({ backoff: { [typo]: 1 } }), 'backoff.'],
    ['decoderLimits', DECODER_LIMITS, (typo) => new Connection({ host: 'h', port: 1, decoderLimits: { [typo]: 1 } }), 'decoderLimits.'],
    ['a custom dialect', DIALECT, (typo) => new ZCached({ dialect: { base: 'etx', [typo]: true } }), 'dialect.'],
  ];
  for (const [owner, valid, build, path] of owners) {
    it(owner, () => {
      // Names the URL refuses for another reason (an option that needs the options object) are not typos there.
      const other = owner === 'ZCached URL query' ? CLIENT : [];
      fc.assert(
        fc.property(typoOf(valid).filter(({ typo }) => !other.includes(typo)), ({ name, typo }) => {
          expect(distance(typo, name)).toBeLessThanOrEqual(1); // the generator's promise
          expectSuggestion(thrown(() => build(typo)), typo, valid, path);
        }),
        RUNS,
      );
    });
  }
});

/** A valid value for every option, to build objects from any subset of them. */
const CLIENT_VALUES: Record<string, unknown> = {
  host: 'cache.example',
  port: 7000,
  connectionAttempts: 2,
  reconnect: false,
  timeoutLimit: 100,
  connectTimeout: 100,
  dialect: 'legacy',
  tls: false,
  keepAliveDelay: 0,
  maxPending: 5,
  pingInterval: 0,
  closeTimeout: 0,
  backoff: { initial: 1, multiplier: 1, max: 10, jitter: 0 },
  random: () => 0.5,
  stableAfter: 0,
  decoderLimits: { maxBulkBytes: 10, maxAggregateLength: 10, maxDepth: 3, maxBufferedBytes: 100 },
  bulkAsBuffer: true,
  openTransport: () => Promise.reject(new Error('not used')),
  poolSize: 2,
  codec: 'json',
};
const FLEET_VALUES: Record<string, unknown> = {
  ...CLIENT_VALUES,
  servers: ['a:1'],
  failureLimit: 2,
  retryTimeout: 10,
  failover: 'rehash',
  flushOnReturn: true,
  hashTags: false,
  now: () => 0,
  weight: 2,
  id: 'a',
};

const pick = (names: readonly string[], values: Record<string, unknown>) =>
  fc.subarray([...names]).map((keys) => Object.fromEntries(keys.map((key) => [key, values[key]])));

describe('valid names are never refused as unknown', () => {
  it('ZCached: any subset of the options, set or undefined', async () => {
    await fc.assert(
      fc.asyncProperty(pick(CLIENT, CLIENT_VALUES), fc.boolean(), async (options, blank) => {
        const given = blank ? Object.fromEntries(Object.keys(options).map((key) => [key, undefined])) : options;
        const client = new ZCached(given);
        await client.close();
      }),
      { numRuns: 100 },
    );
  });

  it('Connection, fleet, fleet servers, nested objects', async () => {
    await fc.assert(
      fc.asyncProperty(pick(CONNECTION, CLIENT_VALUES), async (options) => {
        const connection = new Connection({ host: 'h', port: 1, ...options });
        await connection.close();
      }),
      { numRuns: 100 },
    );
    fc.assert(
      fc.property(pick(FLEET, FLEET_VALUES), pick(SERVER, FLEET_VALUES), (fleet, server) => {
        resolveFleetOptions({ servers: [], ...fleet });
        resolveServer({ host: 'h', ...server }, { poolSize: 1, connection: {} });
      }),
      { numRuns: 100 },
    );
    fc.assert(
      fc.property(fc.subarray(DIALECT.filter((name) => name !== 'base')), (keys) => {
        new Connection({ host: 'h', port: 1, dialect: { base: 'etx', ...Object.fromEntries(keys.map((key) => [key, undefined])) } });
      }),
      { numRuns: 50 },
    );
  });

  it('the URL query: every key with a valid value', async () => {
    const values: Record<string, string> = {
      poolSize: '2', connectionAttempts: '2', reconnect: 'false', timeoutLimit: '100', connectTimeout: '100', dialect: 'legacy',
      keepAliveDelay: '0', maxPending: '5', pingInterval: '0', closeTimeout: '0', stableAfter: '0', bulkAsBuffer: 'true',
    };
    await fc.assert(
      fc.asyncProperty(fc.subarray(Object.keys(values)), fc.boolean(), async (keys, short) => {
        const query = keys.map((key) => `${short && key === 'timeoutLimit' ? 'timeout' : key}=${values[key]}`).join('&');
        const client = new ZCached(`zcached://h?${query}`);
        await client.close();
      }),
      { numRuns: 100 },
    );
  });
});

describe('a misspelt dialect name', () => {
  // Before: the URL's `dialect=ETX` got "did you mean etx?", the options object's `dialect: 'etc'` only a list.
  const DIALECT_NAMES = ['legacy', 'etx-request', 'etx'];

  it('gets the same suggestion in the options object as in the URL', () => {
    fc.assert(
      fc.property(typoOf(DIALECT_NAMES), ({ typo }) => {
        const fromUrl = thrown(() => new ZCached(`zcached://h?dialect=${encodeURIComponent(typo)}`));
        const fromObject = thrown(() => new ZCached({ dialect: typo as 'etx' }));
        const fromConnection = thrown(() => new Connection({ host: 'h', port: 1, dialect: typo as 'etx' }));
        const suggestion = /did you mean (\S+)\?$/.exec((fromUrl as Error).message)?.[1];
        expect(suggestion).toBeDefined();
        for (const error of [fromObject, fromConnection]) {
          expect(error).toBeInstanceOf(TypeError);
          expect((error as Error).message).toBe(`dialect: unknown dialect ${JSON.stringify(typo)}; did you mean ${suggestion}? (or give a custom dialect object)`);
        }
      }),
      RUNS,
    );
  });

  it('examples, and a custom dialect\'s base', () => {
    expect(() => new ZCached({ dialect: 'etc' as 'etx' })).toThrow(new TypeError('dialect: unknown dialect "etc"; did you mean etx? (or give a custom dialect object)'));
    expect(() => new ZCached({ dialect: 'modern' as 'etx' })).toThrow(
      new TypeError(`dialect: unknown dialect "modern"; expected 'auto', 'legacy', 'etx-request', 'etx' (or give a custom dialect object)`),
    );
    expect(() => new ZCached({ dialect: { base: 'legasy' as 'legacy' } })).toThrow(new TypeError('dialect: unknown base "legasy"; did you mean legacy?'));
    expect(() => new ZCached({ dialect: 'toString' as 'etx' })).toThrow(/unknown dialect "toString"/);
  });
});

describe('examples', () => {
  it('poolsize → "did you mean poolSize?"', () => {
    expect(() => new ZCached({ poolsize: 4 } as object)).toThrow(new TypeError('ZCached: unknown option "poolsize"; did you mean poolSize?'));
    expect(() => new ZCached({ timeout: 500 } as object)).toThrow(/unknown option "timeout"; did you mean timeoutLimit\?/);
    expect(() => new ZCached({ conectTimeout: 5 } as object)).toThrow(/did you mean connectTimeout\?/);
    expect(() => new ZCached({ backoff: { maximum: 5 } } as object)).toThrow(/unknown option "backoff.maximum"; did you mean backoff.max\?/);
    expect(() => new Connection({ host: 'h', port: 1, decoderLimits: { maxBulkByte: 5 } } as object as { host: string; port: number })).toThrow(
      /Connection: unknown option "decoderLimits.maxBulkByte"; did you mean decoderLimits.maxBulkBytes\?/,
    );
    expect(() => new ZCachedFleet({ servers: [], failurelimit: 2 } as object as { servers: [] })).toThrow(
      /ZCachedFleet: unknown option "failurelimit"; did you mean failureLimit\?/,
    );
    expect(() => new ZCachedFleet({ servers: [{ host: 'h', wieght: 2 }] } as object as { servers: [] })).toThrow(
      /servers\[0\]: unknown option "wieght"; did you mean weight\?/,
    );
  });

  it('a name far from every option gets the list of options instead', () => {
    expect(() => new ZCached({ colour: 'blue' } as object)).toThrow(/^ZCached: unknown option "colour"; the options are host, port, .*poolSize, largeRequestConnections, codec, keyPrefix$/);
  });

  it('values out of range or of the wrong type are refused at construction', () => {
    expect(() => new ZCached({ poolSize: 0 })).toThrow(new RangeError('poolSize must be a positive integer, got 0'));
    expect(() => new ZCached({ poolSize: '2' as unknown as number })).toThrow(TypeError);
    expect(() => new ZCached({ port: 0 })).toThrow(RangeError);
    expect(() => new ZCached({ port: 65_536 })).toThrow(RangeError);
    expect(() => new Connection({ host: 'h', port: 0 })).toThrow(/port must be an integer in 1\.\.65535, got 0/);
    expect(() => new ZCached({ tls: 'yes' as unknown as boolean })).toThrow(new TypeError('tls must be true, false or an object of tls.connect options, got the string "yes"'));
    expect(() => new ZCached({ bulkAsBuffer: 1 as unknown as boolean })).toThrow(TypeError);
    expect(() => new ZCached({ decoderLimits: 5 as unknown as object })).toThrow(TypeError);
  });
});
