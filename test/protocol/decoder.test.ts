import { describe, expect, it } from 'vitest';
import { ProtocolError, ServerError } from '../../src/errors.js';
import { ReplyDecoder, WireDecoder, decodeReplies, decodeWire } from '../../src/protocol/decoder.js';

const b = (s: string) => Buffer.from(s, 'latin1');

describe('ReplyDecoder', () => {
  it('decodes every wire type to its JavaScript value', () => {
    const replies = decodeReplies(
      b('+OK\r\n$5\r\nhello\r\n$0\r\n\r\n:42\r\n:-9007199254740993\r\n,1.5\r\n,inf\r\n,-inf\r\n,nan\r\n#t\r\n#F\r\n_\r\n*2\r\n:1\r\n+a\r\n%1\r\n$3\r\nkey\r\n:1\r\n~1\r\n:2\r\n'),
    );
    expect(replies).toEqual([
      'OK',
      'hello',
      '',
      42,
      -9007199254740993n,
      1.5,
      Infinity,
      -Infinity,
      Number.NaN,
      true,
      false,
      null,
      [1, 'a'],
      new Map([['key', 1]]),
      new Set([2]),
    ]);
  });

  it('decodes UTF-8 bulk strings by byte length, and bytes on request', () => {
    expect(decodeReplies(Buffer.from('$7\r\nżółw\r\n'))).toEqual(['żółw']);
    const [raw] = decodeReplies(b('$3\r\n\x00\r\n\r\n'), { bulkAsBuffer: true });
    expect(raw).toEqual(Buffer.from([0, 13, 10]));
  });

  it('turns error replies into ServerError values with their code', () => {
    const [error] = decodeReplies(b("-ERR 'k' not found\r\n"));
    expect(error).toBeInstanceOf(ServerError);
    expect((error as ServerError).code).toBe('ERR');
    expect((error as ServerError).message).toBe("'k' not found");
    const [typerr] = decodeReplies(b('-TYPERR not integer\r\n'));
    expect((typerr as ServerError).code).toBe('TYPERR');
  });

  it('keeps map keys such as __proto__ untouched', () => {
    const [map] = decodeReplies(b('%2\r\n$9\r\n__proto__\r\n:1\r\n$11\r\nconstructor\r\n:2\r\n'));
    expect(map).toBeInstanceOf(Map);
    expect([...(map as Map<string, unknown>)]).toEqual([
      ['__proto__', 1],
      ['constructor', 2],
    ]);
  });

  it('accepts RESP2 nulls and an optional 0x03 after each reply', () => {
    expect(decodeReplies(b('$-1\r\n\x03*-1\r\n\x03\x03+OK\r\n'))).toEqual([null, null, 'OK']);
  });

  it('waits for the rest of a reply split anywhere', () => {
    const decoder = new ReplyDecoder();
    const out: unknown[] = [];
    const bytes = b('*2\r\n$5\r\nhello\r\n:7\r\n\x03+OK\r\n');
    for (const byte of bytes) decoder.push(Buffer.from([byte]), (r) => out.push(r));
    expect(out).toEqual([['hello', 7], 'OK']);
    expect(decoder.bufferedBytes).toBe(0);
  });

  it('does not re-parse a large bulk string until all of it has arrived', () => {
    const decoder = new ReplyDecoder();
    const out: unknown[] = [];
    const body = 'x'.repeat(200_000);
    const bytes = b(`$${body.length}\r\n${body}\r\n`);
    for (let i = 0; i < bytes.length; i += 1000) decoder.push(bytes.subarray(i, i + 1000), (r) => out.push(r));
    expect(out).toEqual([body]);
  });

  it('rejects malformed bytes with a ProtocolError and stays failed until reset', () => {
    const cases = ['?x\r\n', ':12a\r\n', ',1.2.3\r\n', '#x\r\n', '$abc\r\n', '$3\r\nabcd\r\n', '+OK\rX', '_x\r\n', '~-1\r\n'];
    for (const input of cases) {
      const decoder = new ReplyDecoder();
      expect(() => decoder.push(b(input), () => undefined), input).toThrow(ProtocolError);
      expect(() => decoder.push(b('+OK\r\n'), () => undefined)).toThrow(ProtocolError);
      decoder.reset();
      const out: unknown[] = [];
      decoder.push(b('+OK\r\n'), (r) => out.push(r));
      expect(out).toEqual(['OK']);
    }
  });

  it('enforces its limits before allocating', () => {
    const limited = () => new ReplyDecoder({ limits: { maxBulkBytes: 1024, maxAggregateLength: 100, maxDepth: 8, maxBufferedBytes: 4096 } });
    const reason = (input: string) => {
      try {
        limited().push(b(input), () => undefined);
      } catch (error) {
        return (error as ProtocolError).reason;
      }
      return 'no error';
    };
    expect(reason('$99999999999\r\n')).toBe('limit');
    expect(reason('*101\r\n')).toBe('limit');
    expect(reason('%101\r\n')).toBe('limit');
    expect(reason('%60\r\n')).toBe('no error');
    expect(reason('*1\r\n'.repeat(9) + ':1\r\n')).toBe('limit');
    expect(reason('+' + 'x'.repeat(2000))).toBe('limit');
    expect(reason('*50\r\n' + `$1000\r\n${'x'.repeat(1000)}\r\n`.repeat(5))).toBe('limit');
    expect(reason('*1\r\n'.repeat(7) + ':1\r\n')).toBe('no error');
  });

  it('keeps undelivered replies when the consumer throws, and stops when reset inside the callback', () => {
    const decoder = new ReplyDecoder();
    const out: unknown[] = [];
    expect(() =>
      decoder.push(b(':1\r\n:2\r\n'), (r) => {
        out.push(r);
        if (r === 1) throw new Error('consumer failed');
      }),
    ).toThrow('consumer failed');
    decoder.push(b(':3\r\n'), (r) => out.push(r));
    expect(out).toEqual([1, 2, 3]);
    const resetting = new ReplyDecoder();
    const seen: unknown[] = [];
    resetting.push(b(':1\r\n:2\r\n'), (r) => {
      seen.push(r);
      resetting.reset();
    });
    expect(seen).toEqual([1]);
    expect(resetting.bufferedBytes).toBe(0);
  });
});

describe('WireDecoder and decodeWire', () => {
  it('keeps every wire type apart', () => {
    const out: unknown[] = [];
    new WireDecoder().push(b('+OK\r\n$2\r\nok\r\n:+7\r\n,1\r\n#T\r\n_\r\n-ERR x\r\n~0\r\n%1\r\n+k\r\n*0\r\n'), (v) => out.push(v));
    expect(out).toEqual([
      { type: 'simple', value: 'OK' },
      { type: 'bulk', value: Buffer.from('ok') },
      { type: 'integer', value: 7n },
      { type: 'float', value: 1 },
      { type: 'boolean', value: true },
      { type: 'null' },
      { type: 'error', value: 'ERR x' },
      { type: 'set', value: [] },
      { type: 'map', value: [[{ type: 'simple', value: 'k' }, { type: 'array', value: [] }]] },
    ]);
  });

  it('decodes one value and says where it ends, or that it is incomplete', () => {
    expect(decodeWire(b(':99999999999999999999\r\nrest'))).toEqual({ value: { type: 'integer', value: 99999999999999999999n }, end: 23 });
    expect(decodeWire(b('*2\r\n:1\r\n'))).toBeUndefined();
    expect(() => decodeWire(b('#maybe\r\n'))).toThrow(expect.objectContaining({ reason: 'boolean' }));
    expect(() => decodeWire(b(',1e\r\n'))).toThrow(expect.objectContaining({ reason: 'float' }));
    expect(() => decodeWire(b(':1x\r\n'))).toThrow(expect.objectContaining({ reason: 'integer' }));
  });
});
