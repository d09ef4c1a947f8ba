/**
 * The reproduced request parsers of the three server generations, directly:
 * the line rules, and the details the socket tests do not reach.
 */
import { describe, expect, it } from 'vitest';
import type { DialectName } from '../../src/protocol/dialect.js';
import { parseRequest } from '../../src/testing/generations/parser.js';
import { encodeReply } from '../../src/testing/server-reply.js';

const BOUND = 10 * 1024 * 1024;

/** The parsed value re-encoded (or `-<error>`), and where parsing stopped. */
function parse(text: string, dialect: DialectName): { value: string; end?: number } {
  const outcome = parseRequest(Buffer.from(text, 'latin1'), dialect, BOUND);
  return outcome.ok ? { value: encodeReply(outcome.value).toString('latin1'), end: outcome.end } : { value: `-${outcome.error}` };
}

describe('current generation (etx) line rule', () => {
  it('drops one CR before the LF; after a bare LF the next element starts one byte past it', () => {
    expect(parse('*2\r\n$9\r\na\nb\r\n:1\r\n', 'etx').value).toBe('-ERR unprocessable'); // resumes at "\r\n:1"
    expect(parse('*2\r\n$9\r\na\nX:1\r\n', 'etx').value).toBe('*2\r\n$1\r\na\r\n:1\r\n'); // "X" skipped
    expect(parse('*1\r\n$3\r\na\r\r\n', 'etx').value).toBe('*1\r\n$2\r\na\r\r\n');
  });

  it('needs a line end, and input left for each declared element', () => {
    expect(parse('*1\r\n$3\r\nabc', 'etx').value).toBe('-ERR unprocessable');
    expect(parse('*2\r\n:1\r\n', 'etx').value).toBe('-ERR unexpected');
    expect(parse('', 'etx').value).toBe('-ERR unexpected');
  });

  it('skips two bytes after _ whatever they are, and stops after the first value', () => {
    expect(parse('*2\r\n_xx:5\r\n', 'etx').value).toBe('*2\r\n_\r\n:5\r\n');
    const { value, end } = parse(':1\r\ntrailing', 'etx');
    expect(value).toBe(':1\r\n');
    expect(end).toBe(4);
  });

  it('reads floats as the server prints them back, and refuses what is not one', () => {
    expect(parse(',+1.5\r\n', 'etx').value).toBe(',1.5\r\n');
    expect(parse(',-Infinity\r\n', 'etx').value).toBe(',-inf\r\n');
    expect(parse(',NaN\r\n', 'etx').value).toBe(',nan\r\n');
    expect(parse(',.5e1\r\n', 'etx').value).toBe(',5\r\n');
    expect(parse(',1.2.3\r\n', 'etx').value).toBe('-TYPERR invalid type');
    expect(parse(',\r\n', 'etx').value).toBe('-ERR unprocessable');
  });

  it('refuses an empty map but keeps an empty set and array; a huge count is an allocation failure', () => {
    expect(parse('%0\r\n', 'etx').value).toBe('-ERR unprocessable');
    expect(parse('~0\r\n', 'etx').value).toBe('~0\r\n');
    expect(parse('*0\r\n', 'etx').value).toBe('*0\r\n');
    expect(parse(`*${BOUND + 1}\r\n`, 'etx').value).toBe('-ERR maximum payload size exceeded');
    expect(parse(`*${BOUND}\r\n`, 'etx').value).toBe('-ERR unexpected'); // fits, but the elements are missing
  });

  it('checks a map key once its value is read', () => {
    expect(parse('%1\r\n:1\r\n(bad\r\n', 'etx').value).toBe('-ERR unprocessable');
    expect(parse('%1\r\n:1\r\n:2\r\n', 'etx').value).toBe('-ERR key must be a string');
  });

  it('bounds nesting', () => {
    expect(parse('*1\r\n'.repeat(600) + ':1\r\n', 'etx').value).toBe('-ERR unexpected');
    expect(parse('*1\r\n'.repeat(100) + ':1\r\n', 'etx').value.startsWith('*1\r\n')).toBe(true);
  });
});

describe('older generations (legacy, etx-request) line rule', () => {
  it.each(['legacy', 'etx-request'] as const)('%s: a line is the bytes before LF less its last one; bulk strings must match their length', (dialect) => {
    expect(parse('*1\r\n$3\r\nabc\r\n', dialect).value).toBe('*1\r\n$3\r\nabc\r\n');
    expect(parse('*1\r\n$3\r\na\rb\r\n', dialect).value).toBe('*1\r\n$3\r\na\rb\r\n');
    expect(parse('*1\r\n$3\r\nabc\n', dialect).value).toBe('-ERR bad request'); // no CR: "ab" is 2 bytes
    expect(parse('*1\r\n$0\r\n\r\n', dialect).value).toBe('*1\r\n$0\r\n\r\n');
    expect(parse('*1\r\n$0\r\n\n', dialect).value).toBe('-ERR bad request');
    expect(parse('+\r\n', dialect).value).toBe('+\r\n');
    expect(parse('*1\r\n_\r\n', dialect).value).toBe('*1\r\n_\r\n');
    expect(parse('*2\r\n_\r\n:1\r\n', dialect).value).toBe('*2\r\n_\r\n:1\r\n');
  });

  it('sets exist from 2025 on', () => {
    expect(parse('~1\r\n:1\r\n', 'legacy').value).toBe('-ERR bad request');
    expect(parse('~1\r\n:1\r\n', 'etx-request').value).toBe('~1\r\n:1\r\n');
    expect(parse('~x\r\n', 'etx-request').value).toBe('-ERR invalid length');
  });

  it('answers a bad aggregate length per generation', () => {
    expect(parse('%x\r\n', 'legacy').value).toBe('-ERR unexpected');
    expect(parse('%x\r\n', 'etx-request').value).toBe('-ERR invalid length');
    expect(parse('%x\r\n', 'etx').value).toBe('-INVAL invalid length');
  });
});
