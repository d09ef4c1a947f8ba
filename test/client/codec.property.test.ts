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

/** What JSON gives back for a value (`-0` becomes `0`): the round trip to expect. */
const viaJson = (value: unknown): unknown => JSON.parse(JSON.stringify(value));

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
        fc.pre(fits(values));
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
});
