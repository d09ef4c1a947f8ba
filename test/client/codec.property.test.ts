/**
 * `codec: 'json'` makes every JSON value safe on every server generation:
 * any value fast-check's `jsonValue()` makes (strings with line feeds, CR,
 * 0x03, empty strings, empty objects, unicode) round-trips through SET/GET
 * and MSET/MGET against the faithful embedded server of each generation,
 * which mangles or refuses those bytes when they are sent raw.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ZCached } from '../../src/client/client.js';
import type { DialectName } from '../../src/protocol/dialect.js';
import { startServer, type ZCachedServer } from '../../src/testing/server.js';

const DIALECTS: readonly DialectName[] = ['legacy', 'etx-request', 'etx'];
/** The 2024 servers take requests of at most one TCP segment: the client refuses larger ones ('too-large'). */
const LEGACY_VALUE_BYTES = 1_000;

/** What JSON gives back for a value: the round trip to expect. */
const viaJson = (value: unknown): unknown => JSON.parse(JSON.stringify(value));

/** Whether `-0` is anywhere in a JSON value (JSON would store it as `0`, so the codec refuses it). */
const holdsNegativeZero = (value: unknown): boolean =>
  Object.is(value, -0) || (typeof value === 'object' && value !== null && Object.values(value).some(holdsNegativeZero));

/** The value with `-0` put in at the place `choices` lead to (an index or key per level, taken modulo the container's size). */
function plantNegativeZero(value: unknown, choices: readonly number[]): unknown {
  const [choice = 0, ...rest] = choices;
  if (choices.length === 0 || typeof value !== 'object' || value === null) return -0;
  if (Array.isArray(value)) {
    if (value.length === 0) return [-0];
    const copy = [...value];
    copy[choice % copy.length] = plantNegativeZero(copy[choice % copy.length], rest);
    return copy;
  }
  const keys = Object.keys(value);
  if (keys.length === 0) return { zero: -0 };
  const key = keys[choice % keys.length]!;
  return { ...value, [key]: plantNegativeZero((value as Record<string, unknown>)[key], rest) };
}

/** Strings made of the bytes the dialects refuse raw, so that every run meets them. */
const awkwardString = fc.string({ unit: fc.constantFrom('\n', '\r', '\u0003', '', 'a', ' ', '"', '\\', 'é', '🐢', '\u0000') });
const jsonValue = fc.oneof(fc.jsonValue({ maxDepth: 3 }), awkwardString, fc.array(awkwardString, { maxLength: 3 }), fc.dictionary(awkwardString, awkwardString, { maxKeys: 3 }));

describe.each(DIALECTS)("codec: 'json' against the faithful %s server", (dialect) => {
  let server: ZCachedServer;
  let client: ZCached<'json'>;

  beforeAll(async () => {
    server = await startServer({ dialect });
    client = new ZCached({ port: server.port, dialect, codec: 'json', poolSize: 2 });
    await client.run();
  });
  afterAll(async () => {
    await client?.close();
    await server?.close();
  });

  const fits = (value: unknown): boolean => dialect !== 'legacy' || Buffer.byteLength(JSON.stringify(value)) <= LEGACY_VALUE_BYTES;

  it('any JSON value round-trips through set/get', async () => {
    let key = 0;
    await fc.assert(
      fc.asyncProperty(jsonValue, async (value) => {
        fc.pre(fits(value));
        const name = `json:${key++}`;
        if (holdsNegativeZero(value)) {
          expect(() => client.set(name, value)).toThrow(TypeError); // the next property checks the refusals
          return;
        }
        expect(await client.set(name, value)).toBe('OK');
        expect(await client.get(name)).toEqual(viaJson(value));
      }),
      { numRuns: 150 },
    );
    expect(server.crashLog).toEqual([]);
  });

  it('any JSON values round-trip through mset/mget', async () => {
    let batch = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(jsonValue, { minLength: 1, maxLength: 4 }), async (values) => {
        fc.pre(fits(values) && !holdsNegativeZero(values));
        const keys = values.map((_, i) => `jsonm:${batch}:${i}`);
        batch++;
        expect(await client.mset(keys.map((key, i) => [key, values[i]] as const))).toBe('OK');
        const got = await client.mget(...keys);
        expect([...got]).toEqual(keys.map((key, i) => [key, viaJson(values[i])]));
      }),
      { numRuns: 80 },
    );
    expect(server.crashLog).toEqual([]);
  });

  it('-0 anywhere in a value is refused with a TypeError naming it, before anything is sent (JSON would store 0)', async () => {
    let key = 0;
    await fc.assert(
      fc.asyncProperty(jsonValue, fc.array(fc.nat(), { maxLength: 4 }), async (value, choices) => {
        const planted = plantNegativeZero(value, choices);
        const name = `neg:${key++}`;
        const before = server.stats.requests;
        expect(() => client.set(name, planted)).toThrow(/^SET "neg:\d+": (the value|value[\s\S]*) is -0, which JSON would store as 0; nothing was sent$/);
        expect(() => client.mset([[name, planted]])).toThrow(/^MSET entry 1 \(key "neg:\d+"\): (the value|value[\s\S]*) is -0, which JSON would store as 0; nothing was sent$/);
        expect(server.stats.requests).toBe(before);
      }),
      { numRuns: 100 },
    );
    expect(await client.exists('neg:0')).toBe(false);
  });
});
