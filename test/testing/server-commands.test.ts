import { describe, expect, it } from 'vitest';
import { ProtocolError } from '../../src/errors.js';
import type { WireValue } from '../../src/protocol/values.js';
import { protocolErrorReply, validateRequest } from '../../src/testing/generations/binary-safe.js';
import { encodeReply, executeRequest, formatPlainFloat, normalizeValue } from '../../src/testing/server-commands.js';
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
    expect(encodeReply(normalizeValue(value, 'etx-request')).toString()).toBe(encodeReply(normalizeValue(value)).toString());
    // The current generation keeps simple strings simple (map keys still become bulk strings).
    expect(encodeReply(normalizeValue(value, 'etx')).toString()).toBe(
      '*3\r\n+a\r\n%1\r\n$1\r\nk\r\n:2\r\n~3\r\n:1\r\n+x\r\n$1\r\nx\r\n',
    );
  });
});

describe('executeRequest', () => {
  it('runs the basic commands', () => {
    const ctxStore = new ZCachedStore();
    const cmd = run('etx', ctxStore);
    expect(cmd('PING')).toBe('+PONG\r\n');
    expect(cmd('ping', 'ignored')).toBe('+PONG\r\n');
    expect(cmd('GET', 'k')).toBe("-ERR 'k' not found\r\n");
    expect(cmd('SET', 'k', { type: 'simple', value: 'v' })).toBe('+OK\r\n');
    expect(cmd('GET', 'k')).toBe('+v\r\n'); // the current generation keeps a stored simple string simple
    expect(cmd('DBSIZE')).toBe(':1\r\n');
    expect(cmd('KEYS')).toBe('*1\r\n$1\r\nk\r\n');
    expect(cmd('MGET', 'k', 'x', 'k')).toBe('%2\r\n$1\r\nk\r\n+v\r\n$1\r\nx\r\n_\r\n');
    expect(run('etx-request', ctxStore)('SET', 'k', { type: 'simple', value: 'v' })).toBe('+OK\r\n');
    expect(run('etx-request', ctxStore)('GET', 'k')).toBe('$1\r\nv\r\n'); // older generations: as a bulk string
    expect(cmd('DELETE', 'k')).toBe('+OK\r\n');
    expect(cmd('DELETE', 'k')).toBe("-ERR 'k' not found\r\n");
    expect(cmd('FLUSH')).toBe('+OK\r\n');
  });

  it.each(['legacy', 'etx-request', 'etx'] as const)('checks arity and key types (%s)', (dialect) => {
    const cmd = run(dialect);
    const keyError = dialect === 'etx' ? '-ERR unexpected\r\n' : '-TYPERR key not string\r\n';
    expect(cmd('GET')).toBe('-ERR unexpected\r\n');
    expect(cmd('SET', 'k')).toBe('-ERR unexpected\r\n');
    expect(cmd('SET', int(1), 'v')).toBe(keyError);
    expect(cmd('MSET')).toBe('-ERR unexpected\r\n');
    expect(cmd('MSET', 'a')).toBe('-ERR unexpected\r\n');
    expect(cmd('MGET', int(1))).toBe(keyError);
    expect(cmd('MSET', 'a', int(1), int(2), int(3))).toBe(keyError);
    expect(cmd('SET', 'k', { type: 'error', value: 'ERR x' })).toBe('-ERR unexpected\r\n');
    // A simple string is a plain string to the older parsers, a non-string key to the current one.
    expect(cmd('SET', { type: 'simple', value: 'k' }, 'v')).toBe(dialect === 'etx' ? '-ERR unexpected\r\n' : '+OK\r\n');
    expect(cmd({ type: 'simple', value: 'PING' })).toBe(dialect === 'etx' ? '-ERR unknown command\r\n' : '+PONG\r\n');
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
    expect(run('etx-request', store)('SAVE')).toBe('-ERR there is no data to save\r\n');
    expect(run('etx', store)('SAVE')).toBe('-NOSAVE error while saving data\r\n');
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

  it('validateRequest: what each generation refuses whatever its parser (binary-safe path)', () => {
    const set: WireValue = { type: 'set', value: [] };
    const badMap: WireValue = { type: 'map', value: [[int(1), int(2)]] };
    const lf = bulk('a\nb');
    expect(validateRequest(request('SET', 'k', set), 'legacy')).toBe('ERR bad request');
    expect(validateRequest(request('SET', 'k', set), 'etx-request')).toBeUndefined();
    expect(validateRequest(request('SET', 'k', set), 'etx')).toBeUndefined();
    expect(validateRequest(request('SET', 'k', badMap), 'legacy')).toBe('ERR unexpected');
    expect(validateRequest(request('SET', 'k', badMap), 'etx-request')).toBe('ERR unexpected');
    expect(validateRequest(request('SET', 'k', badMap), 'etx')).toBe('ERR key must be a string');
    expect(validateRequest(request('SET', 'k', lf), 'legacy')).toBe('ERR bad request');
    expect(validateRequest(request('SET', 'k', lf), 'etx-request')).toBe('ERR bad request');
    expect(validateRequest(request('SET', 'k', lf), 'etx')).toBeUndefined();
    expect(validateRequest(request('SET', 'k', int(2n ** 63n)), 'legacy')).toBe('TYPERR not integer');
    expect(validateRequest(request('SET', 'k', int(2n ** 63n)), 'etx')).toBe('TYPERR invalid type');
    expect(validateRequest(request('SET', 'k', int(-(2n ** 63n))), 'etx')).toBeUndefined();
  });
});

describe('protocolErrorReply', () => {
  it.each([
    ['integer', 'TYPERR not integer', 'TYPERR not integer', 'TYPERR invalid type'],
    ['boolean', 'TYPERR not boolean', 'TYPERR not boolean', 'TYPERR invalid type'],
    ['float', 'ERR unexpected', 'ERR unexpected', 'TYPERR invalid type'],
    ['length', 'ERR unexpected', 'ERR invalid length', 'INVAL invalid length'],
    ['limit', 'ERR bad request', 'ERR maximum payload size exceeded', 'ERR maximum payload size exceeded'],
    ['type', 'ERR bad request', 'ERR bad request', 'ERR unprocessable'],
    ['framing', 'ERR bad request', 'ERR bad request', 'ERR unprocessable'],
  ] as const)('%s → %s (legacy) / %s (etx-request) / %s (etx)', (reason, legacy, etxRequest, etx) => {
    const error = new ProtocolError('x', { reason });
    expect(protocolErrorReply(error, 'legacy')).toBe(legacy);
    expect(protocolErrorReply(error, 'etx-request')).toBe(etxRequest);
    expect(protocolErrorReply(error, 'etx')).toBe(etx);
  });
});
