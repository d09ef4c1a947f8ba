import { describe, expect, it } from 'vitest';
import { ProtocolError } from '../../src/errors.js';
import type { WireValue } from '../../src/protocol/values.js';
import {
  encodeReply,
  executeRequest,
  formatPlainFloat,
  normalizeValue,
  protocolErrorReply,
  validateRequest,
} from '../../src/testing/server-commands.js';
import { ZCachedStore } from '../../src/testing/server-store.js';
import type { DialectName } from '../../src/protocol/dialect.js';

const bulk = (text: string): WireValue => ({ type: 'bulk', value: Buffer.from(text) });
const int = (value: bigint | number): WireValue => ({ type: 'integer', value: BigInt(value) });
const request = (...items: (string | WireValue)[]): WireValue => ({
  type: 'array',
  value: items.map((item) => (typeof item === 'string' ? bulk(item) : item)),
});

function run(dialect: DialectName, store = new ZCachedStore()) {
  const ctx = { store, dialect };
  return (...items: (string | WireValue)[]): string => encodeReply(executeRequest(request(...items), ctx)).toString();
}

describe('formatPlainFloat', () => {
  it.each([
    [1, '1'],
    [1.5, '1.5'],
    [-2.25, '-2.25'],
    [1.5e10, '15000000000'],
    [1e-7, '0.0000001'],
    [1.2345e-8, '0.000000012345'],
    [-1e-7, '-0.0000001'],
    [1e21, '1000000000000000000000'],
    [1.5e22, '15000000000000000000000'],
    [1e300, '1' + '0'.repeat(300)],
    [Number.MIN_VALUE, '0.' + '0'.repeat(323) + '5'],
    [Infinity, 'inf'],
    [-Infinity, '-inf'],
    [Number.NaN, 'nan'],
    [-0, '-0'],
    [0, '0'],
  ])('%s → %s', (input, text) => {
    expect(formatPlainFloat(input)).toBe(text);
    if (Number.isFinite(input)) expect(Number(text)).toBe(input);
  });
});

describe('encodeReply', () => {
  it('prints floats plainly, also inside aggregates', () => {
    const value: WireValue = {
      type: 'map',
      value: [[bulk('f'), { type: 'array', value: [{ type: 'float', value: 1e-7 }, { type: 'set', value: [int(1)] }] }]],
    };
    expect(encodeReply(value).toString()).toBe('%1\r\n$1\r\nf\r\n*2\r\n,0.0000001\r\n~1\r\n:1\r\n');
  });
});

describe('normalizeValue', () => {
  it('stores simple strings as bulk, collapses duplicate map keys and set elements', () => {
    const value: WireValue = {
      type: 'array',
      value: [
        { type: 'simple', value: 'a' },
        {
          type: 'map',
          value: [
            [{ type: 'simple', value: 'k' }, int(1)],
            [bulk('k'), int(2)],
          ],
        },
        { type: 'set', value: [int(1), int(1), { type: 'simple', value: 'x' }, bulk('x')] },
      ],
    };
    expect(encodeReply(normalizeValue(value)).toString()).toBe(
      '*3\r\n$1\r\na\r\n%1\r\n$1\r\nk\r\n:2\r\n~2\r\n:1\r\n$1\r\nx\r\n',
    );
  });
});

describe('executeRequest', () => {
  it('runs the basic commands', () => {
    const cmd = run('etx');
    expect(cmd('PING')).toBe('+PONG\r\n');
    expect(cmd('ping', 'ignored')).toBe('+PONG\r\n');
    expect(cmd('GET', 'k')).toBe("-ERR 'k' not found\r\n");
    expect(cmd('SET', 'k', { type: 'simple', value: 'v' })).toBe('+OK\r\n');
    expect(cmd('GET', 'k')).toBe('$1\r\nv\r\n');
    expect(cmd('DBSIZE')).toBe(':1\r\n');
    expect(cmd('KEYS')).toBe('*1\r\n$1\r\nk\r\n');
    expect(cmd('MGET', 'k', 'x', 'k')).toBe('%2\r\n$1\r\nk\r\n$1\r\nv\r\n$1\r\nx\r\n_\r\n');
    expect(cmd('DELETE', 'k')).toBe('+OK\r\n');
    expect(cmd('DELETE', 'k')).toBe("-ERR 'k' not found\r\n");
    expect(cmd('FLUSH')).toBe('+OK\r\n');
  });

  it('checks arity and key types', () => {
    const cmd = run('etx');
    expect(cmd('GET')).toBe('-ERR unexpected\r\n');
    expect(cmd('SET', 'k')).toBe('-ERR unexpected\r\n');
    expect(cmd('SET', int(1), 'v')).toBe('-TYPERR key not string\r\n');
    expect(cmd('SET', { type: 'simple', value: 'k' }, 'v')).toBe('-TYPERR key not string\r\n');
    expect(cmd('MSET')).toBe('-ERR unexpected\r\n');
    expect(cmd('MSET', 'a')).toBe('-ERR unexpected\r\n');
    expect(cmd('MGET', int(1))).toBe('-TYPERR key not string\r\n');
    expect(cmd('SET', 'k', { type: 'error', value: 'ERR x' })).toBe('-ERR unexpected\r\n');
  });

  it('refuses what is not a command', () => {
    const ctx = { store: new ZCachedStore(), dialect: 'etx' as const };
    const reply = (value: WireValue) => encodeReply(executeRequest(value, ctx)).toString();
    expect(reply(bulk('PING'))).toBe('-ERR unknown command\r\n');
    expect(reply({ type: 'array', value: [] })).toBe('-ERR unknown command\r\n');
    expect(reply(request(int(1)))).toBe('-ERR unknown command\r\n');
    expect(reply(request({ type: 'simple', value: 'PING' }))).toBe('-ERR unknown command\r\n');
    expect(reply(request('NoSuch'))).toBe("-ERR unknown command 'NoSuch'\r\n");
    expect(reply(request('bad\r\nname'))).toBe("-ERR unknown command 'bad  name'\r\n");
  });

  it('answers SAVE per generation and updates LASTSAVE', () => {
    const store = new ZCachedStore(1000);
    expect(run('legacy', store)('SAVE')).toBe('-ERR there is no data to save\r\n');
    expect(run('etx-request', store)('SAVE')).toBe('-NOSAVE error while saving data\r\n');
    expect(run('etx', store)('LASTSAVE')).toBe(':1000\r\n');
    expect(run('etx', store)('SET', 'k', int(1))).toBe('+OK\r\n');
    expect(run('etx', store)('SAVE')).toBe('+OK\r\n');
    expect(store.lastSave).toBeGreaterThan(1000);
    expect(store.savedSnapshot?.size).toBe(1);
  });

  it('has ECHO, SIZEOF, RENAME and COPY only in the newer dialects', () => {
    for (const name of ['ECHO', 'SIZEOF', 'RENAME', 'COPY']) {
      expect(run('legacy')(name, 'a', 'b')).toBe(`-ERR unknown command '${name}'\r\n`);
    }
    const cmd = run('etx-request');
    expect(cmd('ECHO', 'hi')).toBe('$2\r\nhi\r\n');
    expect(cmd('ECHO', int(1))).toBe('-TYPERR key not string\r\n');
    expect(cmd('SET', 'n', int(5))).toBe('+OK\r\n');
    expect(cmd('SIZEOF', 'n')).toBe(':8\r\n');
    expect(cmd('COPY', 'n', 'm', 'replace')).toBe('$2\r\nOK\r\n');
    expect(cmd('COPY', 'n', 'm', 'nope')).toBe('-ERR unexpected\r\n');
    expect(cmd('RENAME', 'm', 'o')).toBe('+OK\r\n');
    expect(cmd('KEYS')).toBe('*2\r\n$1\r\nn\r\n$1\r\no\r\n');
  });

  it('validates like the real parser, per generation', () => {
    const set: WireValue = { type: 'set', value: [] };
    const badMap: WireValue = { type: 'map', value: [[int(1), int(2)]] };
    const lf = bulk('a\nb');
    expect(validateRequest(request('SET', 'k', set), 'legacy')).toEqual({ type: 'error', value: 'ERR bad request' });
    expect(validateRequest(request('SET', 'k', set), 'etx')).toBeUndefined();
    expect(validateRequest(request('SET', 'k', badMap), 'legacy')).toEqual({ type: 'error', value: 'ERR unexpected' });
    expect(validateRequest(request('SET', 'k', badMap), 'etx')).toEqual({ type: 'error', value: 'ERR key must be a string' });
    expect(validateRequest(request('SET', 'k', lf), 'legacy')).toEqual({ type: 'error', value: 'ERR bad request' });
    expect(validateRequest(request('SET', 'k', lf), 'etx')).toBeUndefined();
    expect(validateRequest(request('SET', 'k', int(2n ** 63n)), 'etx')).toEqual({ type: 'error', value: 'TYPERR not integer' });
    expect(validateRequest(request('SET', 'k', int(-(2n ** 63n))), 'etx')).toBeUndefined();
  });
});

describe('protocolErrorReply', () => {
  it.each([
    ['integer', 'TYPERR not integer', 'TYPERR not integer'],
    ['boolean', 'TYPERR not boolean', 'TYPERR not boolean'],
    ['float', 'ERR unexpected', 'ERR unexpected'],
    ['length', 'ERR unexpected', 'INVAL invalid length'],
    ['limit', 'ERR bad request', 'ERR maximum payload size exceeded'],
    ['type', 'ERR bad request', 'ERR unprocessable'],
    ['framing', 'ERR bad request', 'ERR unprocessable'],
  ] as const)('%s → %s (legacy) / %s (newer)', (reason, legacy, newer) => {
    const error = new ProtocolError('x', { reason });
    expect(protocolErrorReply(error, 'legacy')).toEqual({ type: 'error', value: legacy });
    expect(protocolErrorReply(error, 'etx')).toEqual({ type: 'error', value: newer });
    expect(protocolErrorReply(error, 'etx-request')).toEqual({ type: 'error', value: newer });
  });
});
