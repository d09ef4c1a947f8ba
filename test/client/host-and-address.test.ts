/**
 * The `host` option holds a host and nothing else, and `host:port` is
 * written with an IPv6 address in brackets.
 *
 * Before: `{ host: '127.0.0.1:7556' }` and `{ host: 'zcached://...' }`
 * passed the constructor and failed only at `run()` with
 * `getaddrinfo ENOTFOUND`; and an IPv6 host gave ids and messages such as
 * `connection ::1:1#2 could not connect to ::1:1`.
 */
import { describe, expect, it } from 'vitest';
import { ZCached } from '../../src/client/client.js';
import { formatAddress } from '../../src/connection/address.js';
import { Connection } from '../../src/connection/connection.js';
import { ConnectError } from '../../src/errors.js';
import { ZCachedFleet } from '../../src/fleet/fleet.js';
import { deferredCleanup, watchUnhandledRejections } from '../support.js';

const cleanup = deferredCleanup();
const unhandled = watchUnhandledRejections();

describe('a host option that holds more than a host is refused at construction', () => {
  it('a URL: pass it as new ZCached(url)', () => {
    expect(() => new ZCached({ host: 'zcached://127.0.0.1:7556' })).toThrow(
      new TypeError(
        'host "zcached://127.0.0.1:7556" looks like a URL: pass it as new ZCached(url); the host option takes a host name or an IP address only',
      ),
    );
    expect(() => new ZCached({ host: 'zcacheds://cache.local' })).toThrow(/looks like a URL: pass it as new ZCached\(url\)/);
    expect(() => new Connection({ host: 'ZCACHED://h', port: 1 })).toThrow(/looks like a URL/);
  });

  it('a port: use { host, port }', () => {
    expect(() => new ZCached({ host: '127.0.0.1:7556' })).toThrow(new TypeError(`host "127.0.0.1:7556" holds a port: use { host: '127.0.0.1', port: 7556 }`));
    expect(() => new ZCached({ host: 'cache.local:7000', port: 7000 })).toThrow(/holds a port: use \{ host: 'cache\.local', port: 7000 \}/);
    expect(() => new ZCached({ host: '[::1]:7556' })).toThrow(new TypeError(`host "[::1]:7556" holds a port: use { host: '::1', port: 7556 }`));
    expect(() => new Connection({ host: 'h:1', port: 1 })).toThrow(/holds a port/);
  });

  it('an IPv6 address in brackets, or a colon that makes no address', () => {
    expect(() => new ZCached({ host: '[::1]' })).toThrow(new TypeError(`host "[::1]": give the IPv6 address without brackets: { host: '::1' }`));
    expect(() => new ZCached({ host: 'a:b:c' })).toThrow(/is neither a host name nor an IP address/);
  });

  it('fleet server objects are checked the same way', () => {
    expect(() => new ZCachedFleet({ servers: [{ host: '10.0.0.1:7556', port: 7556 }] })).toThrow(/holds a port/);
  });

  it('host names, IPv4 and IPv6 literals (with a zone) pass', () => {
    for (const host of ['localhost', 'cache-a.internal', '10.0.0.2', '::1', 'fe80::1', '2001:db8::5', '::ffff:127.0.0.1', 'fe80::1%eth0']) {
      expect(() => new ZCached({ host }), host).not.toThrow();
    }
  });
});

describe('IPv6 addresses are written in brackets', () => {
  it('formatAddress', () => {
    expect(formatAddress('::1', 7556)).toBe('[::1]:7556');
    expect(formatAddress('fe80::1%eth0', 1)).toBe('[fe80::1%eth0]:1');
    expect(formatAddress('127.0.0.1', 7556)).toBe('127.0.0.1:7556');
    expect(formatAddress('cache.local', 7556)).toBe('cache.local:7556');
  });

  it('in connection ids and connect errors', async () => {
    const connection = new Connection({ host: '::1', port: 1, connectionAttempts: 1, reconnect: false });
    cleanup.push(() => connection.close());
    expect(connection.id).toMatch(/^\[::1\]:1#\d+$/);
    const ipv4 = new Connection({ host: '127.0.0.1', port: 1 });
    cleanup.push(() => ipv4.close());
    expect(ipv4.id).toMatch(/^127\.0\.0\.1:1#\d+$/);
    // Nothing listens on port 1 (or IPv6 is off): either way the attempt fails.
    const error = await connection.connect().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectError);
    expect((error as Error).message).toMatch(/^cannot connect to \[::1\]:1 after 1 attempt: /);
    expect(((error as Error).cause as Error).message).toMatch(/^cannot connect to \[::1\]:1(: |$)/);
    expect(connection.describeState()).toMatch(/^connection \[::1\]:1#\d+ gave up/);
  });

  it('in the client: run() and the connections', async () => {
    const client = new ZCached({ host: '::1', port: 1, connectionAttempts: 1 });
    cleanup.push(() => client.close());
    expect(client.connectionPool.connections).toHaveLength(0);
    const error = await client.run().catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/^cannot reach the zcached server at \[::1\]:1: /);
  });
});

describe('no unhandled rejections', () => {
  it('none in this file', () => {
    expect(unhandled).toEqual([]);
  });
});
