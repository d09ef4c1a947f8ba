/**
 * Every row of the protocol reference's table "What real servers answer to
 * odd requests", for each of the three generations, over a real socket to the
 * faithful (default) embedded server: exact request bytes in, exact reply
 * bytes out (each 'etx' reply ends with 0x03), then what got stored.
 *
 * Requests are written as their body; the ETX dialects get the 0x03 after it
 * (`RawClient.send`), the 2024 one nothing. One request is on the wire at a
 * time, so each is a read of its own (the 2024 server takes each read with a
 * line feed as one request).
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { DialectName } from '../../src/protocol/dialect.js';
import { startServer, type ZCachedServer } from '../../src/testing/server.js';
import { deferredCleanup } from '../support.js';
import { arr, bulk, cmd, RawClient } from './raw-client.js';

const cleanup = deferredCleanup();
afterEach(() => undefined);

const DIALECTS: readonly DialectName[] = ['legacy', 'etx-request', 'etx'];

/** The reply bytes per generation. */
type PerGeneration = Readonly<Record<DialectName, string>>;

/** The same reply on the two older generations (no terminator), and the current one (0x03 added here, visibly). */
const older = (olderReply: string, current: string): PerGeneration => ({
  legacy: olderReply,
  'etx-request': olderReply,
  etx: `${current}\x03`,
});

const NOT_FOUND_K = older("-ERR 'k' not found\r\n", "-ERR 'k' not found\r\n");
const OK = older('+OK\r\n', '+OK\r\n');

/** `SET k <value>` */
const setK = (value: string): string => arr(bulk('SET'), bulk('k'), value);

async function open(dialect: DialectName): Promise<{ server: ZCachedServer; c: RawClient }> {
  const server = await startServer({ dialect });
  const c = await RawClient.connect(server);
  cleanup.push(() => server.close());
  cleanup.push(async () => c.destroy());
  return { server, c };
}

interface Row {
  /** The request body (0x03 added for the ETX dialects). */
  readonly request: string;
  /** Its exact reply per generation. */
  readonly reply: PerGeneration;
  /** Then `GET k` answers, per generation. */
  readonly stored: PerGeneration;
}

/** The table, one entry per row (some rows have several requests). */
const TABLE: readonly (readonly [string, readonly Row[]])[] = [
  [
    'empty bulk string $0 / empty simple string + / empty map %0 (stored by older, -ERR unprocessable by current; empty array *0 stored)',
    [
      { request: setK('$0\r\n\r\n'), reply: older('+OK\r\n', '-ERR unprocessable\r\n'), stored: older('$0\r\n\r\n', "-ERR 'k' not found\r\n") },
      { request: setK('+\r\n'), reply: older('+OK\r\n', '-ERR unprocessable\r\n'), stored: older('$0\r\n\r\n', "-ERR 'k' not found\r\n") },
      { request: setK('%0\r\n'), reply: older('+OK\r\n', '-ERR unprocessable\r\n'), stored: older('%0\r\n', "-ERR 'k' not found\r\n") },
      { request: setK('*0\r\n'), reply: OK, stored: older('*0\r\n', '*0\r\n') },
    ],
  ],
  [
    'empty bulk string as the key (keys and values alike)',
    [{ request: arr(bulk('SET'), '$0\r\n\r\n', bulk('v')), reply: older('+OK\r\n', '-ERR unprocessable\r\n'), stored: NOT_FOUND_K }],
  ],
  [
    'bulk holding \\n or \\r\\n (-ERR bad request by older; current: +OK, stored cut at the first LF)',
    [
      { request: setK('$11\r\nline1\nline2\r\n'), reply: older('-ERR bad request\r\n', '+OK\r\n'), stored: older("-ERR 'k' not found\r\n", '$5\r\nline1\r\n') },
      { request: setK('$4\r\na\r\nb\r\n'), reply: older('-ERR bad request\r\n', '+OK\r\n'), stored: older("-ERR 'k' not found\r\n", '$1\r\na\r\n') },
    ],
  ],
  [
    'bulk with a declared length too big or too small (-ERR bad request by older; current: +OK, the line stored)',
    [
      { request: setK('$9\r\nabc\r\n'), reply: older('-ERR bad request\r\n', '+OK\r\n'), stored: older("-ERR 'k' not found\r\n", '$3\r\nabc\r\n') },
      { request: setK('$1\r\nabc\r\n'), reply: older('-ERR bad request\r\n', '+OK\r\n'), stored: older("-ERR 'k' not found\r\n", '$3\r\nabc\r\n') },
    ],
  ],
  [
    '$-1 as a value',
    [{ request: setK('$-1\r\n'), reply: older('-ERR bad request\r\n', '-ERR unprocessable\r\n'), stored: NOT_FOUND_K }],
  ],
  [
    'bulk length not a number ($x)',
    [{ request: setK('$x\r\nabc\r\n'), reply: older('-ERR bad request\r\n', '-INVAL invalid length\r\n'), stored: NOT_FOUND_K }],
  ],
  [
    ': with garbage or out of range (empty : on current: -ERR unprocessable)',
    [
      { request: setK(':12x\r\n'), reply: older('-TYPERR not integer\r\n', '-TYPERR invalid type\r\n'), stored: NOT_FOUND_K },
      { request: setK(':9223372036854775808\r\n'), reply: older('-TYPERR not integer\r\n', '-TYPERR invalid type\r\n'), stored: NOT_FOUND_K },
      { request: setK(':-9223372036854775809\r\n'), reply: older('-TYPERR not integer\r\n', '-TYPERR invalid type\r\n'), stored: NOT_FOUND_K },
      // Not in the table for the older servers: their parser fails on the empty number like on garbage.
      { request: setK(':\r\n'), reply: older('-TYPERR not integer\r\n', '-ERR unprocessable\r\n'), stored: NOT_FOUND_K },
    ],
  ],
  [
    ', with garbage',
    [{ request: setK(',abc\r\n'), reply: older('-ERR unexpected\r\n', '-TYPERR invalid type\r\n'), stored: NOT_FOUND_K }],
  ],
  [
    '#x / #true',
    [
      { request: setK('#x\r\n'), reply: older('-TYPERR not boolean\r\n', '-TYPERR invalid type\r\n'), stored: NOT_FOUND_K },
      { request: setK('#true\r\n'), reply: older('-ERR bad request\r\n', '-ERR unprocessable\r\n'), stored: NOT_FOUND_K },
    ],
  ],
  [
    '*-1 as a value',
    [
      {
        request: setK('*-1\r\n'),
        reply: { legacy: '-ERR unexpected\r\n', 'etx-request': '-ERR invalid length\r\n', etx: '-INVAL invalid length\r\n\x03' },
        stored: NOT_FOUND_K,
      },
    ],
  ],
  [
    '*x as a value',
    [
      {
        request: setK('*x\r\n'),
        reply: { legacy: '-ERR unexpected\r\n', 'etx-request': '-ERR invalid length\r\n', etx: '-INVAL invalid length\r\n\x03' },
        stored: NOT_FOUND_K,
      },
    ],
  ],
  [
    'map with an integer key',
    [{ request: setK('%1\r\n:1\r\n$1\r\nv\r\n'), reply: older('-ERR unexpected\r\n', '-ERR key must be a string\r\n'), stored: NOT_FOUND_K }],
  ],
  [
    'non-string key in GET / SET / MGET / MSET',
    [
      { request: arr(bulk('GET'), ':1\r\n'), reply: older('-TYPERR key not string\r\n', '-ERR unexpected\r\n'), stored: NOT_FOUND_K },
      { request: arr(bulk('SET'), ':1\r\n', bulk('v')), reply: older('-TYPERR key not string\r\n', '-ERR unexpected\r\n'), stored: NOT_FOUND_K },
      { request: arr(bulk('MGET'), bulk('k'), '#t\r\n'), reply: older('-TYPERR key not string\r\n', '-ERR unexpected\r\n'), stored: NOT_FOUND_K },
      { request: arr(bulk('MSET'), ',1.5\r\n', bulk('v')), reply: older('-TYPERR key not string\r\n', '-ERR unexpected\r\n'), stored: NOT_FOUND_K },
    ],
  ],
  [
    'big number (123…',
    [{ request: setK('(12345678901234567890123\r\n'), reply: older('-ERR bad request\r\n', '-ERR unprocessable\r\n'), stored: NOT_FOUND_K }],
  ],
  [
    'array that declares more elements than sent',
    [
      { request: '*3\r\n$3\r\nSET\r\n$1\r\nk\r\n', reply: older('-ERR bad request\r\n', '-ERR unexpected\r\n'), stored: NOT_FOUND_K },
      { request: setK('*3\r\n:1\r\n:2\r\n'), reply: older('-ERR bad request\r\n', '-ERR unexpected\r\n'), stored: NOT_FOUND_K },
    ],
  ],
  [
    'huge array length (*99999999999): current -ERR maximum payload size exceeded (older: not in the table, their allocation failure answers -ERR unexpected)',
    [{ request: setK('*99999999999\r\n'), reply: older('-ERR unexpected\r\n', '-ERR maximum payload size exceeded\r\n'), stored: NOT_FOUND_K }],
  ],
  [
    'a stored simple string, read back (as a bulk string by older, as a simple string by current)',
    [{ request: setK('+hello\r\n'), reply: OK, stored: older('$5\r\nhello\r\n', '+hello\r\n') }],
  ],
];

describe.each(DIALECTS)("odd requests, faithful '%s' server", (dialect) => {
  it.each(TABLE)('%s', async (_row, rows) => {
    const { server, c } = await open(dialect);
    for (const row of rows) {
      expect(await c.exchange(row.request)).toBe(row.reply[dialect]);
      expect(await c.exchange(cmd('GET', 'k'))).toBe(row.stored[dialect]);
      expect(await c.exchange(cmd('FLUSH'))).toBe(OK[dialect]);
    }
    // The connection goes on after every odd request; nothing crashed, nothing was dropped.
    expect(await c.exchange(cmd('PING'))).toBe(older('+PONG\r\n', '+PONG\r\n')[dialect]);
    expect(server.stats.crashes).toBe(0);
    expect(server.stats.pipeliningViolations).toBe(0);
  });

  it('SAVE on an empty database', async () => {
    const { c } = await open(dialect);
    const reply = older('-ERR there is no data to save\r\n', '-NOSAVE error while saving data\r\n');
    expect(await c.exchange(cmd('SAVE'))).toBe(reply[dialect]);
    expect(await c.exchange(cmd('SET', 'k', 'v'))).toBe(OK[dialect]);
    expect(await c.exchange(cmd('SAVE'))).toBe(OK[dialect]);
  });

  it('command name as a simple string (*1\\r\\n+PING\\r\\n): +PONG from older, the current process panics', async () => {
    const { server, c } = await open(dialect);
    const other = await RawClient.connect(server);
    cleanup.push(async () => other.destroy());
    expect(await other.exchange(cmd('PING'))).toBe(older('+PONG\r\n', '+PONG\r\n')[dialect]);
    if (dialect !== 'etx') {
      expect(await c.exchange('*1\r\n+PING\r\n')).toBe('+PONG\r\n');
      expect(await c.exchange(arr('+SET\r\n', '+k\r\n', bulk('v')))).toBe('+OK\r\n');
      expect(await c.exchange(cmd('GET', 'k'))).toBe('$1\r\nv\r\n');
      expect(server.stats.crashes).toBe(0);
      return;
    }
    c.send('*1\r\n+PING\r\n');
    // The process dies: no reply, and every connection goes, the other client's too.
    await Promise.all([c.closed, other.closed]);
    expect(c.pending.length).toBe(0);
    expect(server.stats.crashes).toBe(1);
    expect(server.crashLog.map((crash) => crash.reason)).toEqual(['simple-string-command']);
    expect(server.crashLog[0]?.bytes.toString('latin1')).toBe('*1\r\n+PING\r\n');
    // The listener is still there, as after a restart.
    const again = await RawClient.connect(server);
    cleanup.push(async () => again.destroy());
    expect(await again.exchange(cmd('PING'))).toBe('+PONG\r\n\x03');
  });
});
