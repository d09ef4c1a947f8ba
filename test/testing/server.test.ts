/**
 * The embedded server over real TCP, driven by a tiny raw client that writes
 * hand-built request bytes and reads raw reply bytes.
 */
import * as tls from 'node:tls';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { DialectName } from '../../src/protocol/dialect.js';
import { startServer, ZCachedStore, type ZCachedServer } from '../../src/testing/server.js';
import { sleep, until } from '../support.js';
import { selfSignedCertificate } from '../tls-credentials.js';
import { arr, bulk, cmd, RawClient } from './raw-client.js';

// ---------------------------------------------------------------- fixtures

let servers: ZCachedServer[] = [];
let clients: RawClient[] = [];

async function serve(options: Parameters<typeof startServer>[0] = {}): Promise<ZCachedServer> {
  const server = await startServer(options);
  servers.push(server);
  return server;
}

async function connect(server: ZCachedServer): Promise<RawClient> {
  const client = await RawClient.connect(server);
  clients.push(client);
  return client;
}

beforeEach(() => {
  servers = [];
  clients = [];
});

afterEach(async () => {
  for (const client of clients) client.destroy();
  await Promise.all(servers.map((server) => server.close()));
});

const DIALECTS: readonly DialectName[] = ['legacy', 'etx-request', 'etx'];

// ---------------------------------------------------------------- commands, in every dialect

describe.each(DIALECTS)("commands in the '%s' dialect", (dialect) => {
  const newer = dialect !== 'legacy';
  /** The two older generations (2024, 2025) against the current one. */
  const older = dialect !== 'etx';
  let server: ZCachedServer;
  let c: RawClient;

  beforeEach(async () => {
    server = await serve({ dialect });
    c = await connect(server);
  });

  it('PING ignores arguments and case', async () => {
    expect(await c.command('PING')).toBe('+PONG');
    expect(await c.command('ping', 'a', 'b')).toBe('+PONG');
    expect(await c.command('PiNg')).toBe('+PONG');
  });

  it('SET, GET, DELETE', async () => {
    expect(await c.command('GET', 'nope')).toBe("-ERR 'nope' not found");
    expect(await c.command('SET', 'k', 'v')).toBe('+OK');
    expect(await c.command('get', 'k')).toBe('$1\r\nv');
    expect(await c.command('SET', 'k', 'w')).toBe('+OK');
    expect(await c.command('GET', 'k')).toBe('$1\r\nw');
    expect(await c.command('DELETE', 'k')).toBe('+OK');
    expect(await c.command('DELETE', 'k')).toBe("-ERR 'k' not found");
    expect(await c.command('GET', 'k')).toBe("-ERR 'k' not found");
    expect(await c.command('GET', 'żółw')).toBe("-ERR 'żółw' not found");
  });

  it('SET with a non-string key', async () => {
    const keyError = older ? '-TYPERR key not string' : '-ERR unexpected';
    expect(await c.call(arr(bulk('SET'), ':1\r\n', bulk('v')))).toBe(keyError);
    expect(await c.call(arr(bulk('GET'), '#t\r\n'))).toBe(keyError);
    // The older parsers read a simple string as a plain string: it is a key like any other.
    expect(await c.call(arr(bulk('SET'), '+k\r\n', bulk('v')))).toBe(older ? '+OK' : '-ERR unexpected');
    expect(await c.command('GET', 'k')).toBe(older ? '$1\r\nv' : "-ERR 'k' not found");
  });

  it('FLUSH, DBSIZE, KEYS', async () => {
    expect(await c.command('DBSIZE')).toBe(':0');
    expect(await c.command('KEYS')).toBe('*0');
    await c.command('SET', 'a', '1');
    await c.command('SET', 'b', '2');
    expect(await c.command('DBSIZE')).toBe(':2');
    expect(await c.command('KEYS')).toBe('*2\r\n$1\r\na\r\n$1\r\nb');
    expect(await c.command('FLUSH')).toBe('+OK');
    expect(await c.command('DBSIZE')).toBe(':0');
  });

  it('SAVE and LASTSAVE', async () => {
    const started = server.store.lastSave;
    expect(Math.abs(started - Date.now() / 1000)).toBeLessThan(5);
    expect(await c.command('LASTSAVE')).toBe(`:${started}`);
    expect(await c.command('SAVE')).toBe(older ? '-ERR there is no data to save' : '-NOSAVE error while saving data');
    await c.command('SET', 'a', '1');
    expect(await c.command('SAVE')).toBe('+OK');
    const saved = Number((await c.command('LASTSAVE')).slice(1));
    expect(saved).toBeGreaterThanOrEqual(started);
    expect(Math.abs(saved - Date.now() / 1000)).toBeLessThan(5);
  });

  it('MGET and MSET', async () => {
    expect(await c.command('MSET', 'a', '1', 'b', '2')).toBe('+OK');
    expect(await c.command('MGET', 'a', 'missing', 'a', 'b')).toBe(
      '%3\r\n$1\r\na\r\n$1\r\n1\r\n$7\r\nmissing\r\n_\r\n$1\r\nb\r\n$1\r\n2',
    );
    expect(await c.command('MGET')).toBe('%0');
    expect(await c.command('MSET')).toBe('-ERR unexpected');
    expect(await c.command('MSET', 'a', '1', 'b')).toBe('-ERR unexpected');
    expect(await c.call(arr(bulk('MSET'), bulk('x'), ':5\r\n', bulk('y'), ',0.5\r\n'))).toBe('+OK');
    expect(await c.command('MGET', 'x', 'y')).toBe('%2\r\n$1\r\nx\r\n:5\r\n$1\r\ny\r\n,0.5');
  });

  it('unknown commands, non-array requests, wrong arity', async () => {
    expect(await c.command('FOO')).toBe("-ERR unknown command 'FOO'");
    expect(await c.command('fOo', 'x')).toBe("-ERR unknown command 'fOo'");
    expect(await c.call(bulk('PING'))).toBe('-ERR unknown command');
    expect(await c.call(':1\r\n')).toBe('-ERR unknown command');
    // An empty request array: the faithful current server dies of it (server-crashes.test.ts).
    if (older) expect(await c.call('*0\r\n')).toBe('-ERR unknown command');
    expect(await c.command('GET')).toBe('-ERR unexpected');
    expect(await c.command('SET', 'k')).toBe('-ERR unexpected');
    expect(await c.command('DELETE')).toBe('-ERR unexpected');
    // The connection is still fine after errors.
    expect(await c.command('PING')).toBe('+PONG');
  });

  it('value errors: integer range, booleans, floats', async () => {
    const set = (value: string) => c.call(arr(bulk('SET'), bulk('k'), value));
    const notInteger = older ? '-TYPERR not integer' : '-TYPERR invalid type';
    expect(await set(':9223372036854775807\r\n')).toBe('+OK');
    expect(await c.command('GET', 'k')).toBe(':9223372036854775807');
    expect(await set(':-9223372036854775808\r\n')).toBe('+OK');
    expect(await set(':9223372036854775808\r\n')).toBe(notInteger);
    expect(await set(':-9223372036854775809\r\n')).toBe(notInteger);
    expect(await set(':12x\r\n')).toBe(notInteger);
    expect(await set('#x\r\n')).toBe(older ? '-TYPERR not boolean' : '-TYPERR invalid type');
    expect(await set(',abc\r\n')).toBe(older ? '-ERR unexpected' : '-TYPERR invalid type');
    expect(await c.command('GET', 'k')).toBe(':-9223372036854775808');
    expect(await c.command('PING')).toBe('+PONG');
  });

  // [name, value sent, GET reply on the older generations, GET reply on the current one (undefined: SET refused)]
  it.each([
    ['simple string', '+hello\r\n', '$5\r\nhello', '+hello'],
    ['bulk', bulk('żółw'), '$7\r\nżółw', '$7\r\nżółw'],
    ['empty bulk', '$0\r\n\r\n', '$0\r\n', undefined],
    ['integer with +', ':+7\r\n', ':7', ':7'],
    ['negative integer', ':-5\r\n', ':-5', ':-5'],
    ['float 1.0', ',1.0\r\n', ',1', ',1'],
    ['float 1.5e10', ',1.5e10\r\n', ',15000000000', ',15000000000'],
    ['float 1e-7', ',1e-7\r\n', ',0.0000001', ',0.0000001'],
    ['float 1e300', ',1e300\r\n', ',1' + '0'.repeat(300), ',1' + '0'.repeat(300)],
    ['float -2.5', ',-2.5\r\n', ',-2.5', ',-2.5'],
    ['float inf', ',inf\r\n', ',inf', ',inf'],
    ['float -inf', ',-inf\r\n', ',-inf', ',-inf'],
    ['float nan', ',nan\r\n', ',nan', ',nan'],
    ['boolean T', '#T\r\n', '#t', '#t'],
    ['boolean f', '#f\r\n', '#f', '#f'],
    ['null', '_\r\n', '_', '_'],
    ['empty array', '*0\r\n', '*0', '*0'],
    [
      'nested array',
      arr(':1\r\n', '+a\r\n', arr('#t\r\n', '_\r\n'), ',2.5\r\n'),
      '*4\r\n:1\r\n$1\r\na\r\n*2\r\n#t\r\n_\r\n,2.5',
      '*4\r\n:1\r\n+a\r\n*2\r\n#t\r\n_\r\n,2.5',
    ],
    [
      'map',
      `%2\r\n+a\r\n:1\r\n${bulk('b')}${arr(bulk('x'))}`,
      '%2\r\n$1\r\na\r\n:1\r\n$1\r\nb\r\n*1\r\n$1\r\nx',
      '%2\r\n$1\r\na\r\n:1\r\n$1\r\nb\r\n*1\r\n$1\r\nx',
    ],
    ['map in array', arr(`%1\r\n${bulk('k')}%0\r\n`), '*1\r\n%1\r\n$1\r\nk\r\n%0', undefined],
    ['non-empty map in array', arr(`%1\r\n${bulk('k')}:1\r\n`), '*1\r\n%1\r\n$1\r\nk\r\n:1', '*1\r\n%1\r\n$1\r\nk\r\n:1'],
  ])('round-trips %s', async (_name, value, olderReply, currentReply) => {
    const expected = older ? olderReply : currentReply;
    expect(await c.call(arr(bulk('SET'), bulk('v'), value))).toBe(expected === undefined ? '-ERR unprocessable' : '+OK');
    expect(await c.command('GET', 'v')).toBe(expected ?? "-ERR 'v' not found");
  });

  it('rejects non-string map keys', async () => {
    expect(await c.call(arr(bulk('SET'), bulk('m'), '%1\r\n:1\r\n:2\r\n'))).toBe(
      older ? '-ERR unexpected' : '-ERR key must be a string',
    );
    expect(await c.command('DBSIZE')).toBe(':0');
  });

  it(newer ? 'stores sets' : 'answers bad request to sets', async () => {
    const reply = await c.call(arr(bulk('SET'), bulk('s'), '~3\r\n:1\r\n+a\r\n:1\r\n'));
    if (newer) {
      expect(reply).toBe('+OK');
      expect(await c.command('GET', 's')).toBe(older ? '~2\r\n:1\r\n$1\r\na' : '~2\r\n:1\r\n+a');
    } else {
      expect(reply).toBe('-ERR bad request');
      expect(await c.command('GET', 's')).toBe("-ERR 's' not found");
    }
  });

  it(newer ? 'has ECHO, SIZEOF, RENAME, COPY' : 'has no ECHO, SIZEOF, RENAME, COPY', async () => {
    if (!newer) {
      expect(await c.command('ECHO', 'hi')).toBe("-ERR unknown command 'ECHO'");
      expect(await c.command('sizeof', 'k')).toBe("-ERR unknown command 'sizeof'");
      expect(await c.command('RENAME', 'a', 'b')).toBe("-ERR unknown command 'RENAME'");
      expect(await c.command('COPY', 'a', 'b')).toBe("-ERR unknown command 'COPY'");
      return;
    }
    expect(await c.command('ECHO', 'hello')).toBe('$5\r\nhello');
    // The 2025 parser reads a simple string as a plain string; the current one keeps it simple.
    expect(await c.call(arr(bulk('ECHO'), '+hi\r\n'))).toBe(older ? '$2\r\nhi' : '+hi');
    expect(await c.command('ECHO')).toBe('-ERR unexpected');

    const set = (key: string, value: string) => c.call(arr(bulk('SET'), bulk(key), value));
    await set('s', bulk('żółw'));
    await set('i', ':1\r\n');
    await set('f', ',1.5\r\n');
    await set('b', '#t\r\n');
    await set('n', '_\r\n');
    await set('a', arr(':1\r\n', ':2\r\n', ':3\r\n'));
    await set('m', `%2\r\n${bulk('x')}:1\r\n${bulk('y')}:2\r\n`);
    await set('u', '~2\r\n:1\r\n:2\r\n');
    const sizes: Record<string, number> = { s: 7, i: 8, f: 8, b: 1, n: 0, a: 3, m: 2, u: 2 };
    for (const [key, size] of Object.entries(sizes)) expect(await c.command('SIZEOF', key)).toBe(`:${size}`);
    expect(await c.command('SIZEOF', 'missing')).toBe("-ERR 'missing' not found");
    expect(await c.command('SIZEOF')).toBe('-ERR unexpected');

    expect(await c.command('RENAME', 's', 't')).toBe('+OK');
    expect(await c.command('GET', 't')).toBe('$7\r\nżółw');
    expect(await c.command('GET', 's')).toBe("-ERR 's' not found");
    expect(await c.command('RENAME', 'missing', 'x')).toBe("-ERR 'missing' not found");
    expect(await c.command('RENAME', 'i', 't')).toBe('+OK'); // overwrites
    expect(await c.command('GET', 't')).toBe(':1');
    expect(await c.command('RENAME', 'x')).toBe('-ERR unexpected');

    expect(await c.command('COPY', 'a', 'c')).toBe('$2\r\nOK');
    expect(await c.command('GET', 'c')).toBe('*3\r\n:1\r\n:2\r\n:3');
    expect(await c.command('COPY', 'a', 'c')).toBe('-BUSYKEY key already exists');
    expect(await c.command('COPY', 'b', 'c', 'REPLACE')).toBe('$2\r\nOK');
    expect(await c.command('GET', 'c')).toBe('#t');
    expect(await c.command('COPY', 'missing', 'z')).toBe("-ERR 'missing' not found");
    expect(await c.command('COPY', 'a')).toBe('-ERR unexpected');
  });

  it('answers garbage with an error and keeps going', async () => {
    expect(await c.call('hello\r\n')).toBe(older ? '-ERR bad request' : '-ERR unprocessable');
    const badLength = { legacy: '-ERR unexpected', 'etx-request': '-ERR invalid length', etx: '-INVAL invalid length' }[dialect];
    expect(await c.call('*x\r\n')).toBe(badLength);
    expect(await c.command('PING')).toBe('+PONG');
  });

  if (older) {
    it('refuses bulk strings holding a line feed', async () => {
      expect(await c.command('SET', 'k', 'a\nb')).toBe('-ERR bad request');
      expect(await c.command('GET', 'k')).toBe("-ERR 'k' not found");
      expect(await c.command('SET', 'k', 'a\rb')).toBe('+OK');
    });
  }
});

// ---------------------------------------------------------------- framing

describe('framing', () => {
  it("'etx', faithful: false: answers many requests of one write in order, each reply followed by 0x03", async () => {
    // 400 requests (~10 KB) in one write: the faithful server would die of the 4096-byte cut (server-crashes.test.ts).
    const server = await serve({ dialect: 'etx', faithful: false });
    const c = await connect(server);
    const requests: Buffer[] = [];
    for (let i = 0; i < 200; i++) requests.push(Buffer.from(cmd('SET', `k${i}`, `v${i}`) + '\x03' + cmd('GET', `k${i}`) + '\x03'));
    c.write(Buffer.concat(requests));
    for (let i = 0; i < 200; i++) {
      expect(await c.reply()).toBe('+OK');
      expect(await c.reply()).toBe(`$${`v${i}`.length}\r\nv${i}`);
    }
    expect(c.pending.length).toBe(0);
    expect(server.stats.requests).toBe(400);
    expect(server.stats.pipeliningViolations).toBe(0);
    expect(server.stats.crashes).toBe(0);
    // Exact bytes: the reply, then 0x03.
    expect((await c.exchange(cmd('PING'))).toString()).toBe('+PONG\r\n\x03');
  });

  it("'etx': answers every request of one read in order when the read ends on a request boundary", async () => {
    const server = await serve({ dialect: 'etx' });
    const c = await connect(server);
    const requests: string[] = [];
    for (let i = 0; i < 40; i++) requests.push(cmd('SET', `k${i}`, `v${i}`) + '\x03' + cmd('GET', `k${i}`) + '\x03');
    const bytes = requests.join('');
    expect(bytes.length).toBeLessThan(4096);
    c.write(bytes);
    for (let i = 0; i < 40; i++) {
      expect(await c.reply()).toBe('+OK');
      expect(await c.reply()).toBe(`$${`v${i}`.length}\r\nv${i}`);
    }
    expect(server.stats.requests).toBe(80);
    expect(server.stats.crashes).toBe(0);
  });

  it("'etx', faithful: false: reassembles requests split across writes at any byte, ignores a stray 0x03", async () => {
    // Faithfully, a read ending inside the request after a complete one kills the server (server-crashes.test.ts).
    const server = await serve({ dialect: 'etx', faithful: false });
    const c = await connect(server);
    const bytes = Buffer.from(cmd('SET', 'a', 'x'.repeat(100)) + '\x03' + cmd('GET', 'a') + '\x03\x03' + cmd('PING') + '\x03');
    for (let i = 0; i < bytes.length; i += 7) {
      c.write(bytes.subarray(i, i + 7));
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(await c.reply()).toBe('+OK');
    expect(await c.reply()).toBe(`$100\r\n${'x'.repeat(100)}`);
    expect(await c.reply()).toBe('+PONG');
  });

  it("'etx-request': replies carry no terminator; requests may be split and large", async () => {
    const server = await serve({ dialect: 'etx-request' });
    const c = await connect(server);
    // Exact bytes, twice: a 0x03 after the first reply would open the second one.
    expect(await c.exchange(cmd('PING'))).toBe('+PONG\r\n');
    expect(await c.exchange(cmd('PING'))).toBe('+PONG\r\n');
    expect(c.pending.length).toBe(0);

    const big = 'z'.repeat(1024 * 1024);
    const request = Buffer.from(cmd('SET', 'big', big) + '\x03');
    const received = server.stats.bytesReceived;
    c.write(request.subarray(0, 1000));
    await until(() => server.stats.bytesReceived === received + 1000); // read on its own
    c.write(request.subarray(1000));
    expect(await c.reply()).toBe('+OK');
    expect(await c.command('GET', 'big')).toBe(`$${big.length}\r\n${big}`);
  });

  it("'etx-request': waits for the 0x03", async () => {
    const server = await serve({ dialect: 'etx-request' });
    const c = await connect(server);
    c.write(cmd('PING'));
    await until(() => server.stats.bytesReceived === cmd('PING').length); // read, and not answered:
    await c.silence(80);
    c.write('\x03');
    expect(await c.reply()).toBe('+PONG');
  });

  it.each(['etx-request', 'legacy'] as const)("'%s': answers only the first request of a read and counts a violation", async (dialect) => {
    const server = await serve({ dialect });
    const c = await connect(server);
    const end = dialect === 'legacy' ? '' : '\x03';
    c.write(cmd('SET', 'a', '1') + end + cmd('SET', 'b', '2') + end + cmd('PING') + end);
    expect(await c.reply()).toBe('+OK');
    await c.silence(60);
    expect(server.stats.pipeliningViolations).toBe(1);
    expect(server.stats.requests).toBe(1);
    // The connection goes on; the dropped requests never ran.
    expect(await c.command('GET', 'b')).toBe("-ERR 'b' not found");
    expect(await c.command('GET', 'a')).toBe('$1\r\n1');
    expect(server.stats.pipeliningViolations).toBe(1);
  });

  it("'legacy': no terminator; a request over 4096 bytes gets two bad-request replies and is not stored", async () => {
    const server = await serve({ dialect: 'legacy' });
    const c = await connect(server);
    // Exact bytes, twice: a terminator after the first reply would open the second one.
    expect(await c.exchange(cmd('PING'))).toBe('+PONG\r\n');
    expect(await c.exchange(cmd('PING'))).toBe('+PONG\r\n');
    expect(c.pending.length).toBe(0);

    const sized = (key: string, size: number) => {
      let n = size - cmd('SET', key, '').length;
      while (cmd('SET', key, 'x'.repeat(n)).length > size) n--;
      return cmd('SET', key, 'x'.repeat(n));
    };
    const fits = sized('k', 4096);
    expect(fits.length).toBe(4096);
    expect(await c.call(fits)).toBe('+OK');

    const tooBig = sized('big', 4097);
    expect(tooBig.length).toBe(4097);
    expect(await c.call(tooBig)).toBe('-ERR bad request');
    expect(await c.reply()).toBe('-ERR bad request');
    await c.silence(30);
    expect(await c.command('GET', 'big')).toBe("-ERR 'big' not found");

    // Much larger, arriving in several reads: still exactly two errors.
    const huge = Buffer.from(cmd('SET', 'huge', 'h'.repeat(200_000)));
    const received = server.stats.bytesReceived;
    c.write(huge.subarray(0, 3000));
    await until(() => server.stats.bytesReceived === received + 3000);
    c.write(huge.subarray(3000, 100_000));
    await until(() => server.stats.bytesReceived === received + 100_000);
    c.write(huge.subarray(100_000));
    expect(await c.reply()).toBe('-ERR bad request');
    expect(await c.reply()).toBe('-ERR bad request');
    await until(() => server.stats.bytesReceived === received + huge.length); // all read: no third error comes
    await c.silence(30);
    expect(await c.command('DBSIZE')).toBe(':1');
  });

  it("'legacy', faithful: false: reassembles a request split across reads", async () => {
    const server = await serve({ dialect: 'legacy', faithful: false });
    const c = await connect(server);
    const bytes = cmd('SET', 'k', 'v');
    c.write(bytes.slice(0, 3));
    await until(() => server.stats.bytesReceived === 3);
    c.write(bytes.slice(3, 12));
    await until(() => server.stats.bytesReceived === 12);
    c.write(bytes.slice(12));
    expect(await c.reply()).toBe('+OK');
    expect(await c.command('GET', 'k')).toBe('$1\r\nv');
  });

  it("'legacy': a read holding a line feed is one whole request, so a request split after a line feed is refused", async () => {
    // The real 2024 server parses each read that contains \n as one request (protocol reference, "Framing").
    const server = await serve({ dialect: 'legacy' });
    const c = await connect(server);
    const bytes = cmd('SET', 'k', 'v');
    c.write(bytes.slice(0, 3)); // "*3\r": no line feed yet, the server waits
    await until(() => server.stats.bytesReceived === 3);
    c.write(bytes.slice(3, 12)); // "\n$3\r\nSET\r": now "*3\r\n$3\r\nSET\r" is parsed as the whole request
    expect(await c.reply()).toBe('-ERR bad request');
    c.write(bytes.slice(12)); // "\n$1\r\nk\r\n$1\r\nv\r\n" is a request of its own: garbage
    expect(await c.reply()).toBe('-ERR bad request');
    expect(await c.command('GET', 'k')).toBe("-ERR 'k' not found");
    expect(server.stats.requests).toBe(3);
  });

  it.each(['etx', 'etx-request'] as const)("'%s': a request past the size limit gets -ERR maximum payload size exceeded", async (dialect) => {
    const server = await serve({ dialect, maxRequestBytes: 1000 });
    const c = await connect(server);
    expect(await c.command('SET', 'k', 'x'.repeat(900))).toBe('+OK');
    expect(await c.command('SET', 'k', 'x'.repeat(2000))).toBe('-ERR maximum payload size exceeded');
    // Arriving in pieces, the error comes as soon as the limit is passed; the rest is discarded.
    const request = Buffer.from(cmd('SET', 'k', 'y'.repeat(5000)) + '\x03');
    c.write(request.subarray(0, 1500));
    expect(await c.reply()).toBe('-ERR maximum payload size exceeded');
    c.write(request.subarray(1500));
    await c.silence(30);
    expect(await c.command('GET', 'k')).toBe(`$900\r\n${'x'.repeat(900)}`);
  });

  it('survives random garbage in every dialect', async () => {
    let seed = 42;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const alphabet = Buffer.from('*$:+-,#_%~\r\n\x0301234567-abcXYZ');
    for (const dialect of DIALECTS) {
      const server = await serve({ dialect });
      for (let round = 0; round < 5; round++) {
        const c = await connect(server);
        for (let i = 0; i < 40; i++) {
          const junk = Buffer.alloc(1 + Math.floor(random() * 60), 0);
          for (let j = 0; j < junk.length; j++) junk[j] = alphabet[Math.floor(random() * alphabet.length)] as number;
          c.write(junk);
        }
        c.write(Buffer.from([0xff, 0x00, 0x80]));
        await sleep(10); // the server may read some of it, or all, before the client goes: any mix will do
        c.destroy();
      }
      const c = await connect(server);
      expect(await c.command('PING')).toBe('+PONG');
    }
  });
});

// ---------------------------------------------------------------- fault hooks and lifecycle

describe('fault hooks', () => {
  it('stopAnswering keeps the socket open and silent; resumeAnswering answers again', async () => {
    const server = await serve();
    const c = await connect(server);
    server.stopAnswering();
    c.send(cmd('SET', 'k', 'v'));
    await until(() => server.stats.requests === 1); // read, and not answered:
    await c.silence(100);
    expect(c.socket.destroyed).toBe(false);
    expect(server.stats.openConnections).toBe(1);
    expect(server.stats.requests).toBe(1);
    server.resumeAnswering();
    expect(await c.command('GET', 'k')).toBe("-ERR 'k' not found"); // requests read while stopped never ran
    expect(await c.command('PING')).toBe('+PONG');
  });

  it('delayReplies delays every reply and keeps their order', async () => {
    const server = await serve();
    const c = await connect(server);
    /** A reply within 5 s of real time (the raw client's own deadline runs on the simulated clock). */
    const reply = (): Promise<string> =>
      Promise.race([c.reply(), sleep(5_000).then(() => Promise.reject(new Error(`no reply; have ${JSON.stringify(c.pending.toString())}`)))]);
    // The server's delay timer and clock are simulated (sockets are real): the delay is exact, whatever the load.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    try {
      server.delayReplies(250);
      const started = Date.now();
      c.write(cmd('SET', 'a', '1') + '\x03' + cmd('GET', 'a') + '\x03');
      await until(() => server.stats.requests === 2);
      vi.advanceTimersByTime(249);
      await c.silence(30); // nothing before 250 ms
      vi.advanceTimersByTime(1);
      expect(await reply()).toBe('+OK');
      expect(await reply()).toBe('$1\r\n1');
      expect(Date.now() - started).toBe(250);
      // No delay: the reply comes without the simulated clock moving at all.
      server.delayReplies(0);
      c.send(cmd('PING'));
      expect(await reply()).toBe('+PONG');
      expect(Date.now() - started).toBe(250);
    } finally {
      vi.useRealTimers();
    }
    expect(() => server.delayReplies(-1)).toThrow(RangeError);
  });

  it('dropConnections closes every client and keeps listening', async () => {
    const server = await serve();
    const a = await connect(server);
    const b = await connect(server);
    await server.waitForConnections(2);
    server.dropConnections();
    await Promise.all([a.closed, b.closed]);
    await until(() => server.stats.openConnections === 0);
    const c = await connect(server);
    expect(await c.command('PING')).toBe('+PONG');
    expect(server.stats.connectionsAccepted).toBe(3);
  });

  it('refuseConnections accepts then closes new connections', async () => {
    const server = await serve();
    const kept = await connect(server);
    server.refuseConnections(true);
    const refused = await connect(server);
    await refused.closed;
    expect(refused.pending.length).toBe(0);
    expect(server.stats.connectionsRefused).toBe(1);
    expect(await kept.command('PING')).toBe('+PONG'); // existing connections are untouched
    server.refuseConnections(false);
    const c = await connect(server);
    expect(await c.command('PING')).toBe('+PONG');
  });

  it('maxClients closes connections past the limit without a word', async () => {
    const server = await serve({ maxClients: 1 });
    const first = await connect(server);
    await server.waitForConnections(1);
    const second = await connect(server);
    await second.closed;
    expect(second.pending.length).toBe(0);
    expect(await first.command('PING')).toBe('+PONG');
    first.destroy();
    await first.closed;
    await until(() => server.stats.openConnections === 0); // the server saw it go: room for one again
    const third = await connect(server);
    expect(await third.command('PING')).toBe('+PONG');
  });

  it('waitForConnections waits for open or total connections, and times out', async () => {
    const server = await serve();
    const waiting = server.waitForConnections(2);
    await connect(server);
    const b = await connect(server);
    await waiting;
    b.destroy();
    await b.closed;
    await server.waitForConnections(2, { total: true });
    await expect(server.waitForConnections(5, { timeoutMs: 30 })).rejects.toThrow(/2 of 5|1 of 5/);
  });

  it('close() destroys clients; a restart on the same port can keep the store', async () => {
    const first = await serve();
    const c = await connect(first);
    expect(await c.command('SET', 'k', 'v')).toBe('+OK');
    await first.close();
    await c.closed;
    expect(first.closed).toBe(true);
    await expect(RawClient.connect(first)).rejects.toThrow(/ECONNREFUSED/);

    const again = await serve({ port: first.port, store: first.store });
    expect(again.port).toBe(first.port);
    const d = await connect(again);
    expect(await d.command('GET', 'k')).toBe('$1\r\nv');
    await again.close();

    const fresh = await serve({ port: first.port });
    const e = await connect(fresh);
    expect(await e.command('GET', 'k')).toBe("-ERR 'k' not found");
  });

  it('close() is idempotent and leaves no open handles behind', async () => {
    const count = () => {
      const info = process.getActiveResourcesInfo();
      return info.filter((name) => name === 'TCPServerWrap' || name === 'TCPSocketWrap').length;
    };
    const settle = () => new Promise((resolve) => setImmediate(resolve));
    // Sockets of earlier tests finish closing (this file opens no other TCP handle).
    await until(() => count() === 0);
    const before = count();
    // Timers are faked (only these two) so that the server's reply-delay timer can be counted exactly.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      const server = await startServer();
      const c = await RawClient.connect(server);
      server.delayReplies(1000); // a pending delayed reply must not keep a timer alive
      c.send(cmd('PING'));
      while (server.stats.requests === 0) await settle();
      expect(count()).toBeGreaterThan(before);
      expect(vi.getTimerCount()).toBe(1);
      await Promise.all([server.close(), server.close()]);
      await c.closed;
      expect(vi.getTimerCount()).toBe(0);
    } finally {
      vi.useRealTimers();
    }
    await until(() => count() === before);
  });

  it('supports await using / Symbol.asyncDispose', async () => {
    const server = await startServer();
    await server[Symbol.asyncDispose]();
    expect(server.closed).toBe(true);
  });

  it('validates its options and reports listen errors', async () => {
    await expect(startServer({ dialect: 'nope' as DialectName })).rejects.toThrow(TypeError);
    await expect(startServer({ port: 70000 })).rejects.toThrow(RangeError);
    await expect(startServer({ maxClients: -1 })).rejects.toThrow(RangeError);
    const server = await serve();
    await expect(startServer({ port: server.port })).rejects.toThrow(/EADDRINUSE/);
  });

  it('exposes its store for preloading and inspection', async () => {
    const store = new ZCachedStore();
    store.set('pre', { type: 'integer', value: 42n });
    const server = await serve({ store, dialect: 'legacy' });
    const c = await connect(server);
    expect(await c.command('GET', 'pre')).toBe(':42');
    await c.command('SET', 'ключ', 'v');
    expect(server.store.keys()).toEqual(['pre', 'ключ']);
    expect(server.store.get('ключ')).toEqual({ type: 'bulk', value: Buffer.from('v') });
  });
});

// ---------------------------------------------------------------- TLS

describe('TLS', () => {
  const credentials = selfSignedCertificate();

  it.skipIf(credentials === undefined)('serves the protocol over TLS, and close() ends TLS clients (needs the openssl CLI, which makes its certificate)', async () => {
    const server = await serve({ tls: credentials as tls.TlsOptions });
    expect(server.tls).toBe(true);
    const socket = await new Promise<tls.TLSSocket>((resolve, reject) => {
      const s = tls.connect({ host: server.host, port: server.port, rejectUnauthorized: false }, () => resolve(s));
      s.once('error', reject);
    });
    const c = new RawClient(socket, 'etx');
    clients.push(c);
    expect(await c.command('PING')).toBe('+PONG');
    expect(await c.command('SET', 'k', 'v')).toBe('+OK');
    expect(await c.command('GET', 'k')).toBe('$1\r\nv');
    await server.waitForConnections(1);
    await server.close();
    await c.closed;
    expect(server.stats.openConnections).toBe(0);
  });
});
