/**
 * The decoder at the edges of each rule: every wire type's malformed forms,
 * the boundaries of its limits, the numbers at the safe-integer and 64-bit
 * edges, and what a value costs against `maxBufferedBytes`. Each case pins
 * one decision of decoder.ts that the broader tests leave free.
 */
import { describe, expect, it } from 'vitest';
import { ProtocolError, ServerError, type ProtocolErrorReason } from '../../src/errors.js';
import { DEFAULT_DECODER_LIMITS, ReplyDecoder, WireDecoder, decodeReplies, decodeWire, type DecoderLimits } from '../../src/protocol/decoder.js';
import type { DecodedReply, WireValue } from '../../src/protocol/values.js';

const b = (s: string) => Buffer.from(s, 'latin1');

/** Decodes `input` whole; returns the replies, or the error it threw. */
function attempt(input: string, limits?: Partial<DecoderLimits>): DecodedReply[] | ProtocolError {
  try {
    return decodeReplies(b(input), limits === undefined ? {} : { limits });
  } catch (error) {
    expect(error).toBeInstanceOf(ProtocolError);
    return error as ProtocolError;
  }
}

/** The one reply `input` decodes to. */
function one(input: string, limits?: Partial<DecoderLimits>): DecodedReply {
  const replies = attempt(input, limits);
  if (replies instanceof ProtocolError) throw replies;
  expect(replies).toHaveLength(1);
  return replies[0] as DecodedReply;
}

/** The reason and message of the error `input` is refused with. */
function refusal(input: string, limits?: Partial<DecoderLimits>): { reason: ProtocolErrorReason; message: string } {
  const result = attempt(input, limits);
  if (!(result instanceof ProtocolError)) throw new Error(`${JSON.stringify(input)} was accepted as ${String(result)}`);
  return { reason: result.reason, message: result.message };
}

/** The exact wire value `input` decodes to. */
function wire(input: string): WireValue {
  const out: WireValue[] = [];
  new WireDecoder().push(b(input), (value) => out.push(value));
  expect(out).toHaveLength(1);
  return out[0] as WireValue;
}

describe('decoder limits must be positive integers', () => {
  const names = Object.keys(DEFAULT_DECODER_LIMITS) as (keyof DecoderLimits)[];

  it('are all four, with their defaults', () => {
    expect(DEFAULT_DECODER_LIMITS).toEqual({
      maxBulkBytes: 64 * 1024 * 1024,
      maxAggregateLength: 16 * 1024 * 1024,
      maxDepth: 128,
      maxBufferedBytes: 256 * 1024 * 1024,
    });
    expect(Object.isFrozen(DEFAULT_DECODER_LIMITS)).toBe(true);
  });

  it.each(names)('%s: 0, negative, fractional, NaN, Infinity and non-numbers are refused by every entry point', (name) => {
    for (const bad of [0, -1, 1.5, Number.NaN, Infinity, 2 ** 53, '8' as unknown as number]) {
      const message = `decoder limit ${name} must be a positive integer, got ${String(bad)}`;
      const limits = { [name]: bad };
      expect(() => new ReplyDecoder({ limits }), `${name}: ${String(bad)}`).toThrow(new RangeError(message));
      expect(() => new WireDecoder({ limits })).toThrow(new RangeError(message));
      expect(() => decodeWire(b(':1\r\n'), limits)).toThrow(new RangeError(message));
      expect(() => decodeReplies(b(':1\r\n'), { limits })).toThrow(new RangeError(message));
    }
  });

  it.each(names)('%s: 1 is a valid limit', (name) => {
    expect(() => new ReplyDecoder({ limits: { [name]: 1 } })).not.toThrow();
    expect(() => new WireDecoder({ limits: { [name]: 1 } })).not.toThrow();
  });

  it('maxDepth: NaN is refused rather than meaning "no depth limit"', () => {
    expect(() => new ReplyDecoder({ limits: { maxDepth: Number.NaN } })).toThrow(RangeError);
    // The limit that is accepted is enforced: depth 1 takes one level and no more.
    expect(one('*1\r\n:1\r\n', { maxDepth: 1 })).toEqual([1]);
    expect(refusal('*1\r\n*1\r\n:1\r\n', { maxDepth: 1 })).toEqual({ reason: 'limit', message: 'nesting passes the depth limit of 1' });
  });
});

describe('integers', () => {
  it('take an optional sign', () => {
    expect(one(':+5\r\n')).toBe(5);
    expect(one(':-5\r\n')).toBe(-5);
    expect(one(':0\r\n')).toBe(0);
    expect(one(':007\r\n')).toBe(7);
    expect(wire(':+5\r\n')).toEqual({ type: 'integer', value: 5n });
    expect(wire(':-5\r\n')).toEqual({ type: 'integer', value: -5n });
  });

  it('refuse an empty integer, with or without a sign', () => {
    for (const input of [':\r\n', ':-\r\n', ':+\r\n']) {
      expect(refusal(input), input).toEqual({ reason: 'integer', message: 'an integer reply has no digits' });
    }
  });

  it('refuse a byte below "0" or above "9" anywhere in a short integer', () => {
    for (const text of ['1.5', '1-2', '1/2', '1:2', '1 ', ' 1', '--1', '+-1', '1+', '0x1f', '1e3']) {
      expect(refusal(`:${text}\r\n`), text).toEqual({ reason: 'integer', message: `malformed integer ${JSON.stringify(text)}` });
    }
  });

  it('refuse a malformed integer of more than 15 digits, with its text', () => {
    for (const text of ['1234567890123456.5', '1234567890123456-', '-12345678901234567/', '12345678901234567:', '9'.repeat(20) + 'x']) {
      expect(refusal(`:${text}\r\n`), text).toEqual({ reason: 'integer', message: `malformed integer ${JSON.stringify(text)}` });
    }
    expect(() => decodeWire(b(':1234567890123456.5\r\n'))).toThrow(expect.objectContaining({ reason: 'integer' }));
  });

  it('are numbers up to 15 digits, and past that while they stay safe integers', () => {
    expect(one(':999999999999999\r\n')).toBe(999_999_999_999_999);
    expect(one(':-999999999999999\r\n')).toBe(-999_999_999_999_999);
    expect(one(':1000000000000000\r\n')).toBe(1_000_000_000_000_000);
    expect(one(':9007199254740991\r\n')).toBe(Number.MAX_SAFE_INTEGER);
    expect(one(':-9007199254740991\r\n')).toBe(Number.MIN_SAFE_INTEGER);
    expect(one(':+9007199254740991\r\n')).toBe(Number.MAX_SAFE_INTEGER);
    expect(one(':0000000000000000001\r\n')).toBe(1);
    expect(one(':-0000000000000000001\r\n')).toBe(-1);
  });

  it('are bigints just past the safe range, on either side', () => {
    expect(one(':9007199254740992\r\n')).toBe(9007199254740992n);
    expect(one(':-9007199254740992\r\n')).toBe(-9007199254740992n);
    expect(one(':9223372036854775807\r\n')).toBe(9223372036854775807n);
    expect(one(':-9223372036854775808\r\n')).toBe(-9223372036854775808n);
    expect(wire(':-9223372036854775808\r\n')).toEqual({ type: 'integer', value: -9223372036854775808n });
    expect(wire(':-9007199254740991\r\n')).toEqual({ type: 'integer', value: -9007199254740991n });
  });

  it('take up to 40 digits; 41 are refused', () => {
    expect(one(`:${'9'.repeat(40)}\r\n`)).toBe(BigInt('9'.repeat(40)));
    expect(one(`:-${'9'.repeat(40)}\r\n`)).toBe(-BigInt('9'.repeat(40)));
    expect(refusal(`:${'9'.repeat(41)}\r\n`)).toEqual({ reason: 'integer', message: 'an integer reply has too many digits' });
    expect(refusal(`:-${'1'.repeat(41)}\r\n`)).toEqual({ reason: 'integer', message: 'an integer reply has too many digits' });
  });

  it('refuse a line longer than a header (64 bytes) as framing', () => {
    expect(refusal(`:${'1'.repeat(64)}\r\n`)).toEqual({ reason: 'integer', message: 'an integer reply has too many digits' });
    expect(refusal(`:${'1'.repeat(65)}\r\n`)).toEqual({ reason: 'framing', message: 'a line is longer than 64 bytes' });
  });
});

describe('floats', () => {
  it('follow the number syntax: sign, digits, fraction, exponent', () => {
    const cases: [string, number][] = [
      ['.25', 0.25],
      ['-.5', -0.5],
      ['+.5', 0.5],
      ['1.', 1],
      ['1.5', 1.5],
      ['+1.5', 1.5],
      ['-1.5e3', -1500],
      ['1E+2', 100],
      ['25e-1', 2.5],
      ['.5e1', 5],
      ['10', 10],
      ['123456789', 123456789],
      ['0.000001', 0.000001],
    ];
    for (const [text, value] of cases) {
      expect(one(`,${text}\r\n`), text).toBe(value);
      expect(wire(`,${text}\r\n`)).toEqual({ type: 'float', value });
    }
  });

  it('take inf, +inf, -inf and nan in any case', () => {
    expect(one(',INF\r\n')).toBe(Infinity);
    expect(one(',+Inf\r\n')).toBe(Infinity);
    expect(one(',-INF\r\n')).toBe(-Infinity);
    expect(one(',NaN\r\n')).toBeNaN();
    expect(wire(',-inf\r\n')).toEqual({ type: 'float', value: -Infinity });
  });

  it('refuse everything else, even what Number() would take', () => {
    for (const text of ['.x', '.', '', '-', '+', 'e5', '.e5', '1e', '1e+', '1.5.', 'x1', '1x', ' 1', '1 ', '0x10', 'Infinity', '-Infinity', '1_0', '++1', '1..2', 'nan1', 'inf5', '1e5x', 'a1', '1a', '1.a', '1.5ea']) {
      expect(refusal(`,${text}\r\n`), text).toEqual({ reason: 'float', message: `malformed float ${JSON.stringify(text)}` });
    }
  });

  it('are lines of at most 1024 bytes (a limit, not framing)', () => {
    expect(one(`,${'1'.repeat(1024)}\r\n`)).toBe(Number('1'.repeat(1024)));
    expect(refusal(`,${'1'.repeat(1025)}\r\n`)).toEqual({ reason: 'limit', message: 'a line is longer than 1024 bytes' });
  });
});

describe('simple strings, booleans, nulls and errors', () => {
  it('simple strings: OK is shared, every other text decoded as UTF-8', () => {
    expect(one('+OK\r\n')).toBe('OK');
    for (const text of ['NO', 'Ok', 'O', 'OKAY', 'KO', 'XK', 'OX', '']) expect(one(`+${text}\r\n`), text).toBe(text);
    expect(decodeReplies(Buffer.from('+żółw\r\n'))).toEqual(['żółw']);
    expect(wire('+OK\r\n')).toEqual({ type: 'simple', value: 'OK' });
  });

  it('booleans are exactly one of t, T, f, F', () => {
    expect(one('#t\r\n')).toBe(true);
    expect(one('#T\r\n')).toBe(true);
    expect(one('#f\r\n')).toBe(false);
    expect(one('#F\r\n')).toBe(false);
    expect(wire('#f\r\n')).toEqual({ type: 'boolean', value: false });
    for (const text of ['', 'tt', 'ff', 'tf', 'x', '1', '0', 'true']) {
      expect(refusal(`#${text}\r\n`), text).toEqual({ reason: 'boolean', message: `malformed boolean ${JSON.stringify(text)}` });
    }
  });

  it('nulls have nothing after the _', () => {
    expect(one('_\r\n')).toBeNull();
    expect(wire('_\r\n')).toEqual({ type: 'null' });
    expect(refusal('_x\r\n')).toEqual({ reason: 'framing', message: 'a null has trailing bytes' });
    expect(refusal('_ \r\n')).toEqual({ reason: 'framing', message: 'a null has trailing bytes' });
  });

  it('errors keep their text, UTF-8 decoded', () => {
    const [error] = decodeReplies(Buffer.from('-ERR żółw\r\n'));
    expect(error).toBeInstanceOf(ServerError);
    expect((error as ServerError).reply).toBe('ERR żółw');
    expect(wire('-ERR x y\r\n')).toEqual({ type: 'error', value: 'ERR x y' });
  });

  it('an unknown prefix is named in hex', () => {
    expect(refusal('?x\r\n')).toEqual({ reason: 'type', message: 'unknown type prefix 0x3f' });
    expect(refusal('\x01\r\n')).toEqual({ reason: 'type', message: 'unknown type prefix 0x01' });
    expect(refusal('\r\n')).toEqual({ reason: 'type', message: 'unknown type prefix 0x0d' });
  });
});

describe('lines', () => {
  it('end with CR LF; a CR followed by anything else is framing', () => {
    expect(refusal('+OK\rX\r\n')).toEqual({ reason: 'framing', message: 'a line ends with CR without LF' });
    expect(refusal(':1\r\r\n')).toEqual({ reason: 'framing', message: 'a line ends with CR without LF' });
  });

  it('wait for the LF after a CR at the end of the bytes', () => {
    const decoder = new ReplyDecoder();
    const out: DecodedReply[] = [];
    decoder.push(b('+OK\r'), (reply) => out.push(reply));
    expect(out).toEqual([]);
    expect(decoder.bufferedBytes).toBe(4);
    decoder.push(b('\n'), (reply) => out.push(reply));
    expect(out).toEqual(['OK']);
    expect(decoder.bufferedBytes).toBe(0);
  });

  it('simple strings and errors are bounded by maxBulkBytes, reported as a limit', () => {
    expect(one(`+${'x'.repeat(16)}\r\n`, { maxBulkBytes: 16 })).toBe('x'.repeat(16));
    expect(refusal(`+${'x'.repeat(17)}\r\n`, { maxBulkBytes: 16 })).toEqual({ reason: 'limit', message: 'a line is longer than 16 bytes' });
    expect(refusal(`-${'x'.repeat(17)}`, { maxBulkBytes: 16 })).toEqual({ reason: 'limit', message: 'a line is longer than 16 bytes' });
    // Not yet too long: wait for more.
    const decoder = new ReplyDecoder({ limits: { maxBulkBytes: 16 } });
    decoder.push(b(`+${'x'.repeat(16)}`), () => undefined);
    expect(decoder.bufferedBytes).toBe(17);
  });

  it('a header line is at most 64 bytes, even before its CR arrives', () => {
    const decoder = new ReplyDecoder();
    decoder.push(b(`*${'0'.repeat(64)}`), () => undefined);
    expect(decoder.bufferedBytes).toBe(65);
    expect(() => decoder.push(b('0'), () => undefined)).toThrow(expect.objectContaining({ reason: 'framing', message: 'a line is longer than 64 bytes' }));
  });
});

describe('lengths', () => {
  it('-1 is null for bulk strings and arrays only', () => {
    expect(one('$-1\r\n')).toBeNull();
    expect(one('*-1\r\n')).toBeNull();
    expect(wire('$-1\r\n')).toEqual({ type: 'null' });
    expect(wire('*-1\r\n')).toEqual({ type: 'null' });
    expect(refusal('%-1\r\n')).toEqual({ reason: 'length', message: 'a map cannot have length -1' });
    expect(refusal('~-1\r\n')).toEqual({ reason: 'length', message: 'a set cannot have length -1' });
  });

  it('are 1 to 15 digits and nothing else', () => {
    expect(refusal('$\r\n')).toEqual({ reason: 'length', message: 'a length header is empty or too long' });
    expect(refusal(`$${'0'.repeat(16)}\r\n`)).toEqual({ reason: 'length', message: 'a length header is empty or too long' });
    expect(one(`$${'0'.repeat(14)}3\r\nabc\r\n`)).toBe('abc');
    for (const text of ['-2', '-', '1-', '+1', '1.0', '/', ':', ' 1', 'x1', '-10', '-1x', '-11']) {
      expect(refusal(`*${text}\r\n`), text).toEqual({ reason: 'length', message: `malformed length ${JSON.stringify(text)}` });
    }
    expect(one('$10\r\n0123456789\r\n')).toBe('0123456789');
    expect(one('*11\r\n' + ':1\r\n'.repeat(11))).toEqual(Array(11).fill(1));
  });

  it('a bulk string is followed by CR LF exactly', () => {
    expect(refusal('$3\r\nabcX\r\n')).toEqual({ reason: 'framing', message: 'a bulk string is not followed by CRLF' });
    expect(refusal('$3\r\nabc\rX')).toEqual({ reason: 'framing', message: 'a bulk string is not followed by CRLF' });
    expect(refusal('$3\r\nabc\n\r')).toEqual({ reason: 'framing', message: 'a bulk string is not followed by CRLF' });
    expect(refusal('$3\r\nabcX\n')).toEqual({ reason: 'framing', message: 'a bulk string is not followed by CRLF' });
  });

  it('a bulk string waits for its body and CR LF, however the bytes are split', () => {
    for (const cut of [4, 5, 6, 7, 8]) {
      const bytes = b('$3\r\nabc\r\n:1\r\n');
      const decoder = new ReplyDecoder();
      const out: DecodedReply[] = [];
      decoder.push(bytes.subarray(0, cut), (reply) => out.push(reply));
      expect(out, `cut at ${cut}`).toEqual([]);
      expect(decoder.bufferedBytes).toBe(cut);
      decoder.push(bytes.subarray(cut), (reply) => out.push(reply));
      expect(out).toEqual(['abc', 1]);
    }
  });

  it('maxBulkBytes is the largest bulk string taken', () => {
    expect(one('$4\r\nabcd\r\n', { maxBulkBytes: 4 })).toBe('abcd');
    expect(refusal('$5\r\nabcde\r\n', { maxBulkBytes: 4 })).toEqual({ reason: 'limit', message: 'a bulk string of 5 bytes passes the limit of 4' });
  });
});

describe('aggregates', () => {
  it('empty ones decode at once', () => {
    expect(one('*0\r\n')).toEqual([]);
    expect(one('~0\r\n')).toEqual(new Set());
    expect(one('%0\r\n')).toEqual(new Map());
    expect(wire('%0\r\n')).toEqual({ type: 'map', value: [] });
    expect(wire('~0\r\n')).toEqual({ type: 'set', value: [] });
    expect(wire('*0\r\n')).toEqual({ type: 'array', value: [] });
  });

  it('arrays, sets and maps keep their kinds when nested', () => {
    expect(one('*3\r\n~1\r\n:1\r\n%1\r\n+k\r\n*0\r\n*1\r\n~0\r\n')).toEqual([new Set([1]), new Map([['k', []]]), [new Set()]]);
    expect(wire('~2\r\n*1\r\n:1\r\n%0\r\n')).toEqual({
      type: 'set',
      value: [
        { type: 'array', value: [{ type: 'integer', value: 1n }] },
        { type: 'map', value: [] },
      ],
    });
  });

  it('a map holds count pairs, keys as strings (bulk keys too)', () => {
    expect(one('%2\r\n+a\r\n:1\r\n$1\r\nb\r\n:2\r\n')).toEqual(new Map([['a', 1], ['b', 2]]));
    expect(decodeReplies(b('%2\r\n+a\r\n:1\r\n$1\r\nb\r\n:2\r\n:3\r\n'))).toHaveLength(2);
    const [map] = decodeReplies(b('%1\r\n$1\r\nk\r\n$1\r\nv\r\n'), { bulkAsBuffer: true });
    expect(map).toEqual(new Map([['k', Buffer.from('v')]]));
    expect(wire('%1\r\n:1\r\n:2\r\n')).toEqual({
      type: 'map',
      value: [[{ type: 'integer', value: 1n }, { type: 'integer', value: 2n }]],
    });
  });

  it('a map key that is not a string is refused', () => {
    expect(refusal('%1\r\n:1\r\n:2\r\n')).toEqual({ reason: 'type', message: 'a map key in a reply is not a string' });
    expect(refusal('%1\r\n*0\r\n:2\r\n')).toEqual({ reason: 'type', message: 'a map key in a reply is not a string' });
  });

  it('maxAggregateLength bounds elements, and pairs in a map', () => {
    const limits = { maxAggregateLength: 2 };
    expect(one('*2\r\n:1\r\n:2\r\n', limits)).toEqual([1, 2]);
    expect(one('%2\r\n+a\r\n:1\r\n+b\r\n:2\r\n', limits)).toEqual(new Map([['a', 1], ['b', 2]]));
    expect(refusal('*3\r\n', limits)).toEqual({ reason: 'limit', message: 'an aggregate of 3 elements passes the limit of 2' });
    expect(refusal('~3\r\n', limits).reason).toBe('limit');
    expect(refusal('%3\r\n', limits).reason).toBe('limit');
  });

  it('maxDepth counts open aggregates; an empty one opens nothing', () => {
    expect(one('*1\r\n*1\r\n:1\r\n', { maxDepth: 2 })).toEqual([[1]]);
    expect(refusal('*1\r\n*1\r\n*1\r\n:1\r\n', { maxDepth: 2 })).toEqual({ reason: 'limit', message: 'nesting passes the depth limit of 2' });
    expect(refusal('%1\r\n+k\r\n~1\r\n*1\r\n:1\r\n', { maxDepth: 2 }).reason).toBe('limit');
    expect(one('*1\r\n*0\r\n', { maxDepth: 1 })).toEqual([[]]);
    expect(one('*2\r\n%0\r\n~0\r\n', { maxDepth: 1 })).toEqual([new Map(), new Set()]);
  });

  it('an aggregate split anywhere resumes where it stopped', () => {
    const bytes = b('*2\r\n%1\r\n+k\r\n~2\r\n:1\r\n$2\r\nxy\r\n:9\r\n');
    for (let cut = 1; cut < bytes.length; cut++) {
      const decoder = new ReplyDecoder();
      const out: DecodedReply[] = [];
      decoder.push(bytes.subarray(0, cut), (reply) => out.push(reply));
      decoder.push(bytes.subarray(cut), (reply) => out.push(reply));
      expect(out, `cut at ${cut}`).toEqual([[new Map([['k', new Set([1, 'xy'])]]), 9]]);
    }
  });
});

describe('maxBufferedBytes: what one value costs', () => {
  // A value costs its bytes plus 16 per element; an array 64 more, a set or map 192 more.
  it('a lone scalar costs its bytes plus one element', () => {
    expect(one(':1\r\n', { maxBufferedBytes: 20 })).toBe(1);
    expect(refusal(':1\r\n', { maxBufferedBytes: 19 })).toEqual({ reason: 'limit', message: 'one value takes more than 19 bytes' });
  });

  it('an array: its header, its elements, and the array itself', () => {
    // 64 (array) + 20 (header *1) + 20 (:1)
    expect(one('*1\r\n:1\r\n', { maxBufferedBytes: 104 })).toEqual([1]);
    expect(refusal('*1\r\n:1\r\n', { maxBufferedBytes: 103 })).toEqual({
      reason: 'limit',
      message: 'one value would take more than 103 bytes of memory once decoded',
    });
  });

  it('a set or a map costs more than an array', () => {
    // 192 (set) + 20 + 20
    expect(one('~1\r\n:1\r\n', { maxBufferedBytes: 232 })).toEqual(new Set([1]));
    expect(refusal('~1\r\n:1\r\n', { maxBufferedBytes: 231 }).reason).toBe('limit');
    // 192 (map) + 20 + 20 + 20
    expect(refusal('%1\r\n+k\r\n:2\r\n', { maxBufferedBytes: 251 }).reason).toBe('limit');
    expect(one('%1\r\n+k\r\n:2\r\n', { maxBufferedBytes: 252 })).toEqual(new Map([['k', 2]]));
  });

  it('many empty maps cost far more than their bytes', () => {
    const bytes = '*100\r\n' + '%0\r\n'.repeat(100);
    expect(bytes.length).toBeLessThan(500);
    expect(refusal(bytes, { maxBufferedBytes: 10_000 }).reason).toBe('limit');
    expect(one(bytes, { maxBufferedBytes: 64 + 22 + 100 * (192 + 20) })).toHaveLength(100);
  });

  it('the budget starts again with each value', () => {
    const decoder = new ReplyDecoder({ limits: { maxBufferedBytes: 104 } });
    const out: DecodedReply[] = [];
    for (let i = 0; i < 50; i++) decoder.push(b('*1\r\n:1\r\n'), (reply) => out.push(reply));
    expect(out).toHaveLength(50);
  });

  // Was a bug (fixed in e6f8b7c): Parser.#open charged an empty aggregate's cost to #spent and
  // next() returned a lone (top-level) value without resetting it, so each empty array/set/map
  // reply left 64/192 bytes charged to the next aggregate reply, for the life of the connection.
  it('empty aggregate replies leave nothing charged to the next reply', () => {
    const decoder = new ReplyDecoder({ limits: { maxBufferedBytes: 104 } });
    const out: DecodedReply[] = [];
    for (let i = 0; i < 3; i++) decoder.push(b('*0\r\n'), (reply) => out.push(reply));
    decoder.push(b('*1\r\n:1\r\n'), (reply) => out.push(reply));
    expect(out).toEqual([[], [], [], [1]]);
  });

  it('a value whose bytes alone pass the limit is refused before it is whole', () => {
    const decoder = new ReplyDecoder({ limits: { maxBufferedBytes: 100 } });
    decoder.push(b('$1000\r\n'), () => undefined);
    expect(() => decoder.push(b('x'.repeat(93)), () => undefined)).not.toThrow();
    expect(() => decoder.push(b('x'), () => undefined)).toThrow(expect.objectContaining({ reason: 'limit', message: 'one value spans more than 100 bytes' }));
  });

  it('the bytes of a value are counted across pushes of its elements', () => {
    const decoder = new ReplyDecoder({ limits: { maxBufferedBytes: 1000 } });
    decoder.push(b('*100\r\n'), () => undefined);
    let thrown: unknown;
    for (let i = 0; i < 100 && thrown === undefined; i++) {
      try {
        decoder.push(b(':1\r\n'), () => undefined);
      } catch (error) {
        thrown = error;
      }
    }
    expect(thrown).toBeInstanceOf(ProtocolError);
    expect((thrown as ProtocolError).reason).toBe('limit');
  });
});

describe('the stream', () => {
  it('skips any number of 0x03 bytes between values, but not inside one', () => {
    expect(decodeReplies(b('\x03\x03:1\r\n\x03\x03\x03:2\r\n\x03'))).toEqual([1, 2]);
    expect(refusal('*2\r\n:1\r\n\x03:2\r\n').reason).toBe('type');
  });

  it('keeps the bytes of an incomplete value, and only those', () => {
    const decoder = new ReplyDecoder();
    const out: DecodedReply[] = [];
    decoder.push(b(':1\r\n:2\r\n$5\r\nab'), (reply) => out.push(reply));
    expect(out).toEqual([1, 2]);
    expect(decoder.bufferedBytes).toBe(6);
    decoder.push(b('c'), (reply) => out.push(reply));
    expect(decoder.bufferedBytes).toBe(7);
    decoder.push(b('de\r\n'), (reply) => out.push(reply));
    expect(out).toEqual([1, 2, 'abcde']);
    expect(decoder.bufferedBytes).toBe(0);
    decoder.push(Buffer.alloc(0), (reply) => out.push(reply));
    expect(decoder.bufferedBytes).toBe(0);
  });

  it('an empty chunk changes nothing, even while a value is incomplete', () => {
    const decoder = new ReplyDecoder();
    const out: DecodedReply[] = [];
    decoder.push(b('$3\r\na'), (reply) => out.push(reply));
    decoder.push(Buffer.alloc(0), (reply) => out.push(reply));
    expect(decoder.bufferedBytes).toBe(5);
    decoder.push(b('bc\r\n'), (reply) => out.push(reply));
    expect(out).toEqual(['abc']);
  });

  it('assembles a value from many small chunks once enough have arrived', () => {
    const decoder = new ReplyDecoder();
    const out: DecodedReply[] = [];
    decoder.push(b('$10\r\n'), (reply) => out.push(reply));
    for (const piece of ['01', '23', '45', '67', '89', '\r', '\n']) decoder.push(b(piece), (reply) => out.push(reply));
    expect(out).toEqual(['0123456789']);
    expect(decoder.bufferedBytes).toBe(0);
  });

  it('a failed decoder throws the same error until reset, and forgets its bytes', () => {
    const decoder = new WireDecoder();
    let first: unknown;
    try {
      decoder.push(b(':1\r\n:x\r\n'), () => undefined);
    } catch (error) {
      first = error;
    }
    expect(first).toBeInstanceOf(ProtocolError);
    expect(decoder.bufferedBytes).toBe(0);
    expect(() => decoder.push(b(':1\r\n'), () => undefined)).toThrow(first as Error);
    decoder.reset();
    const out: WireValue[] = [];
    decoder.push(b(':1\r\n'), (value) => out.push(value));
    expect(out).toEqual([{ type: 'integer', value: 1n }]);
  });

  it('reset forgets a half-decoded value and its cost', () => {
    const decoder = new ReplyDecoder({ limits: { maxBufferedBytes: 200 } });
    decoder.push(b('*3\r\n:1\r\n$10\r\nabc'), () => undefined);
    expect(decoder.bufferedBytes).toBeGreaterThan(0);
    decoder.reset();
    expect(decoder.bufferedBytes).toBe(0);
    const out: DecodedReply[] = [];
    decoder.push(b('*1\r\n:7\r\n'), (reply) => out.push(reply));
    expect(out).toEqual([[7]]);
  });

  it('a consumer that throws a non-protocol error leaves the decoder usable', () => {
    const decoder = new WireDecoder();
    expect(() =>
      decoder.push(b(':1\r\n'), () => {
        throw new TypeError('consumer');
      }),
    ).toThrow(TypeError);
    const out: WireValue[] = [];
    decoder.push(b(':2\r\n'), (value) => out.push(value));
    expect(out).toEqual([{ type: 'integer', value: 2n }]);
  });

  it('many complete small replies in one chunk may together pass maxBufferedBytes', () => {
    const decoder = new ReplyDecoder({ limits: { maxBufferedBytes: 100 } });
    const out: DecodedReply[] = [];
    decoder.push(b(':1\r\n'.repeat(60)), (reply) => out.push(reply));
    expect(out).toHaveLength(60);
    decoder.push(b('$5\r\nab'), (reply) => out.push(reply));
    decoder.push(b(':2\r\n'.repeat(40).replace(/^/, 'cde\r\n')), (reply) => out.push(reply));
    expect(out).toHaveLength(60 + 1 + 40);
  });

  it('a 0x03 where an aggregate resumes is an error, as it is inside one chunk', () => {
    const decoder = new ReplyDecoder();
    decoder.push(b('*2\r\n:1\r\n'), () => undefined);
    expect(decoder.inProgress).toBe(true);
    expect(() => decoder.push(b('\x03:2\r\n'), () => undefined)).toThrow(expect.objectContaining({ reason: 'type', message: 'unknown type prefix 0x03' }));
  });

  it('a value is refused as soon as its bytes span more than maxBufferedBytes, counting its finished elements', () => {
    // 61 bytes of a finished element, then a bulk string that keeps coming.
    const prefix = `*2\r\n$50\r\n${'x'.repeat(50)}\r\n$1000\r\n`;
    // The value first in its chunk, or after complete replies (which do not count).
    for (const before of ['', ':7\r\n', '+OK\r\n:12\r\n']) {
      const decoder = new ReplyDecoder({ limits: { maxBufferedBytes: 200, maxBulkBytes: 5000 } });
      decoder.push(b(before + prefix), () => undefined);
      let pushed = 0;
      let thrown: unknown;
      while (thrown === undefined && pushed < 1000) {
        try {
          decoder.push(b('y'), () => undefined);
        } catch (error) {
          thrown = error;
        }
        pushed++;
      }
      expect(thrown).toEqual(expect.objectContaining({ reason: 'limit', message: 'one value spans more than 200 bytes' }));
      // Refused with the first byte past 200, not later.
      expect(prefix.length + pushed, JSON.stringify(before)).toBe(201);
    }
  });

  it('one chunk holding more than maxBufferedBytes of an unfinished value is refused at once', () => {
    for (const decoder of [new ReplyDecoder({ limits: { maxBufferedBytes: 100 } }), new WireDecoder({ limits: { maxBufferedBytes: 100 } })]) {
      let thrown: unknown;
      try {
        decoder.push(b(`$1000\r\n${'x'.repeat(200)}`), () => undefined);
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(ProtocolError);
      expect(thrown).toEqual(expect.objectContaining({ reason: 'limit', message: 'one value spans more than 100 bytes' }));
      expect(decoder.bufferedBytes).toBe(0);
    }
  });

  it('inProgress tells a half-decoded value, on both decoders', () => {
    const wire = new WireDecoder();
    expect(wire.inProgress).toBe(false);
    wire.push(b('*2\r\n:1\r\n'), () => undefined);
    expect(wire.inProgress).toBe(true);
    expect(wire.bufferedBytes).toBe(0);
    wire.push(b(':2\r\n'), () => undefined);
    expect(wire.inProgress).toBe(false);
    const reply = new ReplyDecoder();
    reply.push(b('$3\r\na'), () => undefined);
    expect(reply.inProgress).toBe(true);
  });

  it('decodeReplies refuses bytes that end inside a reply', () => {
    expect(() => decodeReplies(b(':1\r\n$2\r\na'))).toThrow(expect.objectContaining({ reason: 'framing', message: 'the bytes end inside a reply' }));
    expect(decodeReplies(b(''))).toEqual([]);
  });

  // Was a bug (fixed in e6f8b7c): bufferedBytes counts only the bytes of the element that did
  // not fit; the decoded elements of an open aggregate live on the parser's stack, so at an
  // element boundary it was 0 and decodeReplies silently dropped the half reply.
  it('decodeReplies refuses bytes that end between the elements of an aggregate', () => {
    expect(() => decodeReplies(b(':1\r\n*2\r\n:1\r\n'))).toThrow(expect.objectContaining({ reason: 'framing' }));
    expect(() => decodeReplies(b(':1\r\n*2\r\n'))).toThrow(expect.objectContaining({ reason: 'framing' }));
  });

  it('decodeWire reads one value from the start, 0x03 included, with its limits', () => {
    expect(decodeWire(b('+a\r\n+b\r\n'))).toEqual({ value: { type: 'simple', value: 'a' }, end: 4 });
    expect(decodeWire(b(''))).toBeUndefined();
    expect(() => decodeWire(b('\x03+a\r\n'))).toThrow(expect.objectContaining({ reason: 'type' }));
    expect(() => decodeWire(b('$5\r\nabcde\r\n'), { maxBulkBytes: 4 })).toThrow(expect.objectContaining({ reason: 'limit' }));
    expect(decodeWire(b('$4\r\nabcd\r\n'), { maxBulkBytes: 4 })).toEqual({ value: { type: 'bulk', value: Buffer.from('abcd') }, end: 10 });
  });
});
