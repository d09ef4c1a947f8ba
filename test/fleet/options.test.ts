/**
 * Reading the fleet's options and server specs: URL forms, defaults,
 * per-server overrides, and refusals that name the option at fault.
 */
import { describe, expect, it } from 'vitest';
import { ZCachedFleet } from '../../src/fleet/index.js';
import { resolveFleetOptions, resolveServer } from '../../src/fleet/options.js';

const shared = { poolSize: 2, connection: { timeoutLimit: 1_000 } };

describe('server specs', () => {
  it('reads zcached:// URLs, host:port, bare hosts, IPv6 and TLS', () => {
    expect(resolveServer('zcached://10.0.0.1:7000?weight=2&id=cache-a', shared)).toMatchObject({
      id: 'cache-a',
      weight: 2,
      poolSize: 2,
      connection: { host: '10.0.0.1', port: 7000, timeoutLimit: 1_000 },
    });
    expect(resolveServer('10.0.0.2:7001', shared)).toMatchObject({ id: '10.0.0.2:7001', weight: 1 });
    expect(resolveServer('cache.local', shared)).toMatchObject({ id: 'cache.local:7556', connection: { port: 7556 } });
    expect(resolveServer('zcached://[::1]:7556', shared)).toMatchObject({ id: '[::1]:7556', connection: { host: '::1' } });
    expect(resolveServer('zcacheds://secure.local', shared)).toMatchObject({ connection: { tls: true } });
  });

  it('lets a server object override the shared connection options and pool size', () => {
    const server = resolveServer({ host: 'h', port: 1, poolSize: 5, timeoutLimit: 50, dialect: 'legacy' }, shared);
    expect(server).toMatchObject({ id: 'h:1', poolSize: 5, connection: { timeoutLimit: 50 } });
    expect(server.dialect.name).toBe('legacy');
  });

  it('refuses bad specs, naming them', () => {
    expect(() => resolveServer('http://x:1', shared, 'servers[0]')).toThrow(/servers\[0\]: unknown scheme/);
    expect(() => resolveServer('zcached://x:1?weight=0', shared, 'servers[1]')).toThrow(RangeError);
    expect(() => resolveServer({ host: 'x', port: 70_000 }, shared, 'servers[2]')).toThrow(/servers\[2\]: port/);
    expect(() => resolveServer({ host: 'x', id: '' }, shared)).toThrow(TypeError);
    expect(() => resolveServer(42 as unknown as string, shared)).toThrow(TypeError);
  });
});

describe('fleet options', () => {
  it('fills in the defaults: 3 failures, 30 s out, fail-fast, hash tags on', () => {
    const options = resolveFleetOptions({ servers: ['a:1'] });
    expect(options).toMatchObject({ ejection: { failureLimit: 3, retryTimeout: 30_000 }, failover: 'fail-fast', flushOnReturn: false, hashTags: true });
    expect(options.servers[0]).toMatchObject({ poolSize: 1 });
  });

  it('refuses what it cannot use, in the constructor', () => {
    expect(() => new ZCachedFleet({ servers: ['a:1', 'a:1'] })).toThrow(/two servers have the id "a:1"/);
    expect(() => new ZCachedFleet({ servers: ['a:1'], failureLimit: 0 })).toThrow(RangeError);
    expect(() => new ZCachedFleet({ servers: ['a:1'], retryTimeout: -1 })).toThrow(RangeError);
    expect(() => new ZCachedFleet({ servers: ['a:1'], failover: 'retry' as 'rehash' })).toThrow(TypeError);
    expect(() => new ZCachedFleet({ servers: ['a:1'], poolSize: 0 })).toThrow(RangeError);
    expect(() => new ZCachedFleet({ servers: 'a:1' as unknown as string[] })).toThrow(TypeError);
    expect(() => new ZCachedFleet({ servers: ['a:1'], connectTimeout: -5 })).toThrow(/servers\[0\]: connectTimeout/);
    expect(new ZCachedFleet({ servers: ['a:1'], failureLimit: Infinity }).state.config.failureLimit).toBe(Infinity);
  });
});
