/**
 * The set-up the KeyvZCached test files share: one faithful embedded server
 * in the `'etx'` dialect and one client of it for the whole file.
 */
import { afterAll, afterEach, beforeAll } from 'vitest';
import { ZCached } from '../../src/client/client.js';
import { startServer, type ZCachedServer } from '../../src/testing/server.js';

/**
 * Registers the hooks: before the file's tests, starts the server and runs a
 * client of it, handing both to `use` (the file keeps them in its own
 * variables); after them, closes the client, then the server. With
 * `flushAfterEach`, empties the server after each test.
 */
export function etxServerAndClient(
  use: (started: { readonly server: ZCachedServer; readonly client: ZCached }) => void,
  { flushAfterEach = false }: { flushAfterEach?: boolean } = {},
): void {
  let server: ZCachedServer | undefined;
  let client: ZCached | undefined;
  beforeAll(async () => {
    server = await startServer({ dialect: 'etx' });
    client = new ZCached({ port: server.port });
    use({ server, client });
    await client.run();
  });
  if (flushAfterEach) {
    afterEach(async () => {
      await client?.flush();
    });
  }
  afterAll(async () => {
    await client?.close();
    await server?.close();
  });
}
