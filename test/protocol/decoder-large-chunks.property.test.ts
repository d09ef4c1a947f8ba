/**
 * Large values in large reads: when a value under way ends early in a large
 * chunk, the decoder joins only the bytes that complete it and decodes the
 * rest of the chunk where it lies (src/protocol/decoder.ts). Whatever the
 * cut, the replies are those of the whole stream decoded at once, in order,
 * with the 0x03 rules of each terminator mode.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ReplyDecoder, type ReplyTerminator } from '../../src/protocol/decoder.js';
import type { DecodedReply } from '../../src/protocol/values.js';

const ETX = Buffer.from([3]);

/** One reply on the wire: a bulk string of `size` bytes (letters, position-dependent), or a short header-only reply. */
function replyBytes(kind: 'bulk' | 'int' | 'simple', size: number, index: number): { wire: Buffer; value: DecodedReply } {
  if (kind === 'int') return { wire: Buffer.from(`:${index}\r\n`), value: index };
  if (kind === 'simple') return { wire: Buffer.from(`+s${index}\r\n`), value: `s${index}` };
  const text = Array.from({ length: size }, (_, i) => String.fromCharCode(97 + ((i + index) % 26))).join('');
  return { wire: Buffer.from(`$${size}\r\n${text}\r\n`), value: text };
}

function feed(decoder: ReplyDecoder, stream: Buffer, cuts: readonly number[]): DecodedReply[] {
  const out: DecodedReply[] = [];
  const points = [...new Set(cuts.map((c) => c % (stream.length + 1)))].sort((a, b) => a - b);
  let from = 0;
  for (const point of [...points, stream.length]) {
    decoder.push(stream.subarray(from, point), (reply) => out.push(reply));
    from = point;
  }
  return out;
}

const replies = fc.array(
  fc.record({ kind: fc.constantFrom('bulk', 'bulk', 'bulk', 'int', 'simple') as fc.Arbitrary<'bulk' | 'int' | 'simple'>, size: fc.integer({ min: 0, max: 20_000 }) }),
  { minLength: 1, maxLength: 24 },
);

describe('large values split across large chunks', () => {
  for (const mode of ['optional', 'required', 'forbidden'] as const satisfies readonly ReplyTerminator[]) {
    it(`terminator '${mode}': any cuts give the replies of the whole stream, in order`, () => {
      fc.assert(
        fc.property(replies, fc.array(fc.nat(), { maxLength: 12 }), (specs, cuts) => {
          const parts = specs.map((spec, i) => replyBytes(spec.kind, spec.size, i));
          const stream = Buffer.concat(parts.flatMap((p) => (mode === 'forbidden' ? [p.wire] : [p.wire, ETX])));
          const got = feed(new ReplyDecoder({ terminator: mode }), stream, cuts);
          expect(got).toEqual(parts.map((p) => p.value));
        }),
        { numRuns: 150 },
      );
    });
  }

  it('10 KB replies in 64 KB reads: every reply whole, none lost at a read boundary', () => {
    const parts = Array.from({ length: 40 }, (_, i) => replyBytes('bulk', 10_240, i));
    const stream = Buffer.concat(parts.map((p) => p.wire));
    const cuts = Array.from({ length: Math.floor(stream.length / 65_536) }, (_, i) => (i + 1) * 65_536);
    expect(feed(new ReplyDecoder(), stream, cuts)).toEqual(parts.map((p) => p.value));
  });

  it('a long simple-string line arriving byte-wise at its end is still joined whole (no per-byte split)', () => {
    const line = `+${'x'.repeat(9000)}\r\n`;
    const stream = Buffer.concat([Buffer.from(line), Buffer.from(`$5000\r\n${'y'.repeat(5000)}\r\n`)]);
    const got = feed(new ReplyDecoder(), stream, [4000, 8990, 8991, 8992]);
    expect(got).toEqual(['x'.repeat(9000), 'y'.repeat(5000)]);
  });
});
