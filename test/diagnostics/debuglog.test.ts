/**
 * `NODE_DEBUG=zcached`: the same script, in a child process (debuglog reads
 * NODE_DEBUG once per process), logs the lifecycle decisions of connections,
 * the pool and a fleet on stderr with it, and nothing without it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { moduleUrl, removeBuild, runScript, transpileSources } from './child.js';

let build = '';
beforeAll(() => {
  build = transpileSources();
}, 60_000);
afterAll(() => {
  if (build !== '') removeBuild(build);
});

/**
 * A client of two connections whose server drops them both, then a pool
 * reduce and a close; a fleet of one server that goes away (ejected at the
 * first failure) and comes back (probed, returned). Prints the ports.
 */
function script(): string {
  return `
    import { ZCached, ZCachedFleet } from ${moduleUrl(build, 'index.js')};
    import { startServer } from ${moduleUrl(build, 'testing/index.js')};
    const quick = { backoff: { initial: 10, max: 20, jitter: 0 } };
    const server = await startServer({ faithful: false });
    const client = new ZCached({ port: server.port, poolSize: 2, ...quick });
    await client.run();
    await server.waitForConnections(2);
    const down = new Promise((resolve) => client.once('end', resolve));
    server.dropConnections();
    await down;
    const back = new Promise((resolve) => client.once('ready', resolve));
    await back;
    await client.connectionPool.reducePoolConnections(1);
    await client.close();
    await server.close();

    const first = await startServer({ faithful: false });
    const port = first.port;
    const fleet = new ZCachedFleet({ servers: [{ host: '127.0.0.1', port }], failureLimit: 1, retryTimeout: 50, ...quick });
    const seen = (type) => new Promise((resolve) => {
      const off = fleet.subscribe((event) => {
        if (event.type !== type) return;
        off();
        resolve();
      });
    });
    await fleet.run();
    const ejected = seen('serverEjected');
    await first.close();
    await ejected;
    const returned = seen('serverReturned');
    const again = await startServer({ faithful: false, port });
    await returned;
    await fleet.close();
    await again.close();
    console.log(JSON.stringify({ port: server.port, fleetPort: port }));
  `;
}

describe('NODE_DEBUG=zcached', () => {
  it('logs connection changes with what comes next, pool steps and fleet decisions', async () => {
    const outcome = await runScript(script(), { NODE_DEBUG: 'zcached' });
    expect(outcome.code).toBe(0);
    const { port, fleetPort } = JSON.parse(outcome.stdout.trim()) as { port: number; fleetPort: number };
    const lines = outcome.stderr.trimEnd().split('\n');
    // Every line is debuglog's: `ZCACHED <pid>: ...`.
    for (const line of lines) expect(line).toMatch(/^ZCACHED \d+: /);
    const text = lines.map((line) => line.replace(/^ZCACHED \d+: /, ''));
    const has = (pattern: RegExp): void => {
      expect(text.some((line) => pattern.test(line)), `no line matches ${pattern}:\n${text.join('\n')}`).toBe(true);
    };
    const host = `127\\.0\\.0\\.1:${port}`;
    has(/^pool setup -> create 2$/);
    has(new RegExp(`^pool added\\(${host}#\\d+ ${host}#\\d+\\) -> connect ${host}#\\d+ ${host}#\\d+; ${host}#\\d+ joined, ${host}#\\d+ joined$`));
    has(new RegExp(`^idle -> connecting: connection ${host}#\\d+ is connecting \\(attempt 1 of 3\\)$`));
    has(new RegExp(`^connecting -> connected: connection ${host}#\\d+ is connected$`));
    // The handshake's verdict, for each connection.
    has(new RegExp(`^${host}#\\d+: a current zcached server \\('etx'\\) \\(dialect 'auto'\\)$`));
    // The break, with the cause and the reconnect it schedules.
    has(new RegExp(`^connected -> broken: connection ${host}#\\d+ is waiting to retry \\(last error: the connection to ${host} closed.*\\): attempt 2 of 3 starts in ~\\d+ ms$`));
    has(new RegExp(`^broken -> connecting: connection ${host}#\\d+ is connecting \\(attempt 2 of 3\\)$`));
    has(new RegExp(`^pool reduce\\(1\\) -> close ${host}#\\d+; ${host}#\\d+ left, poolSize 2 -> 1$`));
    has(new RegExp(`^pool close -> close ${host}#\\d+; ${host}#\\d+ left$`));
    has(new RegExp(`^connected -> closed: connection ${host}#\\d+ is closed$`));
    const server = `127\\.0\\.0\\.1:${fleetPort}`;
    has(new RegExp(`^fleet server ${server} added \\(weight 1\\)$`));
    has(new RegExp(`^fleet server ${server} ejected after 1 failures \\(.+\\); probed again in \\d+ ms$`));
    has(new RegExp(`^fleet server ${server} returned after \\d+ ms ejected$`));
  }, 60_000);

  it('without it, the same script prints nothing on stderr', async () => {
    const outcome = await runScript(script(), { NODE_DEBUG: undefined });
    expect(outcome.code).toBe(0);
    expect(JSON.parse(outcome.stdout.trim())).toMatchObject({ port: expect.any(Number) });
    expect(outcome.stderr).toBe('');
  }, 60_000);
});
