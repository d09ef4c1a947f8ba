/**
 * The advice at the end of a DialectError fits the part at fault: codecs
 * encode values, never keys, so for a key (`key`, `newKey`, `source`,
 * `destination`, `mget key #n`, `mset entry n key`) the message does not
 * send the user to a codec. A map key inside a value is part of the value,
 * and keeps the value advice.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ZCached } from '../../src/client/client.js';
import { DialectError } from '../../src/errors.js';
import { dialectMessage } from '../../src/protocol/value-rules.js';
import { startServer, type ZCachedServer } from '../../src/testing/server.js';

const VALUE_LF_HINT = 'Store such values with a codec that escapes them (e.g. JSON).';
const KEY_LF_HINT =
  'Keys cannot hold a line feed on this dialect (codecs encode values, never keys): choose another key, or encode it yourself (e.g. encodeURIComponent).';

describe('dialectMessage: the hint depends on whether the path is a key', () => {
  it.each(['key', 'newKey', 'source', 'destination', 'mget key #2', 'mset entry 3 key'])('%s: key advice, no codec', (path) => {
    const message = dialectMessage({ reason: 'line-feed', dialect: 'etx', command: 'SET', path });
    expect(message.endsWith(`nothing was sent. ${KEY_LF_HINT}`)).toBe(true);
    expect(message).not.toContain('codec that escapes');
  });

  it.each(['value', 'value[1]', 'mset entry 3 value', 'map key "a\\nb" in value', 'argument 1', 'message', 'key[0]'])('%s: value advice', (path) => {
    expect(dialectMessage({ reason: 'line-feed', dialect: 'etx', command: 'SET', path }).endsWith(`nothing was sent. ${VALUE_LF_HINT}`)).toBe(true);
  });

  it('CR, 0x03 and the empty string in a key get key advice too', () => {
    expect(dialectMessage({ reason: 'carriage-return', dialect: 'legacy', command: 'GET', path: 'key' })).toMatch(
      /nothing was sent\. Keys cannot hold a carriage return on this dialect \(codecs encode values, never keys\): choose another key, or encode it yourself \(e\.g\. encodeURIComponent\)\.$/,
    );
    expect(dialectMessage({ reason: 'etx', dialect: 'etx', command: 'GET', path: 'key' })).toMatch(/Keys cannot hold the byte 0x03 on this dialect .*encodeURIComponent\)\.$/);
    expect(dialectMessage({ reason: 'empty-string', dialect: 'etx', command: 'GET', path: 'key' })).toMatch(/nothing was sent\. Use a non-empty key\.$/);
    expect(dialectMessage({ reason: 'empty-string', dialect: 'etx', command: 'SET', path: 'value' })).toMatch(/nothing was sent\. Leave it out, or store null or a non-empty placeholder\.$/);
  });
});

describe('through the client (etx dialect)', () => {
  let server: ZCachedServer;
  let client: ZCached;
  beforeAll(async () => {
    server = await startServer({ dialect: 'etx' });
    client = new ZCached({ port: server.port, dialect: 'etx' });
    await client.run();
  });
  afterAll(async () => {
    await client?.close();
    await server?.close();
  });

  const thrown = (call: () => unknown): DialectError => {
    try {
      call();
    } catch (error) {
      expect(error).toBeInstanceOf(DialectError);
      return error as DialectError;
    }
    throw new Error('the call did not throw');
  };

  it.each<[string, (c: ZCached) => unknown, string]>([
    ['set', (c) => c.set('a\nb', 'v'), 'key'],
    ['get', (c) => c.get('a\nb'), 'key'],
    ['rename', (c) => c.rename('a', 'b\nc'), 'newKey'],
    ['mget', (c) => c.mget('a', 'b\nc'), 'mget key #2'],
    ['mset', (c) => c.mset([['a', 'v'], ['b\nc', 'w']]), 'mset entry 2 key'],
    ['sendCommand', (c) => c.sendCommand(['GET', 'a\nb']), 'key'],
  ])('%s with a line feed in a key: key advice', (_, call, path) => {
    const before = server.stats.requests;
    const error = thrown(() => call(client));
    expect(error.path).toBe(path);
    expect(error.message).toContain(`${path} holds a line feed (0x0a)`);
    expect(error.message.endsWith(KEY_LF_HINT)).toBe(true);
    expect(server.stats.requests).toBe(before);
  });

  it('a line feed in a map key of a value keeps the value advice', () => {
    const error = thrown(() => client.set('k', new Map([['a\nb', 1]])));
    expect(error.path).toBe('map key "a\\nb" in value');
    expect(error.message.endsWith(VALUE_LF_HINT)).toBe(true);
  });
});
