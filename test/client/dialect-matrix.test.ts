/**
 * The dialect matrix (issue 18, "Done means"): every client dialect (the
 * default, `'auto'`, and the three explicit ones) against every faithful
 * embedded server generation, under 32 concurrent GETs over a pool of 2.
 *
 * A client told the wrong dialect used to hand callers other keys' values
 * (the old servers answer one request per read, and the decoder took an
 * optional 0x03 after any reply). The contract checked here:
 * - the default and `'auto'` work everywhere, and every connection reports
 *   the generation it detected;
 * - an explicit dialect equal to the server's generation works;
 * - an explicit mismatch fails `run()` with a DialectMismatchError naming the
 *   server's generation and the option to use, and no later call resolves;
 * - in every cell, no GET ever resolves another key's value, and the
 *   (faithful) server never crashes.
 *
 * The load is bounded by counts (32 workers x 40 GETs each), never by time.
 * On the old code (8f888e0) this file fails 12 of 15 cells; the default
 * ('etx' then) and 'etx' against the 2024 and 2025 servers resolve hundreds
 * to over a thousand GETs with another key's value.
 */
import { describe, expect, it } from 'vitest';
import { ZCached, type ZCachedOptions } from '../../src/client/client.js';
import { DialectMismatchError, TimeoutError, ZCachedError } from '../../src/errors.js';
import type { DialectName } from '../../src/protocol/dialect.js';
import type { ZCachedServer } from '../../src/testing/server.js';
import { serversAndClients } from '../servers-and-clients.js';
import { deferredCleanup } from '../support.js';

/** The server generations, each played by a faithful embedded server. */
const GENERATIONS: readonly DialectName[] = ['legacy', 'etx-request', 'etx'];
/** The client's `dialect` option: `'default'` means the option is not given. */
type ClientDialect = 'default' | 'auto' | DialectName;
const CLIENT_DIALECTS: readonly ClientDialect[] = ['default', 'auto', 'legacy', 'etx-request', 'etx'];

const KEY_COUNT = 16;
/** GETs made by each worker, one after the other. */
const ROUNDS = 40;
/** Workers, each with one GET in flight: 32 concurrent GETs, 1280 in all per cell. */
const CONCURRENT_GETS = 32;
/** GETs tried after a mismatch has failed `run()`: each must reject. */
const GETS_AFTER_MISMATCH = 8;

const KEYS = Array.from({ length: KEY_COUNT }, (_, i) => `k${i}`);
const valueOf = (key: string): string => `value-of-${key}`;
const OTHER_VALUES = new Set(KEYS.map(valueOf));

/** What the GETs of one cell resolved and rejected with. */
interface Tally {
  /** GETs that resolved their own key's value. */
  right: number;
  /** GETs that resolved ANOTHER key's value. */
  wrong: number;
  /** GETs that resolved something that is no key's value (a reply meant for a SET or a PING, null...). */
  unexpected: number;
  /** Rejections, by error class name. */
  errors: Record<string, number>;
  /** A few wrong or unexpected results, for the failure message. */
  examples: string[];
}

function newTally(): Tally {
  return { right: 0, wrong: 0, unexpected: 0, errors: {}, examples: [] };
}

function errorName(error: unknown): string {
  return error instanceof Error ? error.name : typeof error;
}

/** One GET, counted (a synchronous throw counts as a rejection); false when it timed out. */
async function countedGet(client: ZCached, key: string, tally: Tally): Promise<boolean> {
  let value: unknown;
  try {
    value = await Promise.resolve().then(() => client.get(key));
  } catch (error) {
    const name = errorName(error);
    tally.errors[name] = (tally.errors[name] ?? 0) + 1;
    return !(error instanceof TimeoutError);
  }
  if (value === valueOf(key)) {
    tally.right++;
    return true;
  }
  if (typeof value === 'string' && OTHER_VALUES.has(value)) tally.wrong++;
  else tally.unexpected++;
  if (tally.examples.length < 5) tally.examples.push(`get(${JSON.stringify(key)}) resolved ${JSON.stringify(value)}`);
  return true;
}

/**
 * {@link CONCURRENT_GETS} workers, each making {@link ROUNDS} GETs one after
 * the other (worker `w`'s GET `r` reads key `(w + r) % 16`): 32 GETs in flight
 * at all times, and a new one written as soon as one settles, so writes and
 * replies interleave as in production (a round of 32 GETs written at once and
 * awaited together would not show a reply handed to the wrong request: an
 * old server answers the first request of a read and drops the rest). Bounded
 * by counts only. A worker stops at its first TimeoutError: the cell has
 * failed already, and more timeouts (10 s each) would only make the file slow.
 */
async function hammer(client: ZCached): Promise<Tally> {
  const tally = newTally();
  await Promise.all(
    Array.from({ length: CONCURRENT_GETS }, async (_, worker) => {
      for (let round = 0; round < ROUNDS; round++) {
        if (!(await countedGet(client, KEYS[(worker + round) % KEY_COUNT]!, tally))) return;
      }
    }),
  );
  return tally;
}

function clientOptions(port: number, dialect: ClientDialect): ZCachedOptions {
  return dialect === 'default' ? { port, poolSize: 2 } : { port, poolSize: 2, dialect };
}

const cells = CLIENT_DIALECTS.flatMap((dialect) => GENERATIONS.map((generation) => [dialect, generation] as const));

describe('the dialect matrix: every client dialect x every faithful server generation, 32 concurrent GETs over a pool of 2', () => {
  const cleanup = deferredCleanup();
  const { server: startServer, client: newClient } = serversAndClients(cleanup);

  /** A server of `generation` holding the 16 keys, set by a client of its own dialect (closed before the cell's client starts). */
  async function seededServer(generation: DialectName): Promise<ZCachedServer> {
    const server = await startServer({ dialect: generation });
    const seeder = newClient({ port: server.port, poolSize: 1, dialect: generation });
    await seeder.run();
    for (const key of KEYS) expect(await seeder.set(key, valueOf(key))).toBe('OK');
    await seeder.close();
    return server;
  }

  it.each(cells)('client dialect %s, %s server', { timeout: 90_000 }, async (dialect, generation) => {
    const works = dialect === 'default' || dialect === 'auto' || dialect === generation;

    // The 16 keys are there whatever the client under test does with its own SETs.
    const server = await seededServer(generation);
    const client = newClient(clientOptions(server.port, dialect));

    if (works) {
      await client.run();
      const sets = await Promise.allSettled(KEYS.map((key) => client.set(key, valueOf(key))));
      const tally = await hammer(client);

      expect(
        { wrong: tally.wrong, unexpected: tally.unexpected, errors: tally.errors, examples: tally.examples },
        `GETs of a client with dialect ${dialect} against a ${generation} server`,
      ).toEqual({ wrong: 0, unexpected: 0, errors: {}, examples: [] });
      expect(tally.right).toBe(ROUNDS * CONCURRENT_GETS);
      expect(sets.map((outcome) => (outcome.status === 'fulfilled' ? outcome.value : errorName(outcome.reason)))).toEqual(
        KEYS.map(() => 'OK'),
      );
      if (dialect === 'default' || dialect === 'auto') {
        const connections = client.connectionPool.connections;
        expect(connections).toHaveLength(2);
        expect(connections.map((connection) => connection.generation)).toEqual([generation, generation]);
      }
      expect(server.stats.crashes, JSON.stringify(server.crashLog)).toBe(0);
      return;
    }

    // An explicit dialect that is not the server's generation.
    const failure = await client.run().then(
      () => undefined,
      (error: unknown) => error,
    );
    if (failure === undefined) {
      // run() resolved: whatever else, no GET may hand out another key's value.
      const tally = await hammer(client);
      expect({ wrong: tally.wrong, unexpected: tally.unexpected, examples: tally.examples }).toEqual({
        wrong: 0,
        unexpected: 0,
        examples: [],
      });
    }
    expect(failure, `run() of a client given dialect '${dialect}' against a ${generation} server`).toBeInstanceOf(
      DialectMismatchError,
    );
    const mismatch = failure as DialectMismatchError;
    expect(mismatch.code).toBe('EDIALECTMISMATCH');
    expect(mismatch.expected).toBe(dialect);
    expect(mismatch.detected).toBe(generation);
    expect(mismatch.message).toContain(`dialect '${generation}'`);
    expect(mismatch.message).toContain("'auto'");

    // Nothing wrong is handed out afterwards either: every GET rejects with a typed error.
    const after = await Promise.allSettled(
      KEYS.slice(0, GETS_AFTER_MISMATCH).map((key) => Promise.resolve().then(() => client.get(key))),
    );
    for (const outcome of after) {
      expect(outcome.status).toBe('rejected');
      if (outcome.status === 'rejected') expect(outcome.reason).toBeInstanceOf(ZCachedError);
    }
    expect(server.stats.crashes, JSON.stringify(server.crashLog)).toBe(0);
  });
});
