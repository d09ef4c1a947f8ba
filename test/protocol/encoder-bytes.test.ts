/**
 * The encoder byte for byte at the edges: -0, the header's digit widths, the
 * short-string fast path and where it hands over, the exact counts that
 * `append`, `appendValue` and `appendWire` return, the writer's buffer
 * (growth, truncation, reuse after `take`), and the exact message of every
 * TypeError and RangeError.
 */
import { describe, expect, it } from 'vitest';
import { DialectError } from '../../src/errors.js';
import { DIALECTS, resolveDialect } from '../../src/protocol/dialect.js';
import { RequestWriter, encodeRequest, encodeValue, encodeWire, formatFloat } from '../../src/protocol/encoder.js';
import { float, type Value, type WireValue } from '../../src/protocol/values.js';

const text = (b: Buffer) => b.toString('latin1');
const bulk = (s: string) => `$${Buffer.byteLength(s)}\r\n${s}\r\n`;

/** The TypeError or RangeError `fn` throws. */
function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (error) {
    return error as Error;
  }
  throw new Error('nothing was thrown');
}

describe('numbers', () => {
  it('-0 is a float, never the integer 0', () => {
    expect(text(encodeValue(-0))).toBe(',-0\r\n');
    expect(text(encodeValue(0))).toBe(':0\r\n');
    expect(text(encodeValue(float(-0)))).toBe(',-0\r\n');
    expect(text(encodeValue(float(0)))).toBe(',0\r\n');
    expect(formatFloat(-0)).toBe('-0');
    expect(formatFloat(0)).toBe('0');
    expect(text(encodeWire({ type: 'float', value: -0 }))).toBe(',-0\r\n');
  });

  it('safe integers are integers; the first unsafe one is a float', () => {
    expect(text(encodeValue(Number.MAX_SAFE_INTEGER))).toBe(':9007199254740991\r\n');
    expect(text(encodeValue(Number.MIN_SAFE_INTEGER))).toBe(':-9007199254740991\r\n');
    expect(text(encodeValue(Number.MAX_SAFE_INTEGER + 1))).toBe(',9007199254740992\r\n');
    expect(text(encodeValue(1e21))).toBe(',1e+21\r\n');
    expect(text(encodeValue(-1.25e-7))).toBe(',-1.25e-7\r\n');
    expect(formatFloat(Number.NaN)).toBe('nan');
    expect(formatFloat(Infinity)).toBe('inf');
    expect(formatFloat(-Infinity)).toBe('-inf');
    expect(formatFloat(2.5)).toBe('2.5');
  });

  it('bigints at the signed 64-bit edges, and the message past them', () => {
    expect(text(encodeValue(0n))).toBe(':0\r\n');
    expect(text(encodeValue(-1n))).toBe(':-1\r\n');
    expect(thrown(() => encodeValue(2n ** 63n))).toEqual(
      new RangeError('the integer 9223372036854775808 is outside the signed 64-bit range the server stores'),
    );
    expect(thrown(() => encodeValue(-(2n ** 63n) - 1n))).toEqual(
      new RangeError('the integer -9223372036854775809 is outside the signed 64-bit range the server stores'),
    );
  });

  it('float() takes numbers only', () => {
    expect(thrown(() => encodeValue(float('1' as never)))).toEqual(new TypeError('float(): the value must be a number'));
    expect(text(encodeValue([float(2), 2]))).toBe('*2\r\n,2\r\n:2\r\n');
  });
});

describe('headers', () => {
  it('write lengths of one, two, three and more digits', () => {
    for (const n of [0, 1, 9, 10, 11, 42, 99, 100, 101, 250, 909, 999, 1000, 1001, 12345]) {
      const s = 'x'.repeat(n);
      expect(text(encodeValue(s)), `string of ${n}`).toBe(bulk(s));
      const array = Array<number>(n).fill(7);
      expect(text(encodeValue(array)).slice(0, String(n).length + 3), `array of ${n}`).toBe(`*${n}\r\n`);
      expect(encodeValue(array).length).toBe(String(n).length + 3 + 4 * n);
    }
  });

  it('count elements of sets and pairs of maps', () => {
    const set = new Set<number>(Array.from({ length: 120 }, (_, i) => i));
    expect(text(encodeValue(set)).slice(0, 6)).toBe('~120\r\n');
    const map = new Map<string, Value>(Array.from({ length: 15 }, (_, i) => [`k${i}`, i]));
    expect(text(encodeValue(map)).slice(0, 5)).toBe('%15\r\n');
    const object = Object.fromEntries(Array.from({ length: 3 }, (_, i) => [`k${i}`, i]));
    expect(text(encodeValue(object))).toBe('%3\r\n$2\r\nk0\r\n:0\r\n$2\r\nk1\r\n:1\r\n$2\r\nk2\r\n:2\r\n');
  });
});

describe('strings', () => {
  it('the short fast path ends at 63 UTF-16 units; both sides write the same bytes', () => {
    for (const n of [62, 63, 64, 65]) {
      const ascii = 'a'.repeat(n);
      expect(text(encodeValue(ascii))).toBe(bulk(ascii));
      const accented = 'é'.repeat(n);
      expect(encodeValue(accented)).toEqual(Buffer.from(bulk(accented)));
      const lastAccented = 'a'.repeat(n - 1) + 'é';
      expect(encodeValue(lastAccented)).toEqual(Buffer.from(bulk(lastAccented)));
    }
  });

  it('U+0080 and above are UTF-8, U+007F is one byte', () => {
    expect(encodeValue('\u0080')).toEqual(Buffer.from([0x24, 0x32, 13, 10, 0xc2, 0x80, 13, 10]));
    expect(encodeValue('\u007f')).toEqual(Buffer.from([0x24, 0x31, 13, 10, 0x7f, 13, 10]));
    expect(encodeValue('a\u0080')).toEqual(Buffer.from('$3\r\na\u0080\r\n'));
    expect(encodeValue('€')).toEqual(Buffer.from('$3\r\n€\r\n'));
    expect(encodeValue('😀')).toEqual(Buffer.from('$4\r\n😀\r\n'));
    const etx = new RequestWriter(DIALECTS.etx);
    expect(etx.appendValue('\u0080')).toBe(8);
    expect(etx.appendValue('ż\u0083')).toBe(10);
  });

  it('characters whose code is a forbidden byte plus 32 (# * - C J M c j m) are carried', () => {
    // A shift by 35 is a shift by 3 in JavaScript: only units below 0x0e are looked up.
    const tricky = '#*-CJMcjm+=@';
    for (const dialect of [DIALECTS.etx, DIALECTS['etx-request'], DIALECTS.legacy]) {
      expect(text(encodeRequest(dialect, ['SET', tricky, tricky + 'x'.repeat(70)])).includes(tricky)).toBe(true);
      expect(new RequestWriter(dialect).appendValue(Buffer.from(tricky))).toBe(5 + 12 + 2);
    }
  });

  it('control characters other than the forbidden ones are carried, short and long', () => {
    const controls = '\x00\x01\x02\x04\x05\x06\x07\x08\x09\x0b\x0c\x0e\x0f\x1f';
    for (const value of [controls, controls.repeat(5)]) {
      expect(text(encodeRequest(DIALECTS.etx, ['SET', 'k', value]))).toBe(`*3\r\n$3\r\nSET\r\n$1\r\nk\r\n${bulk(value)}\x03`);
      expect(text(encodeRequest(DIALECTS.legacy, ['SET', 'k', value]))).toBe(`*3\r\n$3\r\nSET\r\n$1\r\nk\r\n${bulk(value)}`);
    }
  });

  it('a forbidden unit is refused wherever it is: short or long, first or last, after a non-ASCII character', () => {
    for (const value of ['\n', 'a\n', '\na', 'é\n', 'éa\nb', 'x'.repeat(63) + '\n', '\n' + 'x'.repeat(100), 'é'.repeat(70) + '\n', 'é\x03', 'x'.repeat(80) + '\x03']) {
      expect(() => encodeRequest(DIALECTS.etx, ['SET', 'k', value]), JSON.stringify(value)).toThrow(DialectError);
    }
    for (const value of ['\r', 'é\r', 'x'.repeat(70) + '\r']) {
      expect(() => encodeRequest(DIALECTS.legacy, ['SET', 'k', value]), JSON.stringify(value)).toThrow(DialectError);
    }
  });

  it('long strings whose header needs more digits than their UTF-16 length', () => {
    for (const value of ['é'.repeat(64), 'é'.repeat(99), 'é'.repeat(500), 'ż'.repeat(999) + 'a', 'a'.repeat(9_998) + '😀']) {
      expect(encodeValue(value)).toEqual(Buffer.from(bulk(value)));
      expect(new RequestWriter(undefined, 1).appendValue(value)).toBe(Buffer.byteLength(bulk(value)));
    }
  });

  it('empty strings and bytes are refused only where the dialect forbids them', () => {
    expect(text(encodeValue(''))).toBe('$0\r\n\r\n');
    expect(text(encodeValue(new Uint8Array(0)))).toBe('$0\r\n\r\n');
    expect(() => encodeRequest(DIALECTS.etx, ['SET', 'k', ''])).toThrow(DialectError);
    expect(() => encodeRequest(DIALECTS.etx, ['SET', 'k', new Uint8Array(0)])).toThrow(DialectError);
    expect(text(encodeRequest(DIALECTS.legacy, ['SET', 'k', new Uint8Array(0)]))).toBe('*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n');
  });

  it('bytes are checked for the dialect’s forbidden bytes, each of them', () => {
    expect(() => encodeRequest(DIALECTS.etx, ['SET', 'k', Buffer.from([0x61, 0x0a])])).toThrow(DialectError);
    expect(() => encodeRequest(DIALECTS.etx, ['SET', 'k', Buffer.from([0x03])])).toThrow(DialectError);
    expect(() => encodeRequest(DIALECTS.legacy, ['SET', 'k', Buffer.from([0x0d])])).toThrow(DialectError);
    expect(encodeRequest(DIALECTS.etx, ['SET', 'k', Buffer.from([0x0d, 0x00, 0xff])]).subarray(20, 29)).toEqual(Buffer.from([0x24, 0x33, 13, 10, 0x0d, 0x00, 0xff, 13, 10]));
    expect(encodeRequest(DIALECTS.legacy, ['SET', 'k', Buffer.from([0x03])]).subarray(20)).toEqual(Buffer.from([0x24, 0x31, 13, 10, 0x03, 13, 10]));
  });
});

describe('aggregates and other values', () => {
  it('booleans and null inside aggregates', () => {
    expect(text(encodeValue([true, false, null, [false]]))).toBe('*4\r\n#t\r\n#f\r\n_\r\n*1\r\n#f\r\n');
    expect(text(encodeValue(new Set([true, null])))).toBe('~2\r\n#t\r\n_\r\n');
  });

  it('empty maps and objects are refused where the dialect forbids them; empty arrays and sets never', () => {
    for (const value of [new Map(), {}, Object.create(null) as Value]) {
      expect(() => encodeRequest(DIALECTS.etx, ['SET', 'k', value])).toThrow(DialectError);
      expect(text(encodeRequest(DIALECTS.legacy, ['SET', 'k', value])).endsWith('%0\r\n')).toBe(true);
    }
    expect(text(encodeRequest(DIALECTS.etx, ['SET', 'k', [[], new Set()]])).endsWith('*2\r\n*0\r\n~0\r\n\x03')).toBe(true);
  });

  it('map keys go through the same rules as values', () => {
    expect(() => encodeRequest(DIALECTS.etx, ['SET', 'k', new Map([['', 1]])])).toThrow(DialectError);
    expect(() => encodeRequest(DIALECTS.etx, ['SET', 'k', { 'a\nb': 1 }])).toThrow(DialectError);
    expect(encodeValue({ 'é': 1 })).toEqual(Buffer.from(`%1\r\n${bulk('é')}:1\r\n`));
  });

  it('null-prototype objects are maps', () => {
    const bare = Object.create(null) as Record<string, Value>;
    bare.a = 1;
    expect(text(encodeValue(bare))).toBe('%1\r\n$1\r\na\r\n:1\r\n');
  });

  it('nesting: 512 levels are written, 513 refused (512 levels from a request argument)', () => {
    const nest = (levels: number): Value => {
      let value: Value = 1;
      for (let i = 0; i < levels; i++) value = [value];
      return value;
    };
    expect(encodeValue(nest(512)).length).toBe(512 * 4 + 4);
    expect(thrown(() => encodeValue(nest(513)))).toEqual(new RangeError('cannot send a value nested deeper than 512 levels'));
    expect(() => encodeRequest(DIALECTS.etx, ['SET', 'k', nest(511)])).not.toThrow();
    expect(thrown(() => encodeRequest(DIALECTS.etx, ['SET', 'k', nest(512)]))).toBeInstanceOf(RangeError);
    expect(thrown(() => encodeValue({ a: new Map([['m', new Set([nest(510)])]]) }))).toBeInstanceOf(RangeError);
  });

  it('an error in a nested value forgets the values it was inside, so they can be sent again', () => {
    const writer = new RequestWriter(DIALECTS.etx);
    const inner: Value[] = [1, undefined as never];
    const outer = { a: [inner] };
    expect(() => writer.appendValue(outer)).toThrow(TypeError);
    inner[1] = 2;
    expect(writer.appendValue(outer)).toBe('%1\r\n$1\r\na\r\n*1\r\n*2\r\n:1\r\n:2\r\n'.length);
    const map = new Map<string, Value>([['k', [undefined as never]]]);
    expect(() => writer.append(['SET', 'k', map])).toThrow(TypeError);
    map.set('k', [3]);
    expect(writer.append(['SET', 'k', map])).toBeGreaterThan(0);
    const set = new Set<Value>([[Symbol('x') as never]]);
    expect(() => writer.appendValue(set)).toThrow(TypeError);
    set.clear();
    set.add(1);
    expect(writer.appendValue(set)).toBe(8);
  });
});

describe('errors name what cannot be sent', () => {
  const cases: [string, unknown, string][] = [
    ['undefined', undefined, 'cannot send undefined: it has no zcached wire form'],
    ['a function', () => 1, 'cannot send a function: it has no zcached wire form'],
    ['a symbol', Symbol('s'), 'cannot send a symbol: it has no zcached wire form'],
    ['a Date', new Date(0), 'cannot send an instance of Date: it has no zcached wire form'],
    ['a class instance', new (class Point {})(), 'cannot send an instance of Point: it has no zcached wire form'],
    ['an object with no constructor', Object.create(Object.create(null) as object), 'cannot send an instance of Object: it has no zcached wire form'],
    ['a typed array other than bytes', new Float64Array(1), 'cannot send an instance of Float64Array: it has no zcached wire form'],
    ['a Map with a number key', new Map([[1, 2]]), 'cannot send a map key of type number: keys must be strings'],
    ['a Map with an object key', new Map([[{}, 2]]), 'cannot send a map key of type an instance of Object: keys must be strings'],
    ['a Map with an undefined key', new Map([[undefined, 2]]), 'cannot send a map key of type undefined: keys must be strings'],
    ['a Map with a null key', new Map([[null, 2]]), 'cannot send a map key of type object: keys must be strings'],
    ['a Map with a boolean key', new Map([[true, 2]]), 'cannot send a map key of type boolean: keys must be strings'],
  ];

  it.each(cases)('%s', (_, value, message) => {
    expect(thrown(() => encodeValue(value as Value))).toEqual(new TypeError(message));
    expect(thrown(() => encodeValue([1, value] as Value))).toEqual(new TypeError(message));
    expect(thrown(() => encodeRequest(DIALECTS.etx, ['SET', 'k', value as Value]))).toEqual(new TypeError(message));
  });

  it('a cycle, at any depth, through any container', () => {
    const message = 'cannot send a value that contains itself (a cycle)';
    const array: Value[] = [];
    array.push([array]);
    const object: Record<string, Value> = {};
    object.self = new Map([['again', object]]);
    const set = new Set<Value>();
    set.add({ s: set });
    for (const value of [array, object, set]) expect(thrown(() => encodeValue(value))).toEqual(new TypeError(message));
  });

  it('a command name that is not a non-empty string', () => {
    const message = 'command: the first element must be a non-empty command name string';
    for (const command of [[42], [''], [undefined], [null], [Buffer.from('GET')]]) {
      expect(thrown(() => encodeRequest(DIALECTS.etx, command as never))).toEqual(new TypeError(message));
      expect(thrown(() => new RequestWriter(DIALECTS.etx).append(command as never))).toEqual(new TypeError(message));
    }
  });
});

describe('RequestWriter: counts and buffer', () => {
  it('append returns the bytes the request took, terminator included, for every dialect', () => {
    for (const dialect of [DIALECTS.etx, DIALECTS['etx-request'], DIALECTS.legacy, resolveDialect({ requestTerminator: false, pipelining: true })]) {
      const writer = new RequestWriter(dialect, 8);
      const commands: [string, ...Value[]][] = [['PING'], ['SET', 'key', 'żółw'], ['MSET', 'a', 1, 'b', [true, null]], ['SET', 'k', 'x'.repeat(1000)]];
      let total = 0;
      for (const command of commands) {
        const expected = encodeRequest(dialect, command).length;
        expect(writer.append(command)).toBe(expected);
        total += expected;
        expect(writer.length).toBe(total);
      }
      expect(writer.take().length).toBe(total);
    }
  });

  it('appendValue and appendWire return the bytes they wrote', () => {
    const writer = new RequestWriter(undefined, 1);
    const values: Value[] = ['abc', 'ż'.repeat(100), 12, -0, 2n ** 62n, true, null, Buffer.from([1, 2]), [1, [2]], new Map([['k', 'v']]), new Set([1]), { a: 1 }, float(1.5)];
    let total = 0;
    for (const value of values) {
      const expected = encodeValue(value).length;
      expect(writer.appendValue(value)).toBe(expected);
      total += expected;
    }
    const wires: WireValue[] = [
      { type: 'simple', value: 'żółw' },
      { type: 'error', value: 'ERR x' },
      { type: 'bulk', value: Buffer.from('abc') },
      { type: 'integer', value: -5n },
      { type: 'float', value: -0 },
      { type: 'boolean', value: false },
      { type: 'null' },
      { type: 'array', value: [{ type: 'null' }] },
      { type: 'set', value: [] },
      { type: 'map', value: [[{ type: 'simple', value: 'k' }, { type: 'integer', value: 1n }]] },
    ];
    for (const value of wires) {
      const expected = encodeWire(value).length;
      expect(writer.appendWire(value)).toBe(expected);
      total += expected;
    }
    expect(writer.length).toBe(total);
    expect(writer.take().length).toBe(total);
  });

  it('appendWire writes simple strings and errors as UTF-8', () => {
    expect(encodeWire({ type: 'simple', value: 'żółw' })).toEqual(Buffer.from('+żółw\r\n'));
    expect(encodeWire({ type: 'error', value: 'ERR żółw' })).toEqual(Buffer.from('-ERR żółw\r\n'));
    expect(text(encodeWire({ type: 'boolean', value: true }))).toBe('#t\r\n');
    expect(text(encodeWire({ type: 'null' }))).toBe('_\r\n');
    expect(text(encodeWire({ type: 'set', value: [{ type: 'integer', value: 1n }] }))).toBe('~1\r\n:1\r\n');
    expect(text(encodeWire({ type: 'array', value: [{ type: 'float', value: 1.5 }] }))).toBe('*1\r\n,1.5\r\n');
  });

  it('a request exactly at maxRequestBytes is written; one byte more is refused', () => {
    const size = encodeRequest(DIALECTS.etx, ['SET', 'k', 'xxxx']).length;
    const exact = resolveDialect({ base: 'etx', maxRequestBytes: size });
    expect(encodeRequest(exact, ['SET', 'k', 'xxxx']).length).toBe(size);
    const error = thrown(() => encodeRequest(exact, ['SET', 'k', 'xxxxx']));
    expect(error).toBeInstanceOf(DialectError);
    expect(error.message).toBe(
      `SET: the request is ${size + 1} bytes, more than this custom dialect carries (at most ${size}): its maxRequestBytes limit; nothing was sent. Split the data over several keys.`,
    );
    // The terminator counts.
    const bare = resolveDialect({ requestTerminator: false, pipelining: true, maxRequestBytes: size - 1 });
    expect(encodeRequest(bare, ['SET', 'k', 'xxxx']).length).toBe(size - 1);
  });

  it('truncate drops bytes past a length, and nothing else', () => {
    const writer = new RequestWriter(DIALECTS.etx);
    writer.append(['PING']);
    const ping = writer.length;
    writer.append(['GET', 'k']);
    const both = writer.length;
    writer.truncate(-1);
    expect(writer.length).toBe(both);
    writer.truncate(both);
    expect(writer.length).toBe(both);
    writer.truncate(both + 10);
    expect(writer.length).toBe(both);
    writer.truncate(ping);
    expect(writer.length).toBe(ping);
    writer.append(['PING']);
    expect(text(writer.take())).toBe('*1\r\n$4\r\nPING\r\n\x03'.repeat(2));
    writer.append(['PING']);
    writer.truncate(0);
    expect(writer.length).toBe(0);
    expect(writer.take().length).toBe(0);
  });

  it('appendBytes appends raw bytes', () => {
    const writer = new RequestWriter(undefined, 2);
    writer.appendBytes(Buffer.from('abc'));
    writer.appendBytes(new Uint8Array([0x03]));
    expect(writer.length).toBe(4);
    expect(text(writer.take())).toBe('abc\x03');
    expect(writer.length).toBe(0);
  });

  it('grows from any starting size, and never writes into a taken buffer', () => {
    for (const size of [0, 1, 3, 1024]) {
      const writer = new RequestWriter(DIALECTS.etx, size);
      const requests: Buffer[] = [];
      const taken: [Buffer, Buffer][] = [];
      for (let i = 0; i < 40; i++) {
        const command: [string, ...Value[]] = ['SET', `k${i}`, 'v'.repeat(i * 37 + 1)];
        requests.push(encodeRequest(DIALECTS.etx, command));
        writer.append(command);
        if (i % 7 === 0) {
          const bytes = writer.take();
          taken.push([bytes, Buffer.from(bytes)]);
        }
      }
      const rest = writer.take();
      taken.push([rest, Buffer.from(rest)]);
      for (const [bytes, copy] of taken) expect(bytes.equals(copy), 'a taken buffer was written to').toBe(true);
      expect(Buffer.concat(taken.map(([bytes]) => bytes)).equals(Buffer.concat(requests))).toBe(true);
    }
  });

  it('a short string written at the very end of a small buffer is whole', () => {
    for (let size = 0; size <= 90; size++) {
      for (const value of ['x'.repeat(40), 'y'.repeat(63), 'é'.repeat(30)]) {
        const writer = new RequestWriter(undefined, size);
        writer.appendValue(7);
        writer.appendValue(value);
        expect(writer.take().equals(Buffer.from(`:7\r\n${bulk(value)}`)), `size ${size}`).toBe(true);
      }
    }
  });

  it('writes on into the unused tail of its buffer after take, while 4 KiB or more are left', () => {
    const writer = new RequestWriter(DIALECTS.etx, 16 * 1024);
    writer.append(['PING']);
    const first = writer.take();
    writer.append(['PING']);
    const second = writer.take();
    expect(second.buffer).toBe(first.buffer);
    expect(second.byteOffset).toBe(first.byteOffset + first.length);
    // Exactly 4 KiB left: still the same buffer.
    const ping = encodeRequest(DIALECTS.etx, ['PING']).length;
    const exact = new RequestWriter(DIALECTS.etx, 4096 + ping);
    exact.append(['PING']);
    const before = exact.take();
    exact.append(['PING']);
    expect(exact.take().buffer).toBe(before.buffer);
    // The default writer (16 KiB) too.
    const plain = new RequestWriter(DIALECTS.etx);
    plain.append(['PING']);
    const p1 = plain.take();
    plain.append(['PING']);
    expect(plain.take().buffer).toBe(p1.buffer);
    expect(p1.buffer.byteLength).toBe(16 * 1024);
    // Less than 4 KiB left: a fresh buffer.
    const small = new RequestWriter(DIALECTS.etx, 4096 + 10);
    small.append(['PING']);
    const a = small.take();
    small.append(['PING']);
    const b = small.take();
    expect(b.buffer).not.toBe(a.buffer);
  });

  it('lets a buffer that grew past 1 MiB go once taken', () => {
    const writer = new RequestWriter(undefined, 16 * 1024);
    writer.appendValue('x'.repeat(2 * 1024 * 1024));
    const big = writer.take();
    expect(big.buffer.byteLength).toBeGreaterThan(1024 * 1024);
    writer.appendValue(1);
    const next = writer.take();
    expect(next.buffer).not.toBe(big.buffer);
    // Back to the starting capacity (16 KiB).
    expect(next.buffer.byteLength).toBe(16 * 1024);
    expect(text(next)).toBe(':1\r\n');
    // A buffer of 1 MiB or less is kept.
    const kept = new RequestWriter(undefined, 1024 * 1024);
    kept.appendValue(1);
    const one = kept.take();
    kept.appendValue(2);
    expect(kept.take().buffer).toBe(one.buffer);
  });

  it('a buffer fully used is replaced by one at least as large', () => {
    const writer = new RequestWriter(undefined, 20 * 1024);
    writer.appendValue('x'.repeat(20 * 1024 - 10));
    writer.take();
    writer.appendValue('x'.repeat(8));
    const next = writer.take();
    expect(next.buffer.byteLength).toBeGreaterThanOrEqual(20 * 1024);
    expect(text(next)).toBe(bulk('x'.repeat(8)));
  });
});
