/**
 * Dialects and their value rules, piece by piece: the presets field by
 * field, every refusal of resolveDialect with its message, the forbidden-unit
 * masks, the walk that finds the part at fault, the paths and every message
 * a DialectError can carry.
 */
import { describe, expect, it } from 'vitest';
import { DialectError, type DialectErrorReason } from '../../src/errors.js';
import { AUTO_DIALECT, DEFAULT_MAX_REQUEST_BYTES, DIALECTS, ETX, SEGMENT_BYTES, SERVER_READ_BYTES, resolveDialect, type Dialect, type DialectOptions } from '../../src/protocol/dialect.js';
import {
  MAX_DEPTH,
  bytesHoldForbidden,
  commandFaultError,
  dialectMessage,
  forbiddenUnits,
  formatPath,
  isPlainObject,
  stringFault,
  stringHoldsForbidden,
  tooLargeError,
  valueFaultError,
  withArgumentName,
} from '../../src/protocol/value-rules.js';
import { float } from '../../src/protocol/values.js';

const custom = (options: Partial<Dialect>): Dialect => resolveDialect({ requestTerminator: false, pipelining: true, ...options } as DialectOptions);

function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (error) {
    return error as Error;
  }
  throw new Error('nothing was thrown');
}

describe('the presets', () => {
  it('have exactly these rules, frozen', () => {
    expect(ETX).toBe(3);
    expect(DEFAULT_MAX_REQUEST_BYTES).toBe(10 * 1024 * 1024);
    expect(SERVER_READ_BYTES).toBe(4096);
    expect(SEGMENT_BYTES).toBe(1400);
    expect(DIALECTS.legacy).toEqual({
      name: 'legacy',
      generation: 'legacy',
      replyTerminator: false,
      requestTerminator: false,
      pipelining: false,
      maxRequestBytes: 1400,
      forbidLineFeed: true,
      forbidCarriageReturn: true,
      forbidEmpty: false,
      forbidEtx: false,
      maxWriteBytes: Infinity,
      maxUnansweredBytes: Infinity,
    });
    expect(DIALECTS['etx-request']).toEqual({
      name: 'etx-request',
      generation: 'etx-request',
      replyTerminator: false,
      requestTerminator: true,
      pipelining: false,
      maxRequestBytes: DEFAULT_MAX_REQUEST_BYTES,
      forbidLineFeed: true,
      forbidCarriageReturn: false,
      forbidEmpty: false,
      forbidEtx: true,
      maxWriteBytes: Infinity,
      maxUnansweredBytes: Infinity,
    });
    expect(DIALECTS.etx).toEqual({
      name: 'etx',
      generation: 'etx',
      replyTerminator: true,
      requestTerminator: true,
      pipelining: true,
      maxRequestBytes: DEFAULT_MAX_REQUEST_BYTES,
      forbidLineFeed: true,
      forbidCarriageReturn: false,
      forbidEmpty: true,
      forbidEtx: true,
      maxWriteBytes: 1400,
      maxUnansweredBytes: 1400,
    });
    expect(Object.keys(DIALECTS)).toEqual(['legacy', 'etx-request', 'etx']);
    expect(Object.isFrozen(DIALECTS)).toBe(true);
    for (const dialect of Object.values(DIALECTS)) expect(Object.isFrozen(dialect)).toBe(true);
  });

  it('are returned as they are, by name', () => {
    expect(resolveDialect()).toBe(AUTO_DIALECT);
    expect(resolveDialect('auto')).toBe(AUTO_DIALECT);
    expect(AUTO_DIALECT).toMatchObject({ name: 'auto', generation: undefined, replyTerminator: undefined, pipelining: false, forbidLineFeed: true, forbidEmpty: false });
    for (const name of ['legacy', 'etx-request', 'etx'] as const) expect(resolveDialect(name)).toBe(DIALECTS[name]);
  });
});

describe('resolveDialect refuses', () => {
  const cases: [string, unknown, Error][] = [
    ['an unknown name', 'nope', new TypeError(`dialect: unknown dialect "nope"; expected 'auto', 'legacy', 'etx-request', 'etx' or an object`)],
    ['an inherited name', 'toString', new TypeError(`dialect: unknown dialect "toString"; expected 'auto', 'legacy', 'etx-request', 'etx' or an object`)],
    ['null', null, new TypeError('dialect: expected a dialect name or { requestTerminator, pipelining, ... }')],
    ['a number', 42, new TypeError('dialect: expected a dialect name or { requestTerminator, pipelining, ... }')],
    ['an unknown base', { base: 'nope' }, new TypeError(`dialect: unknown base "nope"; expected 'legacy', 'etx-request' or 'etx'`)],
    ['an inherited base', { base: 'constructor' }, new TypeError(`dialect: unknown base "constructor"; expected 'legacy', 'etx-request' or 'etx'`)],
    ['no base and no requestTerminator', { pipelining: true }, new TypeError('dialect: requestTerminator and pipelining must be booleans')],
    ['no base and no pipelining', { requestTerminator: true }, new TypeError('dialect: requestTerminator and pipelining must be booleans')],
    ['a non-boolean requestTerminator on a base', { base: 'etx', requestTerminator: 1 }, new TypeError('dialect: requestTerminator must be a boolean, got number')],
    ['a non-boolean pipelining on a base', { base: 'etx', pipelining: 'yes' }, new TypeError('dialect: pipelining must be a boolean, got string')],
    ['a non-boolean forbidLineFeed', { base: 'etx', forbidLineFeed: null }, new TypeError('dialect: forbidLineFeed must be a boolean, got object')],
    ['a non-boolean forbidCarriageReturn', { base: 'etx', forbidCarriageReturn: 0 }, new TypeError('dialect: forbidCarriageReturn must be a boolean, got number')],
    ['a non-boolean forbidEmpty', { base: 'etx', forbidEmpty: 'no' }, new TypeError('dialect: forbidEmpty must be a boolean, got string')],
    ['a non-number maxRequestBytes', { base: 'etx', maxRequestBytes: '10' }, new TypeError('dialect: maxRequestBytes must be a number, got string')],
    ['a zero maxRequestBytes', { base: 'etx', maxRequestBytes: 0 }, new RangeError('dialect: maxRequestBytes must be a positive integer, got 0')],
    ['an infinite maxRequestBytes', { base: 'etx', maxRequestBytes: Infinity }, new RangeError('dialect: maxRequestBytes must be a positive integer, got Infinity')],
    ['a fractional maxRequestBytes', { base: 'etx', maxRequestBytes: 1.5 }, new RangeError('dialect: maxRequestBytes must be a positive integer, got 1.5')],
    ['a NaN maxWriteBytes', { base: 'etx', maxWriteBytes: Number.NaN }, new RangeError('dialect: maxWriteBytes must be a positive integer or Infinity, got NaN')],
    ['a negative maxWriteBytes', { base: 'etx', maxWriteBytes: -1 }, new RangeError('dialect: maxWriteBytes must be a positive integer or Infinity, got -1')],
    ['-Infinity as maxUnansweredBytes', { base: 'etx', maxUnansweredBytes: -Infinity }, new RangeError('dialect: maxUnansweredBytes must be a positive integer or Infinity, got -Infinity')],
    ['a non-number maxUnansweredBytes', { base: 'etx', maxUnansweredBytes: {} }, new TypeError('dialect: maxUnansweredBytes must be a number, got object')],
    ['maxUnansweredBytes below maxWriteBytes', { base: 'etx', maxWriteBytes: 2000 }, new RangeError('dialect: maxUnansweredBytes (1400) must be at least maxWriteBytes (2000)')],
    ['a finite maxUnansweredBytes under unlimited writes', { requestTerminator: true, pipelining: true, maxUnansweredBytes: 5000 }, new RangeError('dialect: maxUnansweredBytes (5000) must be at least maxWriteBytes (Infinity)')],
  ];

  it.each(cases)('%s', (_, input, error) => {
    const actual = thrown(() => resolveDialect(input as never));
    expect(actual).toEqual(error);
    expect(actual.constructor).toBe(error.constructor);
  });
});

describe('resolveDialect builds', () => {
  it('a custom dialect without base: every rule off, no limits, 10 MB requests', () => {
    expect(resolveDialect({ requestTerminator: false, pipelining: false })).toEqual({
      name: 'custom',
      requestTerminator: false,
      pipelining: false,
      maxRequestBytes: DEFAULT_MAX_REQUEST_BYTES,
      forbidLineFeed: false,
      forbidCarriageReturn: false,
      forbidEmpty: false,
      forbidEtx: false,
      maxWriteBytes: Infinity,
      maxUnansweredBytes: Infinity,
    });
    const terminated = resolveDialect({ requestTerminator: true, pipelining: true });
    expect(terminated).toMatchObject({ requestTerminator: true, pipelining: true, forbidEtx: true });
    expect(Object.isFrozen(terminated)).toBe(true);
  });

  it('a dialect from a base, overriding only what is given', () => {
    expect(resolveDialect({ base: 'etx', maxWriteBytes: 8948, maxUnansweredBytes: 8948 })).toEqual({ ...DIALECTS.etx, name: 'custom', maxWriteBytes: 8948, maxUnansweredBytes: 8948 });
    expect(resolveDialect({ base: 'legacy', maxRequestBytes: 4096 })).toEqual({ ...DIALECTS.legacy, name: 'custom', maxRequestBytes: 4096 });
    // Rules may be tightened; the base's framing facts may be restated.
    expect(resolveDialect({ base: 'etx-request', forbidEmpty: true, forbidCarriageReturn: true, forbidLineFeed: true, pipelining: false })).toEqual({
      ...DIALECTS['etx-request'],
      name: 'custom',
      forbidEmpty: true,
      forbidCarriageReturn: true,
    });
  });

  it("a base's framing facts are not changed, nor its rules loosened (issue 18: wrong values otherwise)", () => {
    // A 2024 server given pipelined requests drops all but the first of a read: every later reply goes to the wrong caller.
    expect(() => resolveDialect({ base: 'legacy', pipelining: true })).toThrow(
      new TypeError(
        "dialect: pipelining true contradicts base 'legacy', whose servers frame with pipelining false; leave it out (or use a custom dialect without base for a server that is no zcached generation)",
      ),
    );
    expect(() => resolveDialect({ base: 'etx-request', pipelining: true })).toThrow(/pipelining true contradicts base 'etx-request'/);
    expect(() => resolveDialect({ base: 'etx', requestTerminator: false })).toThrow(/requestTerminator false contradicts base 'etx'/);
    expect(() => resolveDialect({ base: 'legacy', requestTerminator: true })).toThrow(/requestTerminator true contradicts base 'legacy'/);
    expect(() => resolveDialect({ base: 'etx', replyTerminator: false })).toThrow(/replyTerminator false contradicts base 'etx'/);
    expect(() => resolveDialect({ base: 'legacy', replyTerminator: true })).toThrow(/replyTerminator true contradicts base 'legacy'/);
    expect(() => resolveDialect({ base: 'etx', forbidLineFeed: false })).toThrow(new TypeError("dialect: forbidLineFeed false loosens base 'etx', whose servers mangle or refuse what it forbids; leave it out"));
    expect(() => resolveDialect({ base: 'legacy', forbidCarriageReturn: false })).toThrow(/forbidCarriageReturn false loosens base 'legacy'/);
    expect(() => resolveDialect({ base: 'etx', forbidEmpty: false })).toThrow(/forbidEmpty false loosens base 'etx'/);
  });

  it('a custom dialect without base that pipelines 0x03-terminated requests requires 0x03 after each reply, unless it says otherwise', () => {
    expect(resolveDialect({ requestTerminator: true, pipelining: true }).replyTerminator).toBe(true);
    expect(resolveDialect({ requestTerminator: true, pipelining: true, replyTerminator: false }).replyTerminator).toBe(false);
    expect(resolveDialect({ requestTerminator: true, pipelining: false }).replyTerminator).toBeUndefined();
    expect(resolveDialect({ requestTerminator: false, pipelining: true }).replyTerminator).toBeUndefined();
  });

  it('takes limits of 1, equal write and unanswered limits, and Infinity where allowed', () => {
    expect(resolveDialect({ base: 'etx', maxRequestBytes: 1 }).maxRequestBytes).toBe(1);
    expect(resolveDialect({ base: 'etx', maxWriteBytes: 1, maxUnansweredBytes: 1 })).toMatchObject({ maxWriteBytes: 1, maxUnansweredBytes: 1 });
    expect(resolveDialect({ base: 'etx', maxWriteBytes: Infinity, maxUnansweredBytes: Infinity })).toMatchObject({ maxWriteBytes: Infinity, maxUnansweredBytes: Infinity });
    expect(resolveDialect({ base: 'etx', maxUnansweredBytes: 1400 }).maxUnansweredBytes).toBe(1400);
    expect(resolveDialect({ requestTerminator: true, pipelining: true, maxWriteBytes: 100 })).toMatchObject({ maxWriteBytes: 100, maxUnansweredBytes: Infinity });
  });
});

describe('forbidden units', () => {
  it('each dialect refuses its own units, as a mask', () => {
    expect(forbiddenUnits(undefined)).toBe(0);
    expect(forbiddenUnits(DIALECTS.etx)).toBe((1 << 3) | (1 << 10));
    expect(forbiddenUnits(DIALECTS['etx-request'])).toBe((1 << 3) | (1 << 10));
    expect(forbiddenUnits(DIALECTS.legacy)).toBe((1 << 10) | (1 << 13));
    expect(forbiddenUnits(custom({}))).toBe(0);
    expect(forbiddenUnits(custom({ forbidCarriageReturn: true }))).toBe(1 << 13);
    expect(forbiddenUnits(resolveDialect({ requestTerminator: true, pipelining: true }))).toBe(1 << 3);
  });

  it('strings and bytes hold a unit only when its bit is set', () => {
    const units: [number, string][] = [
      [3, '\x03'],
      [10, '\n'],
      [13, '\r'],
    ];
    for (const [bit, unit] of units) {
      for (const [otherBit] of units) {
        const expected = bit === otherBit;
        expect(stringHoldsForbidden(`a${unit}b`, 1 << otherBit), `${bit} in mask ${otherBit}`).toBe(expected);
        expect(bytesHoldForbidden(Buffer.from(`a${unit}b`, 'latin1'), 1 << otherBit)).toBe(expected);
      }
      expect(stringHoldsForbidden(`a${unit}`, 0)).toBe(false);
      expect(stringHoldsForbidden('plain', 1 << bit)).toBe(false);
      expect(bytesHoldForbidden(Buffer.from('plain'), 1 << bit)).toBe(false);
      expect(stringHoldsForbidden(`x${unit}`, (1 << 3) | (1 << 10) | (1 << 13))).toBe(true);
    }
  });

  it('stringFault names the first refused unit, an empty string where refused, or nothing', () => {
    expect(stringFault(DIALECTS.etx, '')).toBe('empty-string');
    expect(stringFault(DIALECTS.etx, new Uint8Array(0))).toBe('empty-string');
    expect(stringFault(DIALECTS.legacy, '')).toBeUndefined();
    expect(stringFault(DIALECTS.etx, 'a\x03\n')).toBe('etx');
    expect(stringFault(DIALECTS.etx, 'a\n\x03')).toBe('line-feed');
    expect(stringFault(DIALECTS.legacy, 'a\r\n')).toBe('carriage-return');
    expect(stringFault(DIALECTS.legacy, Buffer.from('a\nb'))).toBe('line-feed');
    expect(stringFault(DIALECTS.etx, Buffer.from([0x61, 0x03]))).toBe('etx');
    expect(stringFault(DIALECTS.etx, 'a\rb')).toBeUndefined();
    expect(stringFault(custom({}), 'a\n\r\x03')).toBeUndefined();
    // Units whose code is a forbidden one plus 32 (#, *, -, C, J, M, c, j, m) are fine.
    expect(stringFault(DIALECTS.legacy, '#*-CJMcjm')).toBeUndefined();
    expect(stringFault(DIALECTS.etx, Buffer.from('#*-CJMcjm'))).toBeUndefined();
  });

  it('isPlainObject: Object.prototype or null prototype only', () => {
    expect(isPlainObject({})).toBe(true);
    expect(isPlainObject(Object.create(null) as object)).toBe(true);
    expect(isPlainObject([])).toBe(false);
    expect(isPlainObject(new Map())).toBe(false);
    expect(isPlainObject(Object.create({}) as object)).toBe(false);
    expect(MAX_DEPTH).toBe(512);
  });
});

describe('finding the part at fault', () => {
  const pathOf = (dialect: Dialect, value: unknown): { path: string; reason: DialectErrorReason } => {
    const error = valueFaultError(dialect, value);
    return { path: error.path, reason: error.reason };
  };

  it('walks arrays, sets, maps and objects in the encoder’s order, key before value', () => {
    expect(pathOf(DIALECTS.etx, ['a', ['b', 'c\n']])).toEqual({ path: 'value[1][1]', reason: 'line-feed' });
    expect(pathOf(DIALECTS.etx, new Set(['a', new Set(['', 'x'])]))).toEqual({ path: '[...[...value][1]][0]', reason: 'empty-string' });
    expect(pathOf(DIALECTS.etx, new Map([['k\n', 'v\n']]))).toEqual({ path: 'map key "k\\n" in value', reason: 'line-feed' });
    expect(pathOf(DIALECTS.etx, new Map([['k', 'v\n']]))).toEqual({ path: 'value.get("k")', reason: 'line-feed' });
    expect(pathOf(DIALECTS.etx, { a: 'ok', b: { c: '\x03' } })).toEqual({ path: 'value["b"]["c"]', reason: 'etx' });
    expect(pathOf(DIALECTS.etx, [{}])).toEqual({ path: 'value[0]', reason: 'empty-map' });
    expect(pathOf(DIALECTS.etx, [new Map()])).toEqual({ path: 'value[0]', reason: 'empty-map' });
    expect(pathOf(DIALECTS.legacy, [new Map(), {}, 'x\r'])).toEqual({ path: 'value[2]', reason: 'carriage-return' });
  });

  it('stops at the first fault: later parts are not looked at', () => {
    const error = valueFaultError(DIALECTS.etx, ['', 'a\n', new Map([['k', '\x03']])]);
    expect(error.location).toEqual([{ kind: 'index', index: 0 }]);
    const inSet = valueFaultError(DIALECTS.etx, new Set(['ok', 'a\n', '']));
    expect(inSet.location).toEqual([{ kind: 'set-element', index: 1 }]);
    const inMap = valueFaultError(DIALECTS.etx, new Map<string, unknown>([['a', 1], ['b', ['x', '']], ['c', '']]));
    expect(inMap.location).toEqual([
      { kind: 'entry', key: 'b', container: 'map' },
      { kind: 'index', index: 1 },
    ]);
  });

  it('skips what has no wire form or cannot hold a string: numbers, floats, functions, non-string keys, cycles', () => {
    const cyclic: unknown[] = ['ok'];
    cyclic.push(cyclic, 'x\n');
    expect(pathOf(DIALECTS.etx, cyclic)).toEqual({ path: 'value[2]', reason: 'line-feed' });
    expect(pathOf(DIALECTS.etx, [1, 2n, true, null, undefined, float(1), () => 1, Symbol('s'), 'a\n'])).toEqual({ path: 'value[8]', reason: 'line-feed' });
    // Objects that are not plain (the encoder refuses them) are not looked into, even when empty.
    const point = Object.assign(new (class Point {})(), { label: 'x\n' });
    expect(pathOf(DIALECTS.etx, [new Date(0), point, 'a\n'])).toEqual({ path: 'value[2]', reason: 'line-feed' });
    expect(pathOf(DIALECTS.etx, new Map<unknown, unknown>([[1, ''], ['k', '']]))).toEqual({ path: 'value.get("k")', reason: 'empty-string' });
  });

  it('goes no deeper than the encoder does', () => {
    let deep: unknown = 'a\n';
    for (let i = 0; i <= MAX_DEPTH; i++) deep = [deep];
    // The fault sits below the encoder's depth limit: nothing to name.
    expect(valueFaultError(DIALECTS.etx, deep).reason).toBe('too-large');
    let shallow: unknown = 'a\n';
    for (let i = 0; i < MAX_DEPTH; i++) shallow = [shallow];
    expect(valueFaultError(DIALECTS.etx, shallow).reason).toBe('line-feed');
  });

  it('a value seen twice (not a cycle) is walked both times', () => {
    const shared = ['ok'];
    const value = [shared, [shared, 'x\n']];
    expect(pathOf(DIALECTS.etx, value)).toEqual({ path: 'value[1][1]', reason: 'line-feed' });
  });
});

describe('paths', () => {
  it('follow JavaScript for each kind of step', () => {
    expect(formatPath('value', [])).toBe('value');
    expect(formatPath('value', [{ kind: 'index', index: 3 }])).toBe('value[3]');
    expect(formatPath('value', [{ kind: 'set-element', index: 2 }])).toBe('[...value][2]');
    expect(formatPath('value', [{ kind: 'entry', key: 'k', container: 'map' }])).toBe('value.get("k")');
    expect(formatPath('value', [{ kind: 'entry', key: 'k', container: 'object' }])).toBe('value["k"]');
    expect(formatPath('value', [{ kind: 'map-key', key: 'k', container: 'map' }])).toBe('map key "k" in value');
    expect(
      formatPath('arg', [
        { kind: 'index', index: 0 },
        { kind: 'set-element', index: 1 },
        { kind: 'entry', key: 'a"b', container: 'object' },
        { kind: 'map-key', key: 'x', container: 'map' },
        { kind: 'index', index: 9 },
      ]),
    ).toBe('map key "x" in [...arg[0]][1]["a\\"b"]');
  });

  it('cut keys after 40 characters', () => {
    const key40 = 'k'.repeat(40);
    expect(formatPath('v', [{ kind: 'entry', key: key40, container: 'object' }])).toBe(`v["${key40}"]`);
    expect(formatPath('v', [{ kind: 'entry', key: `${key40}X`, container: 'object' }])).toBe(`v["${key40}…"]`);
    expect(formatPath('v', [{ kind: 'map-key', key: `${'\n'.repeat(41)}`, container: 'map' }])).toBe(`map key "${'\\n'.repeat(40)}…" in v`);
  });
});

describe('messages', () => {
  const reasons: DialectErrorReason[] = ['line-feed', 'carriage-return', 'etx', 'empty-string', 'empty-map', 'too-large'];
  const causes: Record<string, Record<DialectErrorReason, string>> = {
    etx: {
      'line-feed': 'current zcached servers store the string cut at its first line feed',
      'carriage-return': 'its forbidCarriageReturn rule is on',
      etx: 'the byte 0x03 ends a request in this framing, so the server would cut the request there',
      'empty-string': 'current zcached servers answer -ERR unprocessable to an empty string, as a key or a value',
      'empty-map': 'current zcached servers answer -ERR unprocessable to an empty map',
      'too-large': 'newer zcached servers refuse requests over their max_request_size (10 MB by default)',
    },
    'etx-request': {
      'line-feed': '2025 zcached servers answer -ERR bad request to a string holding one',
      'carriage-return': 'its forbidCarriageReturn rule is on',
      etx: 'the byte 0x03 ends a request in this framing, so the server would cut the request there',
      'empty-string': 'its forbidEmpty rule is on',
      'empty-map': 'its forbidEmpty rule is on',
      'too-large': 'newer zcached servers refuse requests over their max_request_size (10 MB by default)',
    },
    legacy: {
      'line-feed': '2024 zcached servers answer -ERR bad request to a string holding one',
      'carriage-return': '2024 zcached servers read each request as lines, and a line break inside a string puts it out of step',
      etx: 'the byte 0x03 ends a request in this framing, so the server would cut the request there',
      'empty-string': 'its forbidEmpty rule is on',
      'empty-map': 'its forbidEmpty rule is on',
      'too-large':
        '2024 zcached servers take each read as one whole request, and answer a request that arrives in two pieces with two -ERR bad request',
    },
    custom: {
      'line-feed': 'its forbidLineFeed rule is on',
      'carriage-return': 'its forbidCarriageReturn rule is on',
      etx: 'the byte 0x03 ends a request in this framing, so the server would cut the request there',
      'empty-string': 'its forbidEmpty rule is on',
      'empty-map': 'its forbidEmpty rule is on',
      'too-large': 'its maxRequestBytes limit',
    },
  };
  const what: Record<DialectErrorReason, string> = {
    'line-feed': 'holds a line feed (0x0a)',
    'carriage-return': 'holds a carriage return (0x0d)',
    etx: 'holds the byte 0x03 (ETX)',
    'empty-string': 'is an empty string',
    'empty-map': 'is an empty map',
    'too-large': 'is too large',
  };
  const hints: Record<DialectErrorReason, string> = {
    'line-feed': 'Store such values with a codec that escapes them (e.g. JSON).',
    'carriage-return': 'Store such values with a codec that escapes them (e.g. JSON).',
    etx: 'Store such values with a codec that escapes them (e.g. JSON), bytes as base64.',
    'empty-string': 'Leave it out, or store null or a non-empty placeholder.',
    'empty-map': 'Leave it out, or store null or a map with at least one entry.',
    'too-large': 'Split the data over several keys.',
  };

  for (const dialect of ['etx', 'etx-request', 'legacy', 'custom']) {
    const label = dialect === 'custom' ? 'this custom dialect' : `the '${dialect}' dialect`;
    it.each(reasons)(`${dialect}: %s`, (reason) => {
      const cause = causes[dialect]![reason];
      if (reason === 'too-large') {
        expect(dialectMessage({ reason, dialect, command: 'SET', path: 'request', size: 99, limit: 10 })).toBe(
          `SET: the request is 99 bytes, more than ${label} carries (at most 10): ${cause}; nothing was sent. ${hints[reason]}`,
        );
      } else {
        expect(dialectMessage({ reason, dialect, command: 'SET', path: 'value[1]' })).toBe(
          `SET: value[1] ${what[reason]}, which ${label} cannot carry: ${cause}; nothing was sent. ${hints[reason]}`,
        );
      }
    });
  }

  it('a size or limit not known is a question mark', () => {
    expect(dialectMessage({ reason: 'too-large', dialect: 'etx', path: 'request' })).toMatch(/^the request is \? bytes, more than the 'etx' dialect carries \(at most \?\)/);
  });

  it('names the command as is when it is a plain word of at most 40 characters, quoted otherwise', () => {
    const message = (command: string | undefined): string => dialectMessage({ reason: 'etx', dialect: 'etx', command, path: 'value' });
    expect(message(undefined)).toMatch(/^value holds/);
    expect(message('CLIENT.SET:x-y_1')).toMatch(/^CLIENT\.SET:x-y_1: value holds/);
    expect(message('A'.repeat(40))).toMatch(new RegExp(`^${'A'.repeat(40)}: value`));
    expect(message('A'.repeat(41))).toMatch(new RegExp(`^"${'A'.repeat(40)}…": value`));
    expect(message('GET X')).toMatch(/^"GET X": value/);
    expect(message('')).toMatch(/^"": value/);
    expect(message('x\ny')).toMatch(/^"x\\ny": value/);
  });
});

describe('the errors', () => {
  it('commandFaultError names the argument and command, with its fields', () => {
    const error = commandFaultError(DIALECTS.etx, ['SET', 'k', ['ok', 'a\n']]);
    expect(error).toBeInstanceOf(DialectError);
    expect(error).toMatchObject({ reason: 'line-feed', dialect: 'etx', command: 'SET', argument: 2, path: 'argument 2[1]', location: [{ kind: 'index', index: 1 }] });
    expect(error.message).toBe(dialectMessage({ reason: 'line-feed', dialect: 'etx', command: 'SET', path: 'argument 2[1]' }));
    const name = commandFaultError(DIALECTS.etx, ['GE\nT']);
    expect(name).toMatchObject({ path: 'command name', argument: 0, command: 'GE\nT' });
    const noName = commandFaultError(DIALECTS.etx, [42, '']);
    expect(noName).toMatchObject({ path: 'argument 1', command: undefined });
    expect(noName.message).toMatch(/^argument 1 is an empty string/);
  });

  it('commandFaultError without a fault to find still answers with an honest error', () => {
    const error = commandFaultError(DIALECTS.etx, ['SET', 'k', 'v']);
    expect(error).toBeInstanceOf(DialectError);
    expect(error.message).toBe("the request holds a value the 'etx' dialect cannot carry; nothing was sent");
    expect(error.dialect).toBe('etx');
  });

  it('valueFaultError: paths from `value`, no command; too-large when nothing is at fault', () => {
    const error = valueFaultError(DIALECTS.legacy, { a: 'x\r' });
    expect(error).toMatchObject({ reason: 'carriage-return', dialect: 'legacy', command: undefined, argument: undefined, path: 'value["a"]' });
    expect(valueFaultError(DIALECTS.legacy, 'fine')).toMatchObject({ reason: 'too-large', path: 'value', location: [] });
  });

  it('tooLargeError carries the size and the limit', () => {
    const error = tooLargeError(DIALECTS.legacy, 'SET', 2000);
    expect(error).toMatchObject({ reason: 'too-large', dialect: 'legacy', command: 'SET', path: 'request', size: 2000, limit: 1400, argument: undefined });
    expect(error.message).toBe(dialectMessage({ reason: 'too-large', dialect: 'legacy', command: 'SET', path: 'request', size: 2000, limit: 1400 }));
  });

  it('withArgumentName renames the path from the argument’s name and keeps the original as cause', () => {
    const original = commandFaultError(DIALECTS.etx, ['SET', 'k', new Map([['m', ['', 'x']]])]);
    const named = withArgumentName(original, 'value');
    expect(named).not.toBe(original);
    expect(named).toMatchObject({ reason: 'empty-string', dialect: 'etx', command: 'SET', argument: 2, path: 'value.get("m")[0]', location: original.location });
    expect(named.cause).toBe(original);
    expect(named.message).toBe(dialectMessage({ reason: 'empty-string', dialect: 'etx', command: 'SET', path: 'value.get("m")[0]' }));
    // Errors about no single argument, or about the command name, are returned as they are.
    const large = tooLargeError(DIALECTS.etx, 'SET', 11e6);
    expect(withArgumentName(large, 'value')).toBe(large);
    const name = commandFaultError(DIALECTS.etx, ['GE\nT']);
    expect(withArgumentName(name, 'key')).toBe(name);
    const first = commandFaultError(DIALECTS.etx, ['SET', '', 'v']);
    expect(withArgumentName(first, 'key')).toMatchObject({ path: 'key', argument: 1 });
  });
});
