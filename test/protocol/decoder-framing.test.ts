/**
 * The decoder's reply framing (issue 18, item 3): with `terminator:
 * 'required'` (current servers) every reply must be followed by exactly one
 * 0x03 and is handed on only once it has arrived; with `'forbidden'` (2024
 * and 2025 servers) a 0x03 is refused anywhere. Any split of the stream gives
 * the same outcome.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ProtocolError } from '../../src/errors.js';
import { ReplyDecoder, type ReplyTerminator } from '../../src/protocol/decoder.js';
import type { DecodedReply } from '../../src/protocol/values.js';

/** Feeds `bytes` in pieces cut at `cuts` and returns the replies, and the error if any. */
function decode(mode: ReplyTerminator, bytes: string, cuts: readonly number[] = []): { replies: DecodedReply[]; error: unknown } {
  const decoder = new ReplyDecoder({ terminator: mode });
  const buffer = Buffer.from(bytes, 'latin1');
  const points = [...new Set(cuts.map((c) => c % (buffer.length + 1)))].sort((a, b) => a - b);
  const replies: DecodedReply[] = [];
  let from = 0;
  try {
    for (const point of [...points, buffer.length]) {
      decoder.push(buffer.subarray(from, point), (reply) => replies.push(reply));
      from = point;
    }
  } catch (error) {
    return { replies, error };
  }
  return { replies, error: undefined };
}

describe("terminator 'required'", () => {
  it('hands a reply on only once its 0x03 has arrived', () => {
    const decoder = new ReplyDecoder({ terminator: 'required' });
    const replies: DecodedReply[] = [];
    decoder.push(Buffer.from('+PONG\r\n'), (reply) => replies.push(reply));
    expect(replies).toEqual([]);
    expect(decoder.inProgress).toBe(true);
    decoder.push(Buffer.from([3]), (reply) => replies.push(reply));
    expect(replies).toEqual(['PONG']);
    expect(decoder.inProgress).toBe(false);
  });

  it('refuses a reply not followed by 0x03, naming the older generations; the reply is not handed on', () => {
    const { replies, error } = decode('required', '$1\r\na\r\n+OK\r\n\x03');
    expect(replies).toEqual([]);
    expect(error).toBeInstanceOf(ProtocolError);
    expect((error as ProtocolError).reason).toBe('framing');
    expect((error as Error).message).toMatch(/not followed by 0x03 \(got 0x2b\).*2024 \('legacy'\) or 2025 \('etx-request'\).*dialect 'auto'/);
  });

  it('refuses a second 0x03, and one before any reply', () => {
    expect(decode('required', '+OK\r\n\x03\x03').error).toBeInstanceOf(ProtocolError);
    expect(decode('required', '\x03+OK\r\n\x03').error).toBeInstanceOf(ProtocolError);
    expect(decode('required', '+OK\r\n\x03\x03').replies).toEqual(['OK']);
  });

  it('any split of well-framed replies gives the same replies', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom('+OK\r\n', '$3\r\nabc\r\n', ':-7\r\n', '*2\r\n$1\r\na\r\n_\r\n', '-ERR x\r\n', '%1\r\n$1\r\nk\r\n#t\r\n'), { minLength: 1, maxLength: 8 }), fc.array(fc.nat(), { maxLength: 10 }), (parts, cuts) => {
        const stream = parts.map((part) => `${part}\x03`).join('');
        const whole = decode('required', stream);
        const split = decode('required', stream, cuts);
        expect(whole.error).toBeUndefined();
        expect(split.error).toBeUndefined();
        expect(split.replies).toEqual(whole.replies);
        expect(split.replies).toHaveLength(parts.length);
      }),
    );
  });

  it('any split of replies missing a 0x03 fails, handing on only the replies before the fault', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom('+OK\r\n', '$3\r\nabc\r\n', ':1\r\n'), { minLength: 2, maxLength: 6 }), fc.nat(), fc.array(fc.nat(), { maxLength: 6 }), (parts, drop, cuts) => {
        const missing = drop % (parts.length - 1); // not the last one: something must follow the fault
        const stream = parts.map((part, i) => (i === missing ? part : `${part}\x03`)).join('');
        const { replies, error } = decode('required', stream, cuts);
        expect(error).toBeInstanceOf(ProtocolError);
        expect(replies).toHaveLength(missing);
      }),
    );
  });
});

describe("terminator 'forbidden'", () => {
  it('refuses a 0x03 after a reply, naming the current generation', () => {
    const { replies, error } = decode('forbidden', '+PONG\r\n\x03');
    expect(replies).toEqual(['PONG']);
    expect(error).toBeInstanceOf(ProtocolError);
    expect((error as Error).message).toMatch(/which only current zcached servers \('etx'\) send.*dialect 'auto'/);
  });

  it('takes replies without 0x03, split anywhere', () => {
    fc.assert(
      fc.property(fc.array(fc.nat(), { maxLength: 8 }), (cuts) => {
        expect(decode('forbidden', '+OK\r\n$2\r\nab\r\n:3\r\n', cuts)).toEqual({ replies: ['OK', 'ab', 3], error: undefined });
      }),
    );
  });
});

describe("terminator 'optional' (tools, custom dialects)", () => {
  it('skips 0x03 between replies, as before', () => {
    expect(decode('optional', '\x03+OK\r\n\x03\x03$1\r\na\r\n')).toEqual({ replies: ['OK', 'a'], error: undefined });
  });
});
