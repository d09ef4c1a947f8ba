import { describe, expect, it } from 'vitest';
import { DialectError } from '../../src/errors.js';
import { AUTO_DIALECT, DIALECTS, resolveDialect } from '../../src/protocol/dialect.js';
import { RequestWriter, encodeRequest, encodeValue } from '../../src/protocol/encoder.js';
import { float } from '../../src/protocol/values.js';

const text = (b: Buffer) => b.toString('latin1');

describe('encodeValue', () => {
  it('writes strings as bulk strings with their UTF-8 byte length', () => {
    expect(text(encodeValue('abc'))).toBe('$3\r\nabc\r\n');
    expect(encodeValue('żółw')).toEqual(Buffer.from('$7\r\nżółw\r\n'));
    expect(text(encodeValue(''))).toBe('$0\r\n\r\n');
    const long = 'ą'.repeat(1000);
    expect(encodeValue(long)).toEqual(Buffer.from(`$2000\r\n${long}\r\n`));
  });

  it('writes bytes binary-safe', () => {
    expect(encodeValue(Buffer.from([0, 13, 10, 255]))).toEqual(Buffer.from([0x24, 0x34, 13, 10, 0, 13, 10, 255, 13, 10]));
    expect(text(encodeValue(new Uint8Array([65])))).toBe('$1\r\nA\r\n');
  });

  it('maps numbers: safe integers to :, everything else to ,', () => {
    expect(text(encodeValue(42))).toBe(':42\r\n');
    expect(text(encodeValue(-7))).toBe(':-7\r\n');
    expect(text(encodeValue(1.5))).toBe(',1.5\r\n');
    expect(text(encodeValue(Number.NaN))).toBe(',nan\r\n');
    expect(text(encodeValue(Infinity))).toBe(',inf\r\n');
    expect(text(encodeValue(-Infinity))).toBe(',-inf\r\n');
    expect(text(encodeValue(2 ** 60))).toBe(`,${2 ** 60}\r\n`);
    expect(text(encodeValue(float(1)))).toBe(',1\r\n');
  });

  it('writes bigints inside signed 64-bit as integers and refuses the rest', () => {
    expect(text(encodeValue(9223372036854775807n))).toBe(':9223372036854775807\r\n');
    expect(text(encodeValue(-9223372036854775808n))).toBe(':-9223372036854775808\r\n');
    expect(() => encodeValue(9223372036854775808n)).toThrow(RangeError);
  });

  it('writes booleans, null and aggregates', () => {
    expect(text(encodeValue(true))).toBe('#t\r\n');
    expect(text(encodeValue(false))).toBe('#f\r\n');
    expect(text(encodeValue(null))).toBe('_\r\n');
    expect(text(encodeValue([1, 'a', [null]]))).toBe('*3\r\n:1\r\n$1\r\na\r\n*1\r\n_\r\n');
    expect(text(encodeValue(new Map([['k', 1]])))).toBe('%1\r\n$1\r\nk\r\n:1\r\n');
    expect(text(encodeValue({ k: true }))).toBe('%1\r\n$1\r\nk\r\n#t\r\n');
    expect(text(encodeValue(new Set([1])))).toBe('~1\r\n:1\r\n');
  });

  it('refuses values with no wire form with a TypeError', () => {
    const cyclic: unknown[] = [];
    cyclic.push(cyclic);
    const bad: unknown[] = [undefined, () => 1, Symbol('s'), cyclic, new Map([[1, 2]]), new Date(), { a: undefined }];
    for (const value of bad) expect(() => encodeValue(value as never)).toThrow(TypeError);
  });

  it('accepts the same object twice when it is not a cycle', () => {
    const shared = [1];
    expect(text(encodeValue([shared, shared]))).toBe('*2\r\n*1\r\n:1\r\n*1\r\n:1\r\n');
  });
});

describe('RequestWriter', () => {
  it('frames a request for each dialect', () => {
    expect(text(encodeRequest(DIALECTS.etx, ['GET', 'k']))).toBe('*2\r\n$3\r\nGET\r\n$1\r\nk\r\n\x03');
    expect(text(encodeRequest(DIALECTS['etx-request'], ['PING']))).toBe('*1\r\n$4\r\nPING\r\n\x03');
    expect(text(encodeRequest(DIALECTS.legacy, ['PING']))).toBe('*1\r\n$4\r\nPING\r\n');
    const redis = resolveDialect({ requestTerminator: false, pipelining: true });
    expect(text(encodeRequest(redis, ['SET', 'a', '\x03']))).toBe('*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\n\x03\r\n');
  });

  it('refuses 0x03 in the etx dialects and CR/LF in legacy, leaving nothing written', () => {
    const writer = new RequestWriter(DIALECTS.etx);
    writer.append(['PING']);
    const before = writer.length;
    expect(() => writer.append(['SET', 'k', 'a\x03b'])).toThrow(DialectError);
    expect(() => writer.append(['SET', 'k', Buffer.from([3])])).toThrow(DialectError);
    expect(writer.length).toBe(before);
    const legacy = new RequestWriter(DIALECTS.legacy);
    expect(() => legacy.append(['SET', 'k', 'a\nb'])).toThrow(/argument 2 holds a line feed/);
    expect(() => legacy.append(['SET', 'k', ['x\r']])).toThrow(DialectError);
    expect(legacy.length).toBe(0);
  });

  it('refuses requests larger than the dialect carries', () => {
    const legacy = new RequestWriter(DIALECTS.legacy);
    expect(() => legacy.append(['SET', 'k', 'x'.repeat(4096)])).toThrow(DialectError);
    expect(legacy.length).toBe(0);
    const small = resolveDialect({ requestTerminator: true, pipelining: true, maxRequestBytes: 32 });
    expect(() => encodeRequest(small, ['SET', 'k', 'x'.repeat(20)])).toThrow(/at most 32/);
  });

  it('rolls back a request whose value is invalid halfway through', () => {
    const writer = new RequestWriter(DIALECTS.etx);
    expect(() => writer.append(['SET', 'k', [1, 2, undefined as never]])).toThrow(TypeError);
    expect(writer.length).toBe(0);
    writer.append(['PING']);
    expect(text(writer.take())).toBe('*1\r\n$4\r\nPING\r\n\x03');
  });

  it('batches many requests into one buffer and never reuses taken bytes', () => {
    const writer = new RequestWriter(DIALECTS.etx, 64);
    for (let i = 0; i < 100; i++) writer.append(['SET', `key${i}`, 'v'.repeat(i + 1)]);
    const first = writer.take();
    const copy = Buffer.from(first);
    writer.append(['PING']);
    writer.take();
    expect(first).toEqual(copy);
    expect(first.toString('latin1').split('\x03').length).toBe(101);
  });

  it('refuses a non-string command name', () => {
    expect(() => encodeRequest(DIALECTS.etx, [42 as never])).toThrow(TypeError);
    expect(() => encodeRequest(DIALECTS.etx, [''])).toThrow(TypeError);
  });
});

describe('resolveDialect', () => {
  it('knows the presets and validates custom objects', () => {
    expect(resolveDialect()).toBe(AUTO_DIALECT);
    expect(resolveDialect('legacy')).toBe(DIALECTS.legacy);
    expect(() => resolveDialect('nope' as never)).toThrow(TypeError);
    expect(() => resolveDialect({ requestTerminator: 1, pipelining: true } as never)).toThrow(TypeError);
    expect(() => resolveDialect({ requestTerminator: true, pipelining: true, maxRequestBytes: 0 })).toThrow(RangeError);
    expect(resolveDialect({ requestTerminator: false, pipelining: true }).forbidEtx).toBe(false);
  });
});

describe('string encoding edge cases', () => {
  it('writes long strings whose byte length needs more digits than their length', () => {
    for (const text of ['a'.repeat(99_999) + 'ż', 'ż'.repeat(5_000) + 'a'.repeat(90_000), 'x'.repeat(64), 'é'.repeat(63)]) {
      const bytes = Buffer.from(text);
      expect(encodeValue(text)).toEqual(Buffer.concat([Buffer.from(`$${bytes.length}\r\n`), bytes, Buffer.from('\r\n')]));
    }
  });

  it('short strings with a non-ASCII character or a forbidden byte take the checked path', () => {
    expect(encodeValue('aż')).toEqual(Buffer.from('$3\r\naż\r\n'));
    expect(() => encodeRequest(DIALECTS.etx, ['SET', 'k', 'ab\x03'])).toThrow(DialectError);
    expect(() => encodeRequest(DIALECTS.legacy, ['SET', 'k', 'a\rb'])).toThrow(DialectError);
    expect(text(encodeRequest(DIALECTS.legacy, ['SET', 'k', 'a\x03b']))).toBe('*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$3\r\na\x03b\r\n');
  });
});
