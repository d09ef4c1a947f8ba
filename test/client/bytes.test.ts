/**
 * Reading bytes per call: `getBuffer(key)` and `mgetBuffer(...keys)` give
 * the stored bytes as `Buffer`s (a raw `get` of bytes that are not UTF-8
 * gives a lossy string), while every other request of the same connection,
 * pipelined around them, still gets strings; `bulkAsBuffer` stays the
 * all-or-nothing option.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ZCached } from '../../src/client/client.js';
import type { DialectName } from '../../src/protocol/dialect.js';
import { startServer, type ZCachedServer } from '../../src/testing/server.js';

/** Bytes that are not UTF-8 (a lone continuation byte, an invalid lead byte), with no line feed or 0x03. */
const NOT_UTF8 = Buffer.from([0xff, 0xfe, 0x80, 0x41, 0xc3]);

describe.each(['legacy', 'etx-request', 'etx'] as DialectName[])('bytes per call (%s)', (dialect) => {
  let server: ZCachedServer;
  let client: ZCached;

  beforeEach(async () => {
    server = await startServer({ dialect });
    client = new ZCached({ port: server.port, dialect });
    await client.run();
  });
  afterEach(async () => {
    await client.close();
    await server.close();
  });

  it('getBuffer gives the stored bytes exactly; get of the same key stays a (lossy) string', async () => {
    await client.set('raw', NOT_UTF8);
    expect(await client.getBuffer('raw')).toEqual(NOT_UTF8);
    expect(typeof (await client.get('raw'))).toBe('string');
    expect(await client.getBuffer('missing')).toBeUndefined();
  });

  it('pipelined with string reads, each request gets its own form', async () => {
    await client.mset({ a: 'alpha', b: NOT_UTF8 });
    const [a1, b1, a2, b2, n] = await Promise.all([client.get('a'), client.getBuffer('b'), client.getBuffer('a'), client.get('a'), client.getBuffer('none')]);
    expect(a1).toBe('alpha');
    expect(b1).toEqual(NOT_UTF8);
    expect(a2).toEqual(Buffer.from('alpha'));
    expect(b2).toBe('alpha');
    expect(n).toBeUndefined();
    expect(await client.get('a')).toBe('alpha');
  });

  it('mgetBuffer maps each key (a string) to its bytes, null when missing; mget stays strings', async () => {
    await client.mset({ a: 'alpha', b: NOT_UTF8 });
    const values = await client.mgetBuffer('a', 'b', 'c');
    expect([...values.keys()]).toEqual(['a', 'b', 'c']);
    expect(values.get('a')).toEqual(Buffer.from('alpha'));
    expect(values.get('b')).toEqual(NOT_UTF8);
    expect(values.get('c')).toBeNull();
    expect((await client.mget('a')).get('a')).toBe('alpha');
  });

  it('numbers and other non-string values come back as they are', async () => {
    await client.set('n', 42);
    expect(await client.getBuffer('n')).toBe(42);
  });

  it('checks its arguments at the call site, as get and mget', () => {
    expect(() => client.getBuffer(5 as never)).toThrow(TypeError);
    expect(() => client.getBuffer('k', 'x' as never)).toThrow(/ZCached.getBuffer/);
    expect(() => client.mgetBuffer('a', 5 as never)).toThrow(/mgetBuffer key #2/);
  });
});

describe('bytes per call on a client with a codec', () => {
  it('getBuffer skips the codec: the stored bytes as they are', async () => {
    await using server = await startServer();
    await using client = new ZCached({ port: server.port, codec: 'json' });
    await client.run();
    await client.set('doc', { a: 1 });
    expect(await client.getBuffer('doc')).toEqual(Buffer.from('{"a":1}'));
  });
});

describe('bytes per call: requests that settle early, tracing', () => {
  it('a getBuffer aborted on the wire leaves the next replies as strings, and a later getBuffer as bytes', async () => {
    await using server = await startServer();
    await using client = new ZCached({ port: server.port });
    await client.run();
    await client.mset({ a: 'alpha', b: NOT_UTF8 });
    const controller = new AbortController();
    const aborted = client.getBuffer('b', { signal: controller.signal });
    const after = client.get('a');
    controller.abort();
    await expect(aborted).rejects.toThrow();
    expect(await after).toBe('alpha');
    expect(await Promise.all([client.getBuffer('b'), client.get('a')])).toEqual([NOT_UTF8, 'alpha']);
  });

  it('with a subscriber on the zcached:command tracing channel, getBuffer still gives bytes (and undefined when missing)', async () => {
    const { tracingChannel } = await import('node:diagnostics_channel');
    const traced: string[] = [];
    const handlers = { start: (context: unknown) => traced.push((context as { command: string }).command), end() {}, asyncStart() {}, asyncEnd() {}, error() {} };
    const channel = tracingChannel('zcached:command');
    channel.subscribe(handlers);
    try {
      await using server = await startServer();
      await using client = new ZCached({ port: server.port });
      await client.run();
      await client.set('b', NOT_UTF8);
      expect(await client.getBuffer('b')).toEqual(NOT_UTF8);
      expect(await client.getBuffer('missing')).toBeUndefined();
      expect((await client.mgetBuffer(['b'])).get('b')).toEqual(NOT_UTF8);
      expect(await client.get('b')).toBeTypeOf('string');
      expect(traced).toEqual(['SET', 'GET', 'GET', 'MGET', 'GET']);
    } finally {
      channel.unsubscribe(handlers);
    }
  });
});
