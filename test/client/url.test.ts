/**
 * `new ZCached(url)` and `new ZCached(url, options)`: the URL grammar
 * (`zcached://` and `zcacheds://`, hosts, default port, typed query
 * options, what is refused and why) and which of URL and options object
 * wins. Also the fleet's server specs, which read the same grammar.
 *
 * Before this grammar, a string argument was silently ignored and the
 * client went to 127.0.0.1:7556: the end-to-end tests connect to a server
 * on another port, so they fail there.
 */
import type * as tls from 'node:tls';
import { describe, expect, it } from 'vitest';
import { ZCached } from '../../src/client/client.js';
import { resolveZCachedOptions } from '../../src/client/options.js';
import { resolveServer } from '../../src/fleet/options.js';
import { serversAndClients } from '../servers-and-clients.js';
import { deferredCleanup, watchUnhandledRejections } from '../support.js';
import { selfSignedCertificate } from '../tls-credentials.js';

const cleanup = deferredCleanup();
const unhandled = watchUnhandledRejections();

const { server } = serversAndClients(cleanup);

function track<T extends ZCached<never>>(client: T): T {
  cleanup.push(() => client.close());
  return client;
}

/** The connection options a URL (and options object) give. */
const connectionOf = (url: string | URL, options?: object) => resolveZCachedOptions(url, options).connection;

describe('new ZCached(url): end to end', () => {
  it('connects where the URL says, with the pool size, dialect and timeout of its query', async () => {
    const s = await server({ dialect: 'etx-request' });
    const client = track(new ZCached(`zcached://127.0.0.1:${s.port}?poolSize=2&dialect=etx-request&timeout=500`));
    await client.run();
    expect(await client.set('k', 'v')).toBe('OK');
    expect(await client.get('k')).toBe('v');
    const connections = client.connectionPool.connections;
    expect(connections).toHaveLength(2);
    expect(connections.map((c) => `${c.host}:${c.port}`)).toEqual([`127.0.0.1:${s.port}`, `127.0.0.1:${s.port}`]);
    expect(connections[0]!.dialect.name).toBe('etx-request');
    expect(s.stats.openConnections).toBe(2);
  });

  it('takes a URL instance, and an options object after the URL', async () => {
    const s = await server();
    const client = track(new ZCached(new URL(`zcached://localhost:${s.port}`), { poolSize: 3 }));
    await client.run();
    expect(await client.ping()).toBe('PONG');
    expect(client.connectionPool.connections).toHaveLength(3);
  });

  it('the options object wins over the URL, key by key', async () => {
    const s = await server();
    const client = track(new ZCached('zcached://127.0.0.1:1?poolSize=5&connectionAttempts=7', { port: s.port, poolSize: 1 }));
    await client.run();
    expect(await client.ping()).toBe('PONG');
    expect(client.connectionPool.connections).toHaveLength(1);
  });

  const credentials = selfSignedCertificate();
  it.skipIf(credentials === undefined)('zcacheds:// speaks TLS; tls options of the options object (certificates) go with it (needs the openssl CLI, which makes its certificate)', async () => {
    const s = await server({ tls: credentials as tls.TlsOptions });
    const client = track(new ZCached(`zcacheds://localhost:${s.port}`, { tls: { ca: credentials!.cert, servername: 'localhost' } }));
    await client.run();
    expect(await client.ping()).toBe('PONG');
  });

  it.skipIf(credentials === undefined)('zcacheds:// alone uses TLS with Node defaults: an untrusted certificate is refused (needs the openssl CLI, which makes its certificate)', async () => {
    const s = await server({ tls: credentials as tls.TlsOptions });
    const client = track(new ZCached(`zcacheds://localhost:${s.port}`, { connectionAttempts: 1 }));
    const error = (await client.run().catch((e: unknown) => e)) as Error;
    expect(error.message).toMatch(/self[- ]signed certificate/);
  });
});

describe('the URL grammar', () => {
  it('reads host, port and scheme; the port defaults to 7556, the host to 127.0.0.1', () => {
    expect(connectionOf('zcached://cache.example:7000')).toMatchObject({ host: 'cache.example', port: 7000 });
    expect(connectionOf('zcached://cache.example')).toMatchObject({ host: 'cache.example', port: 7556 });
    expect(connectionOf('zcached://cache.example/')).toMatchObject({ host: 'cache.example', port: 7556 });
    expect(connectionOf('zcached://')).toMatchObject({ host: '127.0.0.1', port: 7556 });
    expect(connectionOf('ZCACHED://h:1')).toMatchObject({ host: 'h', port: 1 });
    expect(connectionOf('zcached://h').tls).toBeUndefined();
    expect(connectionOf('zcacheds://h').tls).toBe(true);
  });

  it('reads IPv6 addresses in brackets', () => {
    expect(connectionOf('zcached://[::1]:7557')).toMatchObject({ host: '::1', port: 7557 });
    expect(connectionOf('zcached://[2001:db8::5]')).toMatchObject({ host: '2001:db8::5', port: 7556 });
  });

  it('reads query values by type: integers, booleans, dialect names; timeout is timeoutLimit', () => {
    const resolved = resolveZCachedOptions(
      'zcached://h?poolSize=4&connectionAttempts=2&reconnect=false&timeout=500&connectTimeout=250&dialect=legacy&keepAliveDelay=0' +
        '&maxPending=10&pingInterval=1000&closeTimeout=0&stableAfter=10&bulkAsBuffer=1',
      undefined,
    );
    expect(resolved.poolSize).toBe(4);
    expect(resolved.connection).toMatchObject({
      connectionAttempts: 2,
      reconnect: false,
      timeoutLimit: 500,
      connectTimeout: 250,
      dialect: 'legacy',
      keepAliveDelay: 0,
      maxPending: 10,
      pingInterval: 1000,
      closeTimeout: 0,
      stableAfter: 10,
      bulkAsBuffer: true,
    });
    for (const [text, value] of [['true', true], ['TRUE', true], ['1', true], ['false', false], ['False', false], ['0', false]] as const) {
      expect(connectionOf(`zcached://h?reconnect=${text}`).reconnect).toBe(value);
    }
    expect(connectionOf('zcached://h?timeoutLimit=700').timeoutLimit).toBe(700);
  });

  it('the options object wins over the URL; a key set to undefined keeps the URL value', () => {
    const resolved = resolveZCachedOptions('zcacheds://h:1?poolSize=3&timeout=500', { port: 2, timeoutLimit: 900, poolSize: undefined } as object);
    expect(resolved.poolSize).toBe(3);
    expect(resolved.connection).toMatchObject({ host: 'h', port: 2, timeoutLimit: 900, tls: true });
    expect(connectionOf('zcacheds://h', { tls: false }).tls).toBe(false);
    expect(connectionOf('zcached://h', { tls: { servername: 'x' } }).tls).toEqual({ servername: 'x' });
  });

  it('refuses other schemes, naming the accepted ones', () => {
    for (const url of ['redis://h:6379', 'http://h', 'zcache://h']) {
      expect(() => new ZCached(url)).toThrow(TypeError);
      expect(() => new ZCached(url)).toThrow(/expected zcached:\/\/ or zcacheds:\/\//);
    }
    expect(() => new ZCached('h:7556')).toThrow(/expected zcached:\/\/ or zcacheds:\/\//);
    expect(() => new ZCached('not a url')).toThrow(/not a valid URL; expected 'zcached:\/\/host:port'/);
    expect(() => new ZCached('zcached:h:1')).toThrow(/no '\/\/' after the scheme/);
  });

  it('refuses credentials (zcached has no authentication) without showing the password', () => {
    for (const url of ['zcached://user:s3cret@h:7556', 'zcached://:s3cret@h', 'zcacheds://user@h']) {
      let error: unknown;
      try {
        new ZCached(url);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(TypeError);
      expect((error as Error).message).toMatch(/no authentication/);
      expect((error as Error).message).not.toContain('s3cret');
    }
    // Even when the URL is invalid for another reason, the password is not echoed.
    expect(() => new ZCached('zcached://user:s3cret@h:99999')).toThrow(/^(?!.*s3cret).*port of "zcached:\/\/\*\*\*@h:99999" must be in 1\.\.65535/);
    expect(() => new ZCached('zcached://user:s3cret@a b')).toThrow(/^(?!.*s3cret).*not a valid URL/);
  });

  it('refuses a path, a fragment, an unknown, repeated or object-only query key', () => {
    expect(() => new ZCached('zcached://h/0')).toThrow(/has a path \("\/0"\); zcached has no databases/);
    expect(() => new ZCached('zcached://h#x')).toThrow(/has a fragment/);
    expect(() => new ZCached('zcached://h?poolsize=4')).toThrow(/unknown option "poolsize"; did you mean poolSize\?/);
    expect(() => new ZCached('zcached://h?timout=4')).toThrow(/did you mean timeout\?/);
    expect(() => new ZCached('zcached://h?whatever=4')).toThrow(/unknown option "whatever"; the options are poolSize, /);
    expect(() => new ZCached('zcached://h?poolSize=1&poolSize=2')).toThrow(/"poolSize" is given twice/);
    expect(() => new ZCached('zcached://h?timeout=1&timeoutLimit=2')).toThrow(/"timeoutLimit" is given twice in the URL \(as "timeout" and "timeoutLimit"\)/);
    expect(() => new ZCached('zcached://h?tls=true')).toThrow(/"tls" cannot be given in a URL: use the zcacheds:\/\/ scheme/);
    expect(() => new ZCached('zcached://h?backoff=1')).toThrow(/"backoff" cannot be given in a URL: pass it in the options object/);
    expect(() => new ZCached('zcached://h?port=1')).toThrow(/"port" cannot be given in a URL/);
    for (const url of ['zcached://h?poolsize=4', 'zcached://h/0', 'zcached://h?tls=1']) expect(() => new ZCached(url)).toThrow(TypeError);
  });

  it('refuses values of the wrong type, then checks ranges as for the options object', () => {
    expect(() => new ZCached('zcached://h?poolSize=four')).toThrow(/"poolSize" must be an integer \(decimal digits\), got "four"/);
    expect(() => new ZCached('zcached://h?poolSize=')).toThrow(TypeError);
    expect(() => new ZCached('zcached://h?poolSize=-1')).toThrow(TypeError);
    expect(() => new ZCached('zcached://h?timeout=1.5')).toThrow(TypeError);
    expect(() => new ZCached('zcached://h?reconnect=yes')).toThrow(/must be true, false, 1 or 0, got "yes"/);
    expect(() => new ZCached('zcached://h?dialect=etx_request')).toThrow(/unknown dialect "etx_request"; did you mean etx-request\?/);
    expect(() => new ZCached('zcached://h?dialect=modern')).toThrow(/expected one of auto, legacy, etx-request, etx/);
    expect(() => new ZCached('zcached://h?poolSize=0')).toThrow(RangeError);
    expect(() => new ZCached('zcached://h:0')).toThrow(RangeError);
    expect(() => new ZCached('zcached://h?timeout=0')).toThrow(RangeError);
  });

  it('a port out of range or not a number says so, rather than "not a valid URL"', () => {
    // Before: `"zcached://h:99999" is not a valid URL`.
    expect(() => new ZCached('zcached://h:99999')).toThrow(new RangeError('ZCached: the port of "zcached://h:99999" must be in 1..65535, got 99999'));
    expect(() => new ZCached('zcacheds://[::1]:65536?poolSize=2')).toThrow(/^ZCached: the port of .* must be in 1\.\.65535, got 65536$/);
    expect(() => new ZCached('zcached://h:7a')).toThrow(new TypeError('ZCached: the port of "zcached://h:7a" must be decimal digits (1..65535), got "7a"'));
    expect(() => resolveServer('zcached://h:70000', { poolSize: 1, connection: {} })).toThrow(RangeError);
    // Not the port's fault: still "not a valid URL".
    expect(() => new ZCached('zcached://a b')).toThrow(/is not a valid URL/);
  });

  it('a value that decodes to something else is shown as written, with what it was read as', () => {
    // Before: `got " 4"` for `+4` (a '+' in a query is a space).
    expect(() => new ZCached('zcached://h?poolSize=+4')).toThrow(
      new TypeError(`ZCached: URL option "poolSize" must be an integer (decimal digits), got "+4" (read as " 4": a '+' in a URL query is a space)`),
    );
    expect(() => new ZCached('zcached://h?timeout=1%2E5')).toThrow(/must be an integer \(decimal digits\), got "1%2E5" \(read as "1\.5"\)$/);
    // Empty parts between '&' do not shift which raw value goes with which key.
    expect(() => new ZCached('zcached://h?&&poolSize=2&&reconnect=+')).toThrow(/"reconnect" must be true, false, 1 or 0, got "\+" \(read as " "/);
    expect(connectionOf('zcached://h?&poolSize=2&&timeout=%35').timeoutLimit).toBe(5);
  });

  it('refuses arguments it cannot read', () => {
    expect(() => new ZCached({ port: 1 } as unknown as string, { poolSize: 2 })).toThrow(/give the options once/);
    expect(() => new ZCached(42 as unknown as string)).toThrow(/expected a 'zcached:\/\/host:port' URL or an options object, got number/);
    expect(() => new ZCached(null as unknown as string)).toThrow(TypeError);
    expect(() => new ZCached('zcached://h', 'x' as unknown as object)).toThrow(/options must be an object/);
  });
});

describe('fleet server specs read the same grammar', () => {
  const shared = { poolSize: 1, connection: {} };

  it('takes connection options, weight and id from the query', () => {
    expect(resolveServer('zcacheds://[::1]:7000?weight=2.5&id=a&timeout=300&poolSize=3', shared)).toMatchObject({
      id: 'a',
      weight: 2.5,
      poolSize: 3,
      connection: { host: '::1', port: 7000, tls: true, timeoutLimit: 300 },
    });
  });

  it('refuses unknown keys (with the closest), credentials and a missing host', () => {
    expect(() => resolveServer('zcached://h?wieght=2', shared, 'servers[0]')).toThrow(/servers\[0\] URL: unknown option "wieght"; did you mean weight\?/);
    expect(() => resolveServer('zcached://u:p@h', shared, 'servers[1]')).toThrow(/servers\[1\]: .*no authentication/);
    expect(() => resolveServer('zcached://', shared, 'servers[2]')).toThrow(/servers\[2\]: no host/);
  });
});

describe('no unhandled rejections', () => {
  it('none in this file', () => {
    expect(unhandled).toEqual([]);
  });
});
