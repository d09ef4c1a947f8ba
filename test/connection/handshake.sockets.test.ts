/**
 * The generation handshake against the faithful embedded servers of every
 * generation, over real sockets: what each connection finds, that nothing
 * of the handshake disturbs the server, and what a mismatch does.
 */
import { describe, expect, it } from 'vitest';
import { Connection } from '../../src/connection/connection.js';
import { DialectMismatchError } from '../../src/errors.js';
import type { DialectName } from '../../src/protocol/dialect.js';
import { deferredCleanup } from '../support.js';
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
