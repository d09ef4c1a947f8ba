/**
 * The faithful current-generation ('etx') server dies as the real one does
 * (protocol reference, "Framing", generation 3): it reads 4096 bytes at a
 * time, answers every complete request of its buffer, and dies when that
 * pass leaves an incomplete request after complete ones, or when a command
 * name is not a bulk string. A crash drops every connection and is counted;
 * the listener stays. With `faithful: false` nothing of this happens.
 *
 * Writes are single `write()` calls on loopback, so each arrives as one
 * socket chunk; where pieces must arrive in separate reads, the test waits
 * for the server to have read the first (`stats.bytesReceived`).
 */
import { describe, expect, it } from 'vitest';
import type { DialectName } from '../../src/protocol/dialect.js';
import { startServer, type StartServerOptions, type ZCachedServer } from '../../src/testing/server.js';
import { deferredCleanup, until } from '../support.js';
import { cmd, RawClient } from './raw-client.js';

const cleanup = deferredCleanup();

async function serve(options: StartServerOptions = {}): Promise<ZCachedServer> {
  const server = await startServer(options);
  cleanup.push(() => server.close());
  return server;
}

async function connect(server: ZCachedServer): Promise<RawClient> {
  const c = await RawClient.connect(server);
  cleanup.push(async () => c.destroy());
  return c;
}

const ETX = '\x03';

/** `SET <key> <value>` + 0x03, the value padded so that the request is exactly `size` bytes. */
function sizedSet(key: string, size: number): string {
  const bare = cmd('SET', key, '') + ETX;
  let n = size - bare.length;
  while ((cmd('SET', key, 'x'.repeat(n)) + ETX).length > size) n--;
  const request = cmd('SET', key, 'x'.repeat(n)) + ETX;
  if (request.length !== size) throw new Error(`cannot size ${key} to ${size}`);
  return request;
}

describe("the faithful 'etx' server dies of a split request", () => {
  it('two complete requests and a partial one in one read: crash counted, every connection dropped, no reply', async () => {
    const server = await serve();
    const a = await connect(server);
    const b = await connect(server);
    expect(await b.exchange(cmd('PING'))).toBe('+PONG\r\n\x03'); // sent before the crash: stays sent
    const partial = cmd('SET', 'c', '3').slice(0, 10);
    a.write(cmd('SET', 'a', '1') + ETX + cmd('SET', 'b', '2') + ETX + partial);
    await Promise.all([a.closed, b.closed]);
    expect(a.pending.toString()).toBe(''); // the replies of the fatal pass never went out
    expect(b.pending.toString()).toBe('');
    expect(server.stats.crashes).toBe(1);
    expect(server.stats.openConnections).toBe(0);
    const [crash] = server.crashLog;
    expect(crash?.reason).toBe('split-request');
    expect(crash?.bytes.toString()).toBe(partial);
    expect(crash?.connectionsDropped).toBe(2);
    expect(crash?.at).toBeGreaterThan(Date.now() - 60_000);
    // Still listening, as after a restart; the requests of the fatal pass did run before it died.
    const c = await connect(server);
    expect(await c.exchange(cmd('MGET', 'a', 'b', 'c'))).toBe('%3\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\nc\r\n_\r\n\x03');
    expect(server.stats.crashes).toBe(1);
  });

  it('a partial request alone at the start of the buffer waits for its rest, and is answered', async () => {
    const server = await serve();
    const c = await connect(server);
    const request = cmd('SET', 'k', 'v'.repeat(50)) + ETX;
    c.write(request.slice(0, 20));
    await until(() => server.stats.bytesReceived === 20);
    c.write(request.slice(20, 40));
    await until(() => server.stats.bytesReceived === 40);
    c.write(request.slice(40));
    expect((await c.rawReply()).toString()).toBe('+OK\r\n\x03');
    expect(await c.exchange(cmd('GET', 'k'))).toBe(`$50\r\n${'v'.repeat(50)}\r\n\x03`);
    expect(server.stats.crashes).toBe(0);
  });

  it('a read that ends exactly on request boundaries does not crash, at 4096 bytes and across two reads', async () => {
    const server = await serve();
    const c = await connect(server);
    // 64 requests of 64 bytes: one read of exactly 4096 bytes; then 128 more: two reads cut between requests.
    for (const count of [64, 128]) {
      const requests = Array.from({ length: count }, (_, i) => sizedSet(`k${i}`, 64));
      const bytes = requests.join('');
      expect(bytes.length).toBe(count * 64);
      c.write(bytes);
      for (let i = 0; i < count; i++) expect(await c.reply()).toBe('+OK');
    }
    expect(server.stats.crashes).toBe(0);
    expect(server.stats.requests).toBe(192);
  });

  it('a request of more than 4096 bytes, alone, does not crash: it waits for its 0x03 across reads', async () => {
    const server = await serve();
    const c = await connect(server);
    const big = 'b'.repeat(10_000);
    c.write(cmd('SET', 'big', big) + ETX);
    expect(await c.reply()).toBe('+OK');
    expect(await c.command('GET', 'big')).toBe(`$10000\r\n${big}`);
    expect(server.stats.crashes).toBe(0);
  });

  it('one 6000-byte write of small requests: the 4096-byte cut falls inside a request after complete ones, a crash', async () => {
    const server = await serve();
    const c = await connect(server);
    const requests = Array.from({ length: 60 }, (_, i) => sizedSet(`key${String(i).padStart(2, '0')}`, 100));
    const bytes = requests.join('');
    expect(bytes.length).toBe(6000);
    c.write(bytes);
    await c.closed;
    expect(c.pending.length).toBe(0);
    expect(server.stats.crashes).toBe(1);
    const [crash] = server.crashLog;
    expect(crash?.reason).toBe('split-request');
    // The first read took 4096 bytes: 40 whole requests, then 96 bytes of the 41st.
    expect(crash?.bytes.toString()).toBe((requests[40] as string).slice(0, 96));
    expect(server.store.has('key39')).toBe(true);
    expect(server.store.has('key40')).toBe(false);
    expect(server.stats.requests).toBe(40);
  });

  it('a request split by the client across writes, after a complete one in the same read, crashes', async () => {
    const server = await serve();
    const c = await connect(server);
    const second = cmd('GET', 'k') + ETX;
    c.write(cmd('SET', 'k', 'v') + ETX + second.slice(0, 5));
    await c.closed;
    expect(server.crashLog.map((crash) => crash.reason)).toEqual(['split-request']);
  });

  it('a half-open (not answering) server reads without running anything, so it does not die; it answers again afterwards', async () => {
    const server = await serve();
    const c = await connect(server);
    server.stopAnswering();
    const bytes = Array.from({ length: 60 }, (_, i) => sizedSet(`k${i}`, 100)).join('');
    c.write(bytes);
    await until(() => server.stats.bytesReceived === bytes.length);
    expect(server.stats.crashes).toBe(0);
    expect(c.socket.destroyed).toBe(false);
    server.resumeAnswering();
    expect(await c.exchange(cmd('DBSIZE'))).toBe(':0\r\n\x03');
  });
});

describe("the faithful 'etx' server dies of a malformed command name", () => {
  it.each([
    ['*1\\r\\n+PING\\r\\n', '*1\r\n+PING\r\n', 'simple-string-command'],
    ['*3\\r\\n+SET\\r\\n$1\\r\\nk\\r\\n$1\\r\\nv\\r\\n', '*3\r\n+SET\r\n$1\r\nk\r\n$1\r\nv\r\n', 'simple-string-command'],
    ['*0\\r\\n (empty request array)', '*0\r\n', 'malformed-command'],
    ['*1\\r\\n:1\\r\\n', '*1\r\n:1\r\n', 'malformed-command'],
  ] as const)('%s', async (_name, request, reason) => {
    const server = await serve();
    const a = await connect(server);
    const b = await connect(server);
    expect(await a.exchange(cmd('SET', 'before', '1'))).toBe('+OK\r\n\x03');
    expect(await b.exchange(cmd('PING'))).toBe('+PONG\r\n\x03');
    a.write(cmd('PING') + ETX + request + ETX + cmd('PING') + ETX);
    await Promise.all([a.closed, b.closed]);
    expect(a.pending.length).toBe(0); // not even the PING before it in the same read
    expect(server.stats.crashes).toBe(1);
    expect(server.crashLog[0]?.reason).toBe(reason);
    expect(server.crashLog[0]?.bytes.toString()).toBe(request);
    const c = await connect(server);
    expect(await c.exchange(cmd('GET', 'before'))).toBe('$1\r\n1\r\n\x03');
  });

  it('a request that is not an array is answered, not fatal', async () => {
    const server = await serve();
    const c = await connect(server);
    expect(await c.exchange('$4\r\nPING\r\n')).toBe('-ERR unknown command\r\n\x03');
    expect(await c.exchange(':1\r\n')).toBe('-ERR unknown command\r\n\x03');
    expect(await c.exchange('')).toBe('-ERR unexpected\r\n\x03'); // a stray 0x03: an empty request
    expect(server.stats.crashes).toBe(0);
  });
});

describe('what does not crash', () => {
  it.each(['legacy', 'etx-request'] as const)("the '%s' generation never crashes on a 6000-byte write of requests", async (dialect: DialectName) => {
    const server = await serve({ dialect });
    const c = await connect(server);
    const end = dialect === 'legacy' ? '' : ETX;
    const bytes = Array.from({ length: 60 }, (_, i) => cmd('SET', `k${i}`, 'x'.repeat(70)) + end).join('');
    expect(bytes.length).toBeGreaterThan(4096);
    c.write(bytes);
    // The first request of the first read is answered, the rest of that read dropped; the second read
    // starts inside a request and gets an error.
    expect(await c.reply()).toBe('+OK');
    expect(await c.reply()).toBe('-ERR bad request');
    await until(() => server.stats.bytesReceived === bytes.length);
    expect(server.stats.crashes).toBe(0);
    expect(server.stats.pipeliningViolations).toBe(dialect === 'legacy' ? 1 : 2);
    expect(await c.command('DBSIZE')).toBe(':1');
  });

  describe('with faithful: false', () => {
    it('a partial request after complete ones in a read is kept and completed', async () => {
      const server = await serve({ faithful: false });
      expect(server.faithful).toBe(false);
      const c = await connect(server);
      const third = cmd('SET', 'c', '3') + ETX;
      c.write(cmd('SET', 'a', '1') + ETX + cmd('SET', 'b', '2') + ETX + third.slice(0, 10));
      expect(await c.reply()).toBe('+OK');
      expect(await c.reply()).toBe('+OK');
      c.write(third.slice(10));
      expect(await c.reply()).toBe('+OK');
      expect(server.stats.crashes).toBe(0);
    });

    it('a 6000-byte write of small requests is answered in full', async () => {
      const server = await serve({ faithful: false });
      const c = await connect(server);
      c.write(Array.from({ length: 60 }, (_, i) => sizedSet(`key${i}`, 100)).join(''));
      for (let i = 0; i < 60; i++) expect(await c.reply()).toBe('+OK');
      expect(server.stats.crashes).toBe(0);
      expect(server.store.size).toBe(60);
    });

    it('non-bulk command names get -ERR unknown command', async () => {
      const server = await serve({ faithful: false });
      const c = await connect(server);
      expect(await c.exchange('*1\r\n+PING\r\n')).toBe('-ERR unknown command\r\n\x03');
      expect(await c.exchange('*0\r\n')).toBe('-ERR unknown command\r\n\x03');
      expect(await c.exchange('*1\r\n:1\r\n')).toBe('-ERR unknown command\r\n\x03');
      expect(server.stats.crashes).toBe(0);
      expect(server.crashLog).toEqual([]);
    });
  });

  it('validates the faithful option', async () => {
    await expect(startServer({ faithful: 'yes' as unknown as boolean })).rejects.toThrow(TypeError);
    const server = await serve();
    expect(server.faithful).toBe(true);
    expect(server.stats.crashes).toBe(0);
  });
});
