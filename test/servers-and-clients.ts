/**
 * Embedded servers and clients that a test file's deferred cleanup closes
 * after each test. Kept out of support.ts so that only the files that already
 * import the client and the embedded server load them through it.
 */
import { ZCached, type ZCachedOptions } from '../src/client/client.js';
import { startServer, type ZCachedServer } from '../src/testing/server.js';

type ServerOptions = Parameters<typeof startServer>[0];

/**
 * `server()` starts an embedded server (`serverDefaults`, then `options`);
 * `client()` creates a ZCached. Each pushes the `close()` of what it made
 * onto `cleanup` (from {@link deferredCleanup} in support.ts).
 */
export function serversAndClients(
  cleanup: (() => Promise<unknown>)[],
  serverDefaults: ServerOptions = {},
): { server(options?: ServerOptions): Promise<ZCachedServer>; client(options: ZCachedOptions): ZCached } {
  return {
    async server(options: ServerOptions = {}): Promise<ZCachedServer> {
      const started = await startServer({ ...serverDefaults, ...options });
      cleanup.push(() => started.close());
      return started;
    },
    client(options: ZCachedOptions): ZCached {
      const created = new ZCached(options);
      cleanup.push(() => created.close());
      return created;
    },
  };
}
