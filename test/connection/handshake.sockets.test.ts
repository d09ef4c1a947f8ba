/**
 * The generation handshake against the faithful embedded servers of every
 * generation, over real sockets: what each connection finds, that nothing
 * of the handshake disturbs the server, and what a mismatch does.
 */
import { describe, expect, it } from 'vitest';
import { Connection } from '../../src/connection/connection.js';
import { ZCached } from '../../src/client/client.js';
import { DialectMismatchError, ZCachedError } from '../../src/errors.js';
import { ZCachedFleet } from '../../src/fleet/fleet.js';
import { startServer } from '../../src/testing/server.js';
import { HOSTS, QUICK } from '../fleet/fleet-support.js';
import type { DialectName } from '../../src/protocol/dialect.js';
import { deferredCleanup, until } from '../support.js';
import { serversAndClients } from '../servers-and-clients.js';

const cleanup = deferredCleanup();
const { server } = serversAndClients(cleanup);
const GENERATIONS: readonly DialectName[] = ['legacy', 'etx-request', 'etx'];

function connection(port: number, dialect?: Connection['requestedDialect'] | DialectName | 'auto'): Connection {
  const created = new Connection({ host: '127.0.0.1', port, connectionAttempts: 1, reconnect: false, ...(dialect === undefined ? {} : { dialect: dialect as DialectName }) });
  cleanup.push(() => created.close({ force: true }));
  return created;
}

describe('generation handshake (faithful embedded servers)', () => {
  it.each(GENERATIONS)('finds a %s server by default and speaks it', async (generation) => {
    const started = await server({ dialect: generation });
    const c = connection(started.port);
    await c.connect();
    expect(c.generation).toBe(generation);
    expect(c.dialect.name).toBe(generation);
    await c.send(['SET', 'k', 'v']);
    expect(await c.send(['GET', 'k'])).toBe('v');
    expect(started.stats.crashes).toBe(0);
    expect(started.stats.pipeliningViolations).toBe(0);
  });

  it.each(GENERATIONS)('finds a %s server with faithful: false too (the kind embedded server)', async (generation) => {
    const started = await server({ dialect: generation, faithful: false });
    const c = connection(started.port);
    await c.connect();
    expect(c.generation).toBe(generation);
  });

  it.each(GENERATIONS.flatMap((server) => GENERATIONS.filter((client) => client !== server).map((client) => [client, server] as const)))(
    "dialect '%s' against a %s server fails the connect with a DialectMismatchError",
    async (client, generation) => {
      const started = await server({ dialect: generation });
      const c = connection(started.port, client);
      const error = await c.connect().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(DialectMismatchError);
      expect(error).toMatchObject({ code: 'EDIALECTMISMATCH', expected: client, detected: generation });
      expect((error as Error).message).toContain(`use dialect '${generation}' or 'auto'`);
      expect(started.stats.crashes).toBe(0);
    },
  );
});

describe('a server replaced by another generation between two connects', () => {
  it("'auto' detects it again and speaks the new generation; no request gets a wrong value", async () => {
    const old = await startServer({ dialect: 'etx' });
    const port = old.port;
    const c = new Connection({ host: '127.0.0.1', port, backoff: { initial: 5, max: 20, jitter: 0 } });
    cleanup.push(() => c.close({ force: true }));
    await c.connect();
    expect(c.generation).toBe('etx');
    await old.close();
    // Upgraded "in place" the other way round: a 2024 server on the same port.
    const replacement = await server({ dialect: 'legacy', port });
    await until(() => c.isConnected() && c.generation === 'legacy');
    expect(c.dialect.name).toBe('legacy');
    await c.send(['SET', 'k', 'after']);
    expect(await c.send(['GET', 'k'])).toBe('after');
    expect(replacement.stats.pipeliningViolations).toBe(0);
  });

  it('a named dialect meets the new generation with DialectMismatchError: requests fail typed, never with a wrong value', async () => {
    const old = await startServer({ dialect: 'etx' });
    const port = old.port;
    const c = new Connection({ host: '127.0.0.1', port, dialect: 'etx', timeoutLimit: 300, backoff: { initial: 5, max: 20, jitter: 0 } });
    cleanup.push(() => c.close({ force: true }));
    await c.connect();
    await old.close();
    await server({ dialect: 'etx-request', port });
    await until(() => c.lastError instanceof DialectMismatchError);
    const error = await c.send(['GET', 'k']).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ZCachedError);
    expect((error as Error).message).toMatch(/is a 2025 zcached server \('etx-request'\), but this client was given dialect 'etx'/);
    // What the last handshake found, though the socket was not used.
    expect(c.generation).toBe('etx-request');
  });
});

describe('a fleet over servers of three generations', () => {
  it("detects each server's generation on its own; SET/GET of many keys round-trip", async () => {
    const servers = await Promise.all(GENERATIONS.map((dialect, i) => server({ dialect, host: HOSTS[i] as string })));
    const fleet = new ZCachedFleet({ ...QUICK, servers: servers.map((s) => `zcached://${s.host}:${s.port}`) });
    cleanup.push(() => fleet.close());
    await fleet.run();
    const keys = Array.from({ length: 60 }, (_, i) => `key:${i}`);
    await Promise.all(keys.map((key) => fleet.set(key, `value-of-${key}`)));
    const values = await Promise.all(keys.map((key) => fleet.get(key)));
    expect(values).toEqual(keys.map((key) => `value-of-${key}`));
    for (const [i, s] of servers.entries()) {
      expect(s.stats.requests).toBeGreaterThan(3); // every server got keys, not only the handshake
      const connections = fleet.servers.find((info) => info.id === `${s.host}:${s.port}`)?.pool.connections ?? [];
      expect(connections.length).toBeGreaterThan(0);
      expect(connections.map((c) => c.generation)).toEqual(connections.map(() => GENERATIONS[i]));
    }
  });
});

describe('URL', () => {
  it('takes ?dialect=auto', async () => {
    const started = await server({ dialect: 'etx-request' });
    const c = new ZCached(`zcached://127.0.0.1:${started.port}?dialect=auto`);
    cleanup.push(() => c.close());
    await c.run();
    expect(c.connectionPool.connections[0]?.generation).toBe('etx-request');
    expect(c.connectionPool.connections[0]?.requestedDialect.name).toBe('auto');
  });
});

describe('a fleet with a named dialect', () => {
  it('run() rejects with the DialectMismatchError when every server is of another generation', async () => {
    const servers = await Promise.all([0, 1].map((i) => server({ dialect: 'legacy', host: HOSTS[i] as string })));
    const fleet = new ZCachedFleet({ ...QUICK, dialect: 'etx', servers: servers.map((s) => `zcached://${s.host}:${s.port}`) });
    cleanup.push(() => fleet.close());
    const error = await fleet.run().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(DialectMismatchError);
    expect(error).toMatchObject({ expected: 'etx', detected: 'legacy' });
  });

  it("a server of another generation among others: its keys fail typed, the ejection naming the mismatch", async () => {
    const servers = await Promise.all([
      server({ dialect: 'etx', host: HOSTS[0] as string }),
      server({ dialect: 'legacy', host: HOSTS[1] as string }),
    ]);
    const fleet = new ZCachedFleet({ ...QUICK, dialect: 'etx', timeoutLimit: 300, servers: servers.map((s) => `zcached://${s.host}:${s.port}`) });
    cleanup.push(() => fleet.close());
    await fleet.run();
    const odd = `${servers[1]?.host}:${servers[1]?.port}`;
    const key = Array.from({ length: 200 }, (_, i) => `k${i}`).find((k) => fleet.serverFor(k) === odd) as string;
    const messages: string[] = [];
    for (let i = 0; i < 4; i++) {
      const error = await fleet.get(key).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(ZCachedError);
      messages.push((error as Error).message);
    }
    expect(messages.some((m) => /ejected.*last failure: .*is a 2024 zcached server \('legacy'\), but this client was given dialect 'etx'/.test(m)), messages.join('\n')).toBe(true);
  });
});

describe('bytes right after the handshake', () => {
  it('a reply nobody asked for, sent with the handshake\'s last answer, breaks the connection; it is never dropped', async () => {
    const { answerHandshake } = await import('../handshake-responder.js');
    const net = await import('node:net');
    const raw = net.createServer((socket) => answerHandshake(socket, (s) => s.write('+STRAY\r\n\x03')));
    await new Promise<void>((resolve) => raw.listen(0, '127.0.0.1', resolve));
    cleanup.push(() => new Promise((resolve) => raw.close(resolve)));
    const port = (raw.address() as import('node:net').AddressInfo).port;
    const c = connection(port);
    await c.connect().catch(() => undefined);
    await until(() => c.state !== 'connected' && c.lastError !== undefined);
    // Read with the handshake's last answer (one chunk), the probe refuses it; read after, the reply stream does.
    expect(c.lastError?.message).toMatch(/a reply nobody asked for|sent more than one reply after the handshake/);
  });
});

describe('a request made before a named-dialect mismatch', () => {
  it('rejects naming the mismatch when the client gives up (run() failed and closed the pool)', async () => {
    const started = await server({ dialect: 'legacy' });
    const c = new ZCached({ port: started.port, dialect: 'etx', connectionAttempts: 1 });
    cleanup.push(() => c.close());
    const running = c.run().catch((e: unknown) => e);
    const early = c.get('k').catch((e: unknown) => e);
    expect(await running).toBeInstanceOf(DialectMismatchError);
    const error = (await early) as Error;
    expect(error).toBeInstanceOf(ZCachedError);
    expect(error.message).toMatch(/is a 2024 zcached server \('legacy'\), but this client was given dialect 'etx'/);
  });
});
