/**
 * Load against faithful embedded servers through a proxy that cuts the byte
 * stream as a real network path may (segments of at most one MSS, coalesced
 * writes cut at any point): zero framing hazards (server crashes) and zero
 * wrong replies, per dialect, pool of 1 and 4, 1 to 512 requests in flight,
 * values from 0 bytes to 64 KB.
 */
import { describe, expect, it } from 'vitest';
import { ZCached } from '../../src/client/client.js';
import { DialectError, ZCachedError } from '../../src/errors.js';
import type { DialectInput, DialectName } from '../../src/protocol/dialect.js';
import { startProxy } from '../../src/testing/proxy.js';
import { startServer } from '../../src/testing/server.js';
import { deferredCleanup, watchUnhandledRejections } from '../support.js';

const cleanup = deferredCleanup();
const unhandled = watchUnhandledRejections();

/** A small deterministic generator (the load is the same on every run). */
function lcg(seed: number): () => number {
  let state = seed;
  return () => (state = (state * 16807) % 2147483647) / 2147483647;
}

/** Value sizes: mostly small, some around a segment, a few up to 64 KB. */
function valueSize(random: () => number, max: number): number {
  const r = random();
  if (r < 0.7) return Math.floor(random() * 200);
  if (r < 0.95) return 200 + Math.floor(random() * 2000);
  return Math.floor(random() * max);
}

interface LoadResult {
  ok: number;
  refused: number;
  wrong: number;
  failed: Map<string, number>;
  crashes: number;
}

/**
 * Runs `total` SET-then-GET pairs in batches of 1 to 512 in flight. Values
 * are letters and digits (valid in every dialect) except the empty one.
 */
async function load(server: { dialect: DialectName }, dialect: DialectInput, poolSize: number, total: number, seed: number): Promise<LoadResult> {
  const target = await startServer({ dialect: server.dialect });
  cleanup.push(() => target.close());
  const proxy = await startProxy({ target: { host: '127.0.0.1', port: target.port } });
  cleanup.push(() => proxy.close());
  const random = lcg(seed);
  proxy.resegment(1448, 'both', random);
  const client = new ZCached({ port: proxy.port, dialect, poolSize, timeoutLimit: 15_000, connectionAttempts: 1000, backoff: { initial: 5, max: 20 } });
  cleanup.push(() => client.close());
  await client.run();
  const maxValue = server.dialect === 'legacy' ? 4000 : 64 * 1024;
  const result: LoadResult = { ok: 0, refused: 0, wrong: 0, failed: new Map(), crashes: 0 };
  let done = 0;
  while (done < total) {
    const inFlight = Math.min(total - done, 1 + Math.floor(random() * 512));
    await Promise.all(
      Array.from({ length: inFlight }, async (_, i) => {
        const key = `key:${done + i}`;
        const size = valueSize(random, maxValue);
        const value = Buffer.alloc(size, 97 + ((done + i) % 26)).toString('latin1') + String(done + i);
        try {
          await client.set(key, size === 0 && random() < 0.5 ? '' : value);
          const back = await client.get(key);
          if (back === value || back === '') result.ok++;
          else result.wrong++;
        } catch (error) {
          if (error instanceof DialectError) result.refused++;
          else {
            const code = error instanceof ZCachedError ? error.code : String(error);
            result.failed.set(code, (result.failed.get(code) ?? 0) + 1);
          }
        }
      }),
    );
    done += inFlight;
  }
  result.crashes = target.stats.crashes;
  return result;
}

describe.each<[DialectName, number]>([
  ['legacy', 1],
  ['legacy', 4],
  ['etx-request', 1],
  ['etx-request', 4],
  ['etx', 1],
  ['etx', 4],
])("'%s', pool of %i, through a resegmenting proxy", (dialect, poolSize) => {
  it('zero framing hazards, zero wrong replies, every request settled', async () => {
    const result = await load({ dialect }, dialect, poolSize, 1500, 7 + poolSize);
    expect(result.crashes, 'framing hazards (the real server would have died)').toBe(0);
    expect(result.wrong).toBe(0);
    expect([...result.failed]).toEqual([]);
    expect(result.ok + result.refused).toBe(1500);
    expect(unhandled).toEqual([]);
  });
});

describe("the old 'etx' send path (pipelining without the policy)", () => {
  it('makes the faithful server crash under the same load: the test above can fail', async () => {
    const old = { base: 'etx', maxWriteBytes: Infinity, maxUnansweredBytes: Infinity } as const;
    const result = await load({ dialect: 'etx' }, old, 1, 1500, 8);
    const seen = `${result.crashes} framing hazards, ${result.ok} ok, failures by code ${JSON.stringify([...result.failed])}`;
    expect(result.crashes, `framing hazards of the old send path (must be > 0, or the test above proves nothing): ${seen}`).toBeGreaterThan(0);
  });
});

describe("the old 'legacy' request limit (4096 bytes, more than one segment)", () => {
  it('gets replies out of step once the network cuts a request: the legacy test above can fail', async () => {
    const old = { base: 'legacy', maxRequestBytes: 4096 } as const;
    const result = await load({ dialect: 'legacy' }, old, 1, 600, 9);
    const seen = `${result.wrong} wrong replies, ${result.ok} ok, failures by code ${JSON.stringify([...result.failed])}`;
    expect(result.wrong, `wrong replies under the old legacy limit (must be > 0, or the legacy test above proves nothing): ${seen}`).toBeGreaterThan(0);
  });
});
