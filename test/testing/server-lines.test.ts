/**
 * The current generation's parser reads bulk strings as lines: `$<n>\r\n`,
 * then the bytes up to the next `\n` (one `\r` before it dropped), whatever
 * `<n>` says. A value holding LF is stored cut at its first LF; a lone CR is
 * an ordinary byte. Exact request and reply bytes over a real socket to the
 * faithful (default) 'etx' server; with `faithful: false` the same values
 * round-trip whole.
 */
import { describe, expect, it } from 'vitest';
import { startServer } from '../../src/testing/server.js';
import { deferredCleanup } from '../support.js';
import { arr, bulk, cmd, RawClient } from './raw-client.js';

const cleanup = deferredCleanup();

async function client(faithful = true): Promise<RawClient> {
  const server = await startServer({ dialect: 'etx', faithful });
  const c = await RawClient.connect(server);
  cleanup.push(() => server.close());
  cleanup.push(async () => c.destroy());
  return c;
}

/** A bulk string of raw bytes with its true length, as a client sends it. */
const bytesBulk = (bytes: number[]): string => `$${bytes.length}\r\n${Buffer.from(bytes).toString('latin1')}\r\n`;

// [what is stored, the value element as sent, GET's exact reply on the faithful server]
const CASES: readonly (readonly [string, string, string])[] = [
  ["'line1\\nline2' → 'line1'", bulk('line1\nline2'), '$5\r\nline1\r\n\x03'],
  ["'a\\r\\nb' → 'a'", bulk('a\r\nb'), '$1\r\na\r\n\x03'],
  ["'end\\n' → 'end'", bulk('end\n'), '$3\r\nend\r\n\x03'],
  ["a Buffer [0x61, 0x0a, 0x62] → 'a'", bytesBulk([0x61, 0x0a, 0x62]), '$1\r\na\r\n\x03'],
  ["an array ['ok', 'x\\ny'] → ['ok', 'x']", arr(bulk('ok'), bulk('x\ny')), '*2\r\n$2\r\nok\r\n$1\r\nx\r\n\x03'],
  ["a map value 'v\\nw' → 'v'", `%1\r\n${bulk('k')}${bulk('v\nw')}`, '%1\r\n$1\r\nk\r\n$1\r\nv\r\n\x03'],
  // Only LF ends a line: a lone CR stays in the value.
  ["a lone CR 'a\\rb' round-trips", bulk('a\rb'), '$3\r\na\rb\r\n\x03'],
  ["'x\\r' keeps its CR (only the one CR before the LF is dropped)", bulk('x\r'), '$2\r\nx\r\r\n\x03'],
];

describe("'etx' bulk strings are lines", () => {
  it.each(CASES)('SET v %s', async (_name, value, reply) => {
    const c = await client();
    expect(await c.exchange(arr(bulk('SET'), bulk('v'), value))).toBe('+OK\r\n\x03');
    expect(await c.exchange(cmd('GET', 'v'))).toBe(reply);
  });

  it('the declared length is never checked: the line is the value', async () => {
    const c = await client();
    expect(await c.exchange(arr(bulk('SET'), bulk('v'), '$100\r\nshort\r\n'))).toBe('+OK\r\n\x03');
    expect(await c.exchange(cmd('GET', 'v'))).toBe('$5\r\nshort\r\n\x03');
    expect(await c.exchange(arr(bulk('SET'), '$0\r\nkey\r\n', bulk('w')))).toBe('+OK\r\n\x03');
    expect(await c.exchange(cmd('GET', 'key'))).toBe('$1\r\nw\r\n\x03');
  });

  it('keys are lines too: a key holding LF is cut, and the rest of the request is read from past the LF', async () => {
    const c = await client();
    // "k\nx": the key is "k"; after a bare LF the parser resumes two bytes on (past "x"), at "\r\n" —
    // not a type byte, so the request is refused (server source: the line's end + 2).
    expect(await c.exchange(arr(bulk('SET'), bulk('k\nx'), bulk('v')))).toBe('-ERR unprocessable\r\n\x03');
    expect(await c.exchange(cmd('DBSIZE'))).toBe(':0\r\n\x03');
    // A value holding LF that is not the last element: the same, nothing is stored.
    expect(await c.exchange(cmd('MSET', 'a', 'x\nyz', 'b', '2'))).toBe('-ERR unprocessable\r\n\x03');
    expect(await c.exchange(cmd('DBSIZE'))).toBe(':0\r\n\x03');
  });

  it('a simple string value is a line as well; empty strings are refused, as keys and values', async () => {
    const c = await client();
    expect(await c.exchange(arr(bulk('SET'), bulk('v'), '+a b\nignored\r\n'))).toBe('+OK\r\n\x03');
    expect(await c.exchange(cmd('GET', 'v'))).toBe('+a b\r\n\x03');
    expect(await c.exchange(cmd('SET', 'v', ''))).toBe('-ERR unprocessable\r\n\x03');
    expect(await c.exchange(cmd('SET', '', 'v'))).toBe('-ERR unprocessable\r\n\x03');
    expect(await c.exchange(cmd('GET', 'v'))).toBe('+a b\r\n\x03');
  });

  it('with faithful: false, the same values round-trip whole, and empty strings are stored', async () => {
    const c = await client(false);
    for (const text of ['line1\nline2', 'a\r\nb', 'end\n', 'a\rb', '']) {
      expect(await c.exchange(cmd('SET', 'v', text))).toBe('+OK\r\n\x03');
      expect(await c.exchange(cmd('GET', 'v'))).toBe(`${bulk(text)}\x03`);
    }
    expect(await c.exchange(arr(bulk('SET'), bulk('v'), bytesBulk([0x61, 0x0a, 0x62])))).toBe('+OK\r\n\x03');
    expect(await c.exchange(cmd('GET', 'v'))).toBe('$3\r\na\nb\r\n\x03');
    // A declared length that does not match is refused, as the binary-safe decoder reads by length.
    expect(await c.exchange(arr(bulk('SET'), bulk('v'), '$1\r\nabc\r\n'))).toBe('-ERR unprocessable\r\n\x03');
  });
});
