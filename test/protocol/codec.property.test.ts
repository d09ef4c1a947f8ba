import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ProtocolError } from '../../src/errors.js';
import { ReplyDecoder, WireDecoder, decodeWire } from '../../src/protocol/decoder.js';
import { encodeValue, encodeWire } from '../../src/protocol/encoder.js';
import { Float, type Reply, type Value, type WireValue } from '../../src/protocol/values.js';

/** What the decoder must give back for a value the encoder wrote. */
function expected(value: Value): Reply {
  if (typeof value === 'bigint') return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value;
  if (value instanceof Uint8Array) return Buffer.from(value).toString('utf8');
  if (value instanceof Float) return value.value;
  if (Array.isArray(value)) return value.map(expected);
  if (value instanceof Map) return new Map([...value].map(([k, v]) => [k, expected(v as Value)]));
  if (value instanceof Set) return new Set([...value].map((v) => expected(v as Value)));
  if (typeof value === 'object' && value !== null) return new Map(Object.entries(value).map(([k, v]) => [k, expected(v)]));
  return value as Reply;
}

const scalar: fc.Arbitrary<Value> = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.uint8Array({ maxLength: 20 }).map((bytes) => Buffer.from(Buffer.from(bytes).toString('utf8'))),
  fc.integer(),
  fc.maxSafeInteger(),
  fc.double(),
  fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
  fc.double().map((d) => new Float(d)),
  fc.boolean(),
  fc.constant(null),
);

const { value: valueArb } = fc.letrec<{ value: Value }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    scalar,
    fc.array(tie('value'), { maxLength: 5 }),
    fc.dictionary(fc.string({ maxLength: 8 }), tie('value'), { maxKeys: 4 }),
    fc.array(fc.tuple(fc.string({ maxLength: 8 }), tie('value')), { maxLength: 4 }).map((entries) => new Map(entries)),
    fc.array(scalar, { maxLength: 4 }).map((items) => new Set(items)),
  ),
}));

const { wire: wireArb } = fc.letrec<{ wire: WireValue }>((tie) => ({
  wire: fc.oneof(
    { depthSize: 'small' },
    fc.string({ maxLength: 10 }).filter((s) => !/[\r\n]/.test(s)).map((value) => ({ type: 'simple' as const, value })),
    fc.uint8Array({ maxLength: 16 }).map((bytes) => ({ type: 'bulk' as const, value: Buffer.from(bytes) })),
    fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map((value) => ({ type: 'integer' as const, value })),
    fc.double().map((value) => ({ type: 'float' as const, value })),
    fc.boolean().map((value) => ({ type: 'boolean' as const, value })),
    fc.constant({ type: 'null' as const }),
    fc.string({ maxLength: 10 }).filter((s) => !/[\r\n]/.test(s)).map((value) => ({ type: 'error' as const, value })),
    fc.array(tie('wire'), { maxLength: 4 }).map((value) => ({ type: 'array' as const, value })),
    fc.array(tie('wire'), { maxLength: 4 }).map((value) => ({ type: 'set' as const, value })),
    fc.array(fc.tuple(tie('wire'), tie('wire')), { maxLength: 3 }).map((value) => ({ type: 'map' as const, value })),
  ),
}));

function decodeAll(chunks: readonly Buffer[]): unknown[] {
  const decoder = new ReplyDecoder();
  const out: unknown[] = [];
  for (const chunk of chunks) decoder.push(chunk, (reply) => out.push(reply));
  expect(decoder.bufferedBytes).toBe(0);
  return out;
}

/** Splits `bytes` at the given (sorted, deduplicated) cut points. */
function split(bytes: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let from = 0;
  for (const point of points) {
    chunks.push(bytes.subarray(from, point));
    from = point;
  }
  chunks.push(bytes.subarray(from));
  return chunks;
}

describe('codec properties', () => {
  it('encode -> decode round-trips any value', () => {
    fc.assert(
      fc.property(valueArb, (value) => {
        expect(decodeAll([encodeValue(value)])).toEqual([expected(value)]);
      }),
      { numRuns: 400 },
    );
  });

  it('encode -> decode round-trips any wire value exactly', () => {
    fc.assert(
      fc.property(wireArb, (value) => {
        const bytes = encodeWire(value);
        expect(decodeWire(bytes)).toEqual({ value, end: bytes.length });
      }),
      { numRuns: 400 },
    );
  });

  it('any chunking of a stream of replies (with optional 0x03 after each) decodes to the same sequence', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(valueArb, fc.boolean()), { minLength: 1, maxLength: 8 }),
        fc.array(fc.nat(), { maxLength: 12 }),
        (items, cuts) => {
          const bytes = Buffer.concat(items.flatMap(([value, etx]) => (etx ? [encodeValue(value), Buffer.from([3])] : [encodeValue(value)])));
          expect(decodeAll(split(bytes, cuts))).toEqual(items.map(([value]) => expected(value)));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('random garbage never throws anything but ProtocolError and never buffers past the limit', () => {
    const limits = { maxBulkBytes: 256, maxAggregateLength: 64, maxDepth: 6, maxBufferedBytes: 1024 };
    const prefixes = ['+', '-', ':', ',', '#', '_', '$', '*', '%', '~', '\r\n', '\x03', '-1', '9999999999'];
    const garbage = fc.array(fc.oneof(fc.uint8Array({ maxLength: 40 }), fc.constantFrom(...prefixes).map((p) => Buffer.from(p))), {
      maxLength: 30,
    });
    fc.assert(
      fc.property(garbage, (chunks) => {
        for (const decoder of [new ReplyDecoder({ limits }), new WireDecoder({ limits })]) {
          for (const chunk of chunks) {
            try {
              decoder.push(Buffer.from(chunk), () => undefined);
            } catch (error) {
              expect(error).toBeInstanceOf(ProtocolError);
              break;
            }
            expect(decoder.bufferedBytes).toBeLessThanOrEqual(limits.maxBufferedBytes);
          }
        }
      }),
      { numRuns: 1000 },
    );
  });
});
