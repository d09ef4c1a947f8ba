/**
 * Property: for any value, rich in CR, LF, 0x03 and empty strings and maps,
 * each dialect's writer either refuses the request with a DialectError that
 * points at a part really at fault (and leaves no bytes), or writes bytes
 * that, decoded back, hold nothing the dialect forbids, and are the very
 * bytes a rule-free writer produces.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DialectError, type DialectErrorReason, type ValuePathStep } from '../../src/errors.js';
import { decodeWire } from '../../src/protocol/decoder.js';
import { DIALECTS, resolveDialect, type Dialect } from '../../src/protocol/dialect.js';
import { RequestWriter, type Command } from '../../src/protocol/encoder.js';
import type { Value, WireValue } from '../../src/protocol/values.js';

const dialects: Dialect[] = [DIALECTS.legacy, DIALECTS['etx-request'], DIALECTS.etx, resolveDialect({ requestTerminator: false, pipelining: true })];

const unit = fc.constantFrom('a', 'b', ' ', '\t', '\r', '\n', '\x03', 'ż', '🐢');
const shortString = fc.string({ unit, maxLength: 6 });
const anyString = fc.oneof(
  { weight: 4, arbitrary: shortString },
  // Long strings take the encoder's general path.
  { weight: 1, arbitrary: shortString.map((s) => `${'x'.repeat(64)}${s}`) },
);
const scalar: fc.Arbitrary<Value> = fc.oneof(
  { weight: 4, arbitrary: anyString },
  { weight: 2, arbitrary: anyString.map((s) => Buffer.from(s)) },
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
);
const { value: valueArb } = fc.letrec<{ value: Value }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    scalar,
    fc.array(tie('value'), { maxLength: 4 }),
    fc.array(fc.tuple(shortString, tie('value')), { maxLength: 3 }).map((entries) => new Map(entries)),
    fc.array(fc.tuple(shortString, tie('value')), { maxLength: 3 }).map((entries) => Object.fromEntries(entries) as Value),
    fc.array(tie('value'), { maxLength: 3 }).map((items) => new Set(items)),
  ),
}));

/** The reason the dialect refuses this part itself (not looking inside it), if any. */
function ownFault(dialect: Dialect, part: unknown): DialectErrorReason | undefined {
  if (typeof part === 'string' || part instanceof Uint8Array) {
    const s = typeof part === 'string' ? part : Buffer.from(part).toString('latin1');
    if (s.length === 0) return dialect.forbidEmpty ? 'empty-string' : undefined;
    const reasons: [string, boolean, DialectErrorReason][] = [
      ['\x03', dialect.forbidEtx, 'etx'],
      ['\n', dialect.forbidLineFeed, 'line-feed'],
      ['\r', dialect.forbidCarriageReturn, 'carriage-return'],
    ];
    const hits = reasons.filter(([c, on]) => on && s.includes(c)).sort((a, b) => s.indexOf(a[0]) - s.indexOf(b[0]));
    return hits[0]?.[2];
  }
  const size = part instanceof Map ? part.size : part !== null && typeof part === 'object' && !Array.isArray(part) && !(part instanceof Set) ? Object.keys(part).length : -1;
  return size === 0 && dialect.forbidEmpty ? 'empty-map' : undefined;
}

/** Whether the dialect refuses anything in this value, at any depth (an oracle independent of the encoder). */
function breaksRules(dialect: Dialect, value: unknown): boolean {
  if (ownFault(dialect, value) !== undefined) return true;
  if (typeof value !== 'object' || value === null || value instanceof Uint8Array) return false;
  if (Array.isArray(value) || value instanceof Set) return [...(value as Iterable<unknown>)].some((item) => breaksRules(dialect, item));
  const entries = value instanceof Map ? [...(value as Map<unknown, unknown>)] : Object.entries(value);
  return entries.some(([key, item]) => breaksRules(dialect, key) || breaksRules(dialect, item));
}

/** The part a DialectError's argument and location point at. */
function follow(command: Command, argument: number, location: readonly ValuePathStep[]): unknown {
  let part: unknown = command[argument];
  for (const step of location) {
    if (step.kind === 'index') part = (part as unknown[])[step.index];
    else if (step.kind === 'set-element') part = [...(part as Set<unknown>)][step.index];
    else if (step.kind === 'map-key') part = step.key;
    else part = step.container === 'map' ? (part as Map<string, unknown>).get(step.key) : (part as Record<string, unknown>)[step.key];
  }
  return part;
}

/** Every bulk string and map of a decoded value keeps the dialect's rules. */
function expectWithinRules(dialect: Dialect, value: WireValue): void {
  switch (value.type) {
    case 'bulk':
      expect(ownFault(dialect, value.value)).toBeUndefined();
      return;
    case 'map':
      if (dialect.forbidEmpty) expect(value.value.length).toBeGreaterThan(0);
      for (const [key, item] of value.value) {
        expectWithinRules(dialect, key);
        expectWithinRules(dialect, item);
      }
      return;
    case 'array':
    case 'set':
      for (const item of value.value) expectWithinRules(dialect, item);
      return;
    default:
      return;
  }
}

describe('value rules, for any value and every dialect', () => {
  it('append refuses exactly what breaks the rules, pointing at a part at fault; what it writes decodes within the rules', () => {
    fc.assert(
      fc.property(anyString, valueArb, (key, value) => {
        const command: Command = ['SET', key, value];
        for (const dialect of dialects) {
          const writer = new RequestWriter(dialect);
          writer.append(['PING']);
          const before = writer.length;
          let thrown: unknown;
          try {
            writer.append(command);
          } catch (error) {
            thrown = error;
          }
          if (thrown !== undefined) {
            expect(thrown).toBeInstanceOf(DialectError);
            expect(writer.length).toBe(before);
            const error = thrown as DialectError;
            if (error.reason === 'too-large') continue;
            expect(breaksRules(dialect, key) || breaksRules(dialect, value)).toBe(true);
            expect(ownFault(dialect, follow(command, error.argument as number, error.location))).toBe(error.reason);
            continue;
          }
          expect(breaksRules(dialect, key) || breaksRules(dialect, value)).toBe(false);
          const bytes = writer.take().subarray(before);
          // The rules never change the encoding: same bytes as a writer without rules.
          const plain = new RequestWriter();
          plain.append(command);
          const body = dialect.requestTerminator ? bytes.subarray(0, -1) : bytes;
          expect(body).toEqual(plain.take());
          if (dialect.requestTerminator) expect(bytes[bytes.length - 1]).toBe(0x03);
          const decoded = decodeWire(body);
          expect(decoded?.end).toBe(body.length);
          expectWithinRules(dialect, (decoded as { value: WireValue }).value);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('appendValue follows the same rules and leaves no bytes when it refuses', () => {
    fc.assert(
      fc.property(valueArb, (value) => {
        for (const dialect of dialects) {
          const writer = new RequestWriter(dialect);
          const refused = breaksRules(dialect, value);
          if (refused) {
            expect(() => writer.appendValue(value)).toThrow(DialectError);
            expect(writer.length).toBe(0);
          } else {
            expect(writer.appendValue(value)).toBe(writer.length);
          }
        }
      }),
      { numRuns: 300 },
    );
  });
});
