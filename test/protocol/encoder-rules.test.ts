/**
 * The dialects' value rules in the encoder: what each generation of servers
 * would mangle or refuse is refused before a byte is written, with a
 * DialectError naming the part at fault; what they carry goes through,
 * byte for byte as before.
 */
import { describe, expect, it } from 'vitest';
import { DialectError, ZCachedError, type DialectErrorReason } from '../../src/errors.js';
import { DIALECTS, resolveDialect, type Dialect } from '../../src/protocol/dialect.js';
import { RequestWriter, encodeRequest, type Command } from '../../src/protocol/encoder.js';
import type { Value } from '../../src/protocol/values.js';

const text = (b: Buffer) => b.toString('latin1');
const binarySafe = resolveDialect({ requestTerminator: false, pipelining: true });

/** Appends `command` to a writer that already holds a PING; returns the error and checks nothing was left behind. */
function refusal(dialect: Dialect, command: Command): DialectError {
  const writer = new RequestWriter(dialect);
  writer.append(['PING']);
  const before = writer.length;
  let thrown: unknown;
  try {
    writer.append(command);
  } catch (error) {
    thrown = error;
  }
  expect(thrown, `${JSON.stringify(command)} should be refused`).toBeInstanceOf(DialectError);
  expect(writer.length).toBe(before);
  writer.append(['PING']);
  expect(text(writer.take())).toBe(text(Buffer.concat([encodeRequest(dialect, ['PING']), encodeRequest(dialect, ['PING'])])));
  return thrown as DialectError;
}

const json = JSON.stringify({ a: 1, b: [1, 2] }, null, 2);
const deep: Value = [1, [2, { a: new Map<string, Value>([['m', new Set<Value>(['s', 'x\ny'])]]) }]];

/** [label, value as SET's value, expected path from the encoder, reason] on 'etx'. */
const refusedValues: [string, Value, string, DialectErrorReason][] = [
  ['LF inside', 'line1\nline2', 'argument 2', 'line-feed'],
  ['CR LF inside', 'a\r\nb', 'argument 2', 'line-feed'],
  ['LF at the end', 'end\n', 'argument 2', 'line-feed'],
  ['pretty-printed JSON', json, 'argument 2', 'line-feed'],
  ['LF in a long string', `${'x'.repeat(100)}\n`, 'argument 2', 'line-feed'],
  ['LF after a non-ASCII character', 'żółw\n', 'argument 2', 'line-feed'],
  ['LF in bytes', Buffer.from([0x61, 0x0a, 0x62]), 'argument 2', 'line-feed'],
  ['LF in an array element', ['ok', 'x\ny'], 'argument 2[1]', 'line-feed'],
  ['LF in a Map value', new Map([['k', 'v\nw']]), 'argument 2.get("k")', 'line-feed'],
  ['LF in an object value', { a: 'x\ny' }, 'argument 2["a"]', 'line-feed'],
  ['LF in a set element', new Set(['a', 'b\n']), '[...argument 2][1]', 'line-feed'],
  ['LF deep in arrays, objects, maps and sets', deep, '[...argument 2[1][1]["a"].get("m")][1]', 'line-feed'],
  ['LF in a Map key', new Map([['a\nb', 1]]), 'map key "a\\nb" in argument 2', 'line-feed'],
  ['LF in an object key', { 'a\nb': 1 }, 'map key "a\\nb" in argument 2', 'line-feed'],
  ['LF in a nested map key', [new Map([['ok', { 'x\n': 1 }]])], 'map key "x\\n" in argument 2[0].get("ok")', 'line-feed'],
  ['0x03 inside', 'a\x03b', 'argument 2', 'etx'],
  ['0x03 before a LF', 'a\x03\n', 'argument 2', 'etx'],
  ['an empty string', '', 'argument 2', 'empty-string'],
  ['empty bytes', Buffer.alloc(0), 'argument 2', 'empty-string'],
  ['an empty Uint8Array', new Uint8Array(0), 'argument 2', 'empty-string'],
  ['an empty string in an array', ['a', ''], 'argument 2[1]', 'empty-string'],
  ['an empty map key', new Map([['', 1]]), 'map key "" in argument 2', 'empty-string'],
  ['an empty Map', new Map(), 'argument 2', 'empty-map'],
  ['an empty object', {}, 'argument 2', 'empty-map'],
  ['an empty null-prototype object', Object.create(null) as Value, 'argument 2', 'empty-map'],
  ['an empty map in an array', [[new Map()]], 'argument 2[0][0]', 'empty-map'],
  ['an empty map in a map', { a: {} }, 'argument 2["a"]', 'empty-map'],
];

describe("the 'etx' dialect refuses what the current server mangles or refuses", () => {
  it.each(refusedValues)('%s: refused, naming the part at fault, leaving no bytes', (_, value, path, reason) => {
    const error = refusal(DIALECTS.etx, ['SET', 'k', value]);
    expect(error).toBeInstanceOf(ZCachedError);
    expect(error).toMatchObject({ code: 'EDIALECT', reason, path, argument: 2, command: 'SET', dialect: 'etx' });
    expect(error.message).toContain(`SET: ${path} `);
  });

  it('names the root cause and what to do in the message', () => {
    expect(refusal(DIALECTS.etx, ['SET', 'k', ['ok', 'line1\nline2']]).message).toBe(
      "SET: argument 2[1] holds a line feed (0x0a), which the 'etx' dialect cannot carry: current zcached servers store the string cut at its first line feed; nothing was sent. Store such values with a codec that escapes them (e.g. JSON).",
    );
    expect(refusal(DIALECTS.etx, ['SET', '', 1]).message).toMatch(/^SET: argument 1 is an empty string, .*-ERR unprocessable/);
    expect(refusal(DIALECTS.etx, ['SET', 'k', new Map()]).message).toMatch(/^SET: argument 2 is an empty map, .*-ERR unprocessable/);
    expect(refusal(DIALECTS.etx, ['SET', 'k', 'a\x03']).message).toMatch(/holds the byte 0x03 \(ETX\).*ends a request/);
  });

  it('checks keys, every argument of MSET and the command name too', () => {
    expect(refusal(DIALECTS.etx, ['SET', 'k\ney', 'v'])).toMatchObject({ path: 'argument 1', argument: 1, reason: 'line-feed' });
    expect(refusal(DIALECTS.etx, ['GET', ''])).toMatchObject({ path: 'argument 1', reason: 'empty-string' });
    expect(refusal(DIALECTS.etx, ['MSET', 'a', 1, 'b', 'x\n'])).toMatchObject({ path: 'argument 4', argument: 4, command: 'MSET' });
    expect(refusal(DIALECTS.etx, ['MSET', 'a', 1, 'b\n', 2])).toMatchObject({ path: 'argument 3' });
    expect(refusal(DIALECTS.etx, ['MSET', 'a', {}, 'b', 2])).toMatchObject({ path: 'argument 2', reason: 'empty-map' });
    const name = refusal(DIALECTS.etx, ['GE\nT', 'k']);
    expect(name).toMatchObject({ path: 'command name', argument: 0, reason: 'line-feed' });
    expect(name.message).toMatch(/^"GE\\nT": command name holds a line feed/);
  });

  it('reports the first fault in encoding order, with its structured location', () => {
    const error = refusal(DIALECTS.etx, ['SET', 'k', [{ a: 'ok', b: ['', 'x\n'] }]]);
    expect(error.reason).toBe('empty-string');
    expect(error.location).toEqual([
      { kind: 'index', index: 0 },
      { kind: 'entry', key: 'b', container: 'object' },
      { kind: 'index', index: 0 },
    ]);
    expect(Object.isFrozen(error.location)).toBe(true);
    expect(refusal(DIALECTS.etx, ['SET', 'k', new Map([['x\ny', 'v\nw']])]).location).toEqual([{ kind: 'map-key', key: 'x\ny', container: 'map' }]);
  });

  it('carries a lone CR, empty arrays and empty sets, byte for byte', () => {
    const writer = new RequestWriter(DIALECTS.etx);
    expect(writer.append(['SET', 'k', 'a\rb'])).toBe(30);
    expect(writer.append(['SET', 'k', []])).toBe(25);
    expect(writer.append(['SET', 'k', new Set()])).toBe(25);
    expect(writer.append(['SET', 'k', 'trailing\r'])).toBe(36);
    expect(text(writer.take())).toBe(
      '*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$3\r\na\rb\r\n\x03' +
        '*3\r\n$3\r\nSET\r\n$1\r\nk\r\n*0\r\n\x03' +
        '*3\r\n$3\r\nSET\r\n$1\r\nk\r\n~0\r\n\x03' +
        '*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$9\r\ntrailing\r\r\n\x03',
    );
  });

  it('returns the exact byte counts of append and appendValue', () => {
    const writer = new RequestWriter(DIALECTS.etx);
    expect(writer.append(['GET', 'k'])).toBe('*2\r\n$3\r\nGET\r\n$1\r\nk\r\n\x03'.length);
    expect(writer.append(['SET', 'key:1', 'żółw'])).toBe(Buffer.byteLength('*3\r\n$3\r\nSET\r\n$5\r\nkey:1\r\n$7\r\nżółw\r\n\x03'));
    expect(writer.appendValue('abc')).toBe(9);
    expect(writer.appendValue([])).toBe(4);
    expect(writer.appendValue(new Map([['k', 1]]))).toBe(15);
    expect(writer.appendValue({ k: [true, null] })).toBe('%1\r\n$1\r\nk\r\n*2\r\n#t\r\n_\r\n'.length);
    expect(writer.length).toBe(21 + 38 + 9 + 4 + 15 + 22);
  });

  it('applies the rules to appendValue as well, with paths from `value`', () => {
    const writer = new RequestWriter(DIALECTS.etx);
    writer.appendValue(1);
    expect(() => writer.appendValue(['a', new Set(['b\n'])])).toThrow(DialectError);
    const error = (() => {
      try {
        writer.appendValue({ x: '' });
      } catch (thrown) {
        return thrown;
      }
      return undefined;
    })();
    expect(error).toMatchObject({ path: 'value["x"]', reason: 'empty-string', command: undefined, argument: undefined });
    expect((error as Error).message).toMatch(/^value\["x"\] is an empty string/);
    expect(writer.length).toBe(4);
    // Without a dialect nothing is refused.
    expect(new RequestWriter().appendValue(['', 'a\nb', new Map(), {}, '\x03'])).toBe(34);
  });

  it('still rolls back on a TypeError that comes before a dialect fault, and reports the TypeError', () => {
    const writer = new RequestWriter(DIALECTS.etx);
    expect(() => writer.append(['SET', 'k', [undefined as never, '']])).toThrow(TypeError);
    expect(() => writer.append(['SET', 'k', ['', undefined as never]])).toThrow(DialectError);
    expect(writer.length).toBe(0);
  });
});

describe('the other dialects', () => {
  const everything = refusedValues.map(([, value]) => value);

  it('a custom dialect without rules is binary-safe: it refuses none of them', () => {
    for (const value of [...everything, 'a\rb', '\x03', []]) {
      expect(() => encodeRequest(binarySafe, ['SET', 'k', value])).not.toThrow();
      if (typeof value === 'string') expect(() => encodeRequest(binarySafe, ['SET', value, 1])).not.toThrow();
    }
    expect(text(encodeRequest(binarySafe, ['SET', '', 'a\nb']))).toBe('*3\r\n$3\r\nSET\r\n$0\r\n\r\n$3\r\na\nb\r\n');
  });

  it('legacy refuses CR and LF (not 0x03, not empty values) and requests over 4096 bytes', () => {
    expect(refusal(DIALECTS.legacy, ['SET', 'k', 'a\rb'])).toMatchObject({ reason: 'carriage-return', path: 'argument 2', dialect: 'legacy' });
    expect(refusal(DIALECTS.legacy, ['SET', 'k', 'a\nb'])).toMatchObject({ reason: 'line-feed' });
    expect(refusal(DIALECTS.legacy, ['SET', 'k', 'a\r\nb'])).toMatchObject({ reason: 'carriage-return' });
    expect(refusal(DIALECTS.legacy, ['SET', 'k', ['x\r']])).toMatchObject({ path: 'argument 2[0]' });
    expect(refusal(DIALECTS.legacy, ['SET', 'k', 'a\nb']).message).toMatch(/2024 zcached servers answer -ERR bad request/);
    const limit = DIALECTS.legacy.maxRequestBytes;
    const large = refusal(DIALECTS.legacy, ['SET', 'k', 'x'.repeat(limit)]);
    const size = limit + 25 + String(limit).length;
    expect(large).toMatchObject({ reason: 'too-large', path: 'request', size, limit, argument: undefined });
    expect(large.message).toMatch(new RegExp(`^SET: the request is ${size} bytes, more than the 'legacy' dialect carries \\(at most ${limit}\\)`));
    for (const value of ['', Buffer.alloc(0), new Map(), {}, 'a\x03b']) {
      expect(() => encodeRequest(DIALECTS.legacy, ['SET', 'k', value])).not.toThrow();
    }
  });

  it("'etx-request' refuses LF and 0x03 but carries empty strings and maps and a lone CR", () => {
    expect(refusal(DIALECTS['etx-request'], ['SET', 'k', 'line1\nline2'])).toMatchObject({ reason: 'line-feed', dialect: 'etx-request' });
    expect(refusal(DIALECTS['etx-request'], ['SET', 'k', new Map([['a\nb', 1]])]).path).toBe('map key "a\\nb" in argument 2');
    expect(refusal(DIALECTS['etx-request'], ['SET', 'k', '\x03'])).toMatchObject({ reason: 'etx' });
    expect(refusal(DIALECTS['etx-request'], ['SET', 'k', 'a\nb']).message).toMatch(/2025 zcached servers answer -ERR bad request/);
    for (const value of ['', Buffer.alloc(0), new Map(), {}, 'a\rb', ['', {}]]) {
      expect(() => encodeRequest(DIALECTS['etx-request'], ['SET', 'k', value])).not.toThrow();
    }
    expect(text(encodeRequest(DIALECTS['etx-request'], ['SET', '', '']))).toBe('*3\r\n$3\r\nSET\r\n$0\r\n\r\n$0\r\n\r\n\x03');
  });

  it('a custom dialect names the rule it breaks', () => {
    const strict = resolveDialect({ base: 'etx', maxWriteBytes: 8948, maxUnansweredBytes: 8948 });
    expect(refusal(strict, ['SET', 'k', 'a\nb'])).toMatchObject({ dialect: 'custom', reason: 'line-feed' });
    expect(refusal(strict, ['SET', 'k', 'a\nb']).message).toMatch(/this custom dialect cannot carry: its forbidLineFeed rule is on/);
    const emptyOnly = resolveDialect({ requestTerminator: false, pipelining: false, forbidEmpty: true });
    expect(refusal(emptyOnly, ['SET', 'k', {}]).message).toMatch(/its forbidEmpty rule is on/);
    expect(() => encodeRequest(emptyOnly, ['SET', 'k', 'a\nb'])).not.toThrow();
    const crOnly = resolveDialect({ requestTerminator: false, pipelining: false, forbidCarriageReturn: true });
    expect(refusal(crOnly, ['SET', 'k', 'a\r']).reason).toBe('carriage-return');
    expect(() => encodeRequest(crOnly, ['SET', 'k', 'a\n'])).not.toThrow();
  });
});
