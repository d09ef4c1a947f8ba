/**
 * Every value either reaches a faithful embedded server and reads back
 * exactly, or is refused with a DialectError before a byte is sent — in
 * every dialect, against the server generation it targets (which mangles
 * values as the real one does: see ../../../shared/protocol.md).
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ZCached } from '../../src/client/client.js';
import { DialectError } from '../../src/errors.js';
import type { DialectName } from '../../src/protocol/dialect.js';
import type { Reply, Value } from '../../src/protocol/values.js';
import { startServer, type ZCachedServer } from '../../src/testing/server.js';
import { watchUnhandledRejections } from '../support.js';

const unhandled = watchUnhandledRejections();

/** Characters that real servers treat specially, plus ordinary and multi-byte ones. */
const char = fc.constantFrom('a', 'Z', ' ', '\r', '\n', '\x03', 'é', '€', '0', '{', '"');
const text = fc.string({ unit: char, maxLength: 12 });
const bytes = fc.array(fc.constantFrom(0x00, 0x03, 0x0a, 0x0d, 0x61, 0xff), { maxLength: 12 }).map((a) => Buffer.from(a));
const value: fc.Arbitrary<Value> = fc.letrec<{ value: Value }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    text,
    bytes,
    fc.array(tie('value'), { maxLength: 4 }),
    fc.uniqueArray(fc.tuple(text, tie('value')), { maxLength: 3, selector: ([k]) => k }).map((entries) => new Map(entries)),
  ),
})).value;

/** A reply (bulk strings as Buffers) and a sent value in one comparable form: bytes as hex. */
function canonical(x: Reply | Value | undefined): unknown {
  if (typeof x === 'string') return Buffer.from(x).toString('hex');
  if (x instanceof Uint8Array) return Buffer.from(x).toString('hex');
  if (Array.isArray(x)) return x.map(canonical);
  if (x instanceof Map) return [...x].map(([k, v]) => [canonical(k as string), canonical(v as Value)]).sort((a, b) => String(a[0]).localeCompare(String(b[0])));
  return x;
}

describe.each<DialectName>(['legacy', 'etx-request', 'etx'])("'%s': a value round-trips exactly or is refused before sending", (dialect) => {
  let server: ZCachedServer;
  let client: ZCached;
  beforeAll(async () => {
    server = await startServer({ dialect });
    client = new ZCached({ port: server.port, dialect, bulkAsBuffer: true, poolSize: 2 });
    await client.run();
  });
  afterAll(async () => {
    await client.close();
    await server.close();
  });

  it('never a different value; never a server crash', async () => {
    let n = 0;
    await fc.assert(
      fc.asyncProperty(value, async (v) => {
        const key = `k${n++}`;
        const before = server.stats.requests;
        let refused: unknown;
        let stored: Promise<unknown> | undefined;
        try {
          stored = client.set(key, v);
        } catch (error) {
          refused = error;
        }
        if (stored === undefined) {
          expect(refused).toBeInstanceOf(DialectError);
          expect(server.stats.requests, 'a refused value reached the server').toBe(before);
          return;
        }
        expect(await stored).toBe('OK');
        expect(canonical(await client.get(key))).toEqual(canonical(v));
      }),
      { numRuns: 300 },
    );
    expect(server.stats.crashes).toBe(0);
    expect(unhandled).toEqual([]);
  });

  it('the inputs of the real-server issue', async () => {
    const inputs: Value[] = [
      'line1\nline2',
      'a\r\nb',
      'end\n',
      JSON.stringify({ a: 1, b: [1, 2] }, null, 2),
      Buffer.from([0x61, 0x0a, 0x62]),
      ['ok', 'x\ny'],
      new Map([['k', 'v\nw']]),
      [['deep', ['er', 'x\n']]],
      '',
      new Map(),
      'a\rb',
      [],
    ];
    for (const [i, v] of inputs.entries()) {
      let refused: unknown;
      try {
        expect(await client.set(`issue${i}`, v)).toBe('OK');
      } catch (error) {
        refused = error;
      }
      if (refused !== undefined) {
        expect(refused, `input ${i}`).toBeInstanceOf(DialectError);
        continue;
      }
      expect(canonical(await client.get(`issue${i}`)), `input ${i}`).toEqual(canonical(v));
    }
    expect(server.stats.crashes).toBe(0);
  });
});
