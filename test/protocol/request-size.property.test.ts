/**
 * `encodedSizeExceeds` (issue 19: the pool routes requests over one write
 * apart from small ones) against the encoder itself: a request the encoder
 * makes longer than the limit is always "over"; one shorter by the slack of
 * its scalars (32 bytes each, their most) is always "not over".
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DIALECTS, resolveDialect } from '../../src/protocol/dialect.js';
import { encodeRequest, type Command } from '../../src/protocol/encoder.js';
import { encodedSizeExceeds } from '../../src/protocol/request-size.js';
import { Float, type Value } from '../../src/protocol/values.js';

/** A dialect without value rules, so that any value encodes (the sizes are the same under 'etx'). */
const OPEN = resolveDialect({ requestTerminator: true, pipelining: true });

const scalar = fc.oneof(fc.integer(), fc.double({ noNaN: true }).map((x) => new Float(x)), fc.boolean(), fc.constant(null), fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }));
const text = fc.oneof(fc.string({ maxLength: 40 }), fc.string({ unit: 'grapheme', maxLength: 800 }), fc.string({ unit: 'binary', maxLength: 600 }), fc.constant('x'.repeat(1390)));
const bytes = fc.uint8Array({ maxLength: 1500 }).map((b) => Buffer.from(b));
const { value } = fc.letrec<{ value: Value }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    text,
    bytes,
    scalar,
    fc.array(tie('value'), { maxLength: 4 }),
    fc.array(fc.tuple(fc.string({ maxLength: 8 }), tie('value')), { maxLength: 3 }).map((entries) => new Map(entries)),
    fc.array(tie('value'), { maxLength: 3 }).map((items) => new Set(items)),
    fc.dictionary(fc.string({ maxLength: 8 }), tie('value'), { maxKeys: 3 }),
  ),
}));
const command = fc.tuple(fc.constantFrom('SET', 'GET', 'MSET', 'ECHO'), fc.array(value, { maxLength: 4 })).map(([name, args]) => [name, ...args] as unknown as Command);

/** How many scalars the command holds (each may be over-counted by up to 32 bytes). */
function scalars(v: unknown): number {
  if (typeof v === 'string' || v instanceof Uint8Array) return 0;
  if (v === null || typeof v !== 'object' || v instanceof Float) return 1;
  if (Array.isArray(v) || v instanceof Set) return [...v].reduce((n: number, x) => n + scalars(x), 0);
  if (v instanceof Map) return [...v.values()].reduce((n: number, x) => n + 1 + scalars(x), 0);
  return Object.values(v).reduce((n: number, x) => n + 1 + scalars(x), 0);
}

describe('encodedSizeExceeds', () => {
  it('property: agrees with the encoder, up to the slack of scalars and container headers', () => {
    fc.assert(
      fc.property(command, fc.integer({ min: 1, max: 4000 }), (cmd, limit) => {
        let actual: number;
        try {
          actual = encodeRequest(OPEN, cmd).length;
        } catch {
          return; // the encoder refuses it: any answer will do
        }
        const over = encodedSizeExceeds(cmd, limit);
        if (actual > limit) expect(over).toBe(true);
        if (actual + 32 * (scalars(cmd) + 1) <= limit) expect(over).toBe(false);
      }),
      { numRuns: 400 },
    );
  });

  it('counts empty and small containers by their own headers (found by the property: ["SET", Set {}, Map {}] at 54)', () => {
    for (const cmd of [['SET', new Set(), new Map()], ['SET', 'k', {}], ['SET', 'k', [[], new Set([new Map()])]]] as unknown as Command[]) {
      const size = encodeRequest(OPEN, cmd).length;
      expect(encodedSizeExceeds(cmd, size)).toBe(false);
      expect(encodedSizeExceeds(cmd, size - 1)).toBe(true);
    }
  });

  it('is exact for strings at the limit (UTF-8 bytes, not characters), and false for Infinity', () => {
    for (const payload of ['x'.repeat(1300), 'é'.repeat(650), 'x'.repeat(1370), '😀'.repeat(300)]) {
      const cmd: Command = ['SET', 'key', payload];
      const size = encodeRequest(DIALECTS.etx, cmd).length;
      expect(encodedSizeExceeds(cmd, size)).toBe(false);
      expect(encodedSizeExceeds(cmd, size - 1)).toBe(true);
      expect(encodedSizeExceeds(cmd, Infinity)).toBe(false);
    }
  });

  it('ends on cyclic and absurdly deep values (which the encoder refuses)', () => {
    const cycle: unknown[] = [];
    cycle.push(cycle, cycle);
    expect(encodedSizeExceeds(['SET', 'k', cycle], 1400)).toBe(true);
    const object: Record<string, unknown> = {};
    object.self = object;
    expect(typeof encodedSizeExceeds(['SET', 'k', object], 100_000)).toBe('boolean');
    const wide: unknown[] = [];
    for (let i = 0; i < 8; i++) wide.push(wide);
    expect(typeof encodedSizeExceeds(['SET', 'k', wide], 1_000_000)).toBe('boolean'); // 8^600 paths: the byte budget ends it
    let deep: unknown = 'leaf';
    for (let i = 0; i < 2000; i++) deep = [deep];
    expect(typeof encodedSizeExceeds(['SET', 'k', deep], 1_000_000)).toBe('boolean');
  });
});
