/**
 * The demo's mixed workload: closed-loop workers issuing GET, SET, MGET,
 * MSET and PING through a {@link ZCached} client, each reply checked against
 * a model of what the worker wrote, latencies and errors recorded.
 *
 * @module
 */

import { createHistogram } from 'node:perf_hooks';
import type { ZCached } from '../client/client.js';
import type { Reply } from '../protocol/values.js';

const UNKNOWN: unique symbol = Symbol('unknown');

/** What a run of the workload measured. */
export interface WorkloadResult {
  /** Requests that settled (successes and failures). */
  readonly requests: number;
  /** Requests that resolved with the expected reply. */
  readonly succeeded: number;
  /** Replies that resolved but were not what the worker had written. */
  readonly wrongReplies: number;
  /** Failures by error name (e.g. `ConnectionError`), expected ones included. */
  readonly errors: ReadonlyMap<string, number>;
  /** The failures {@link WorkloadOptions.isExpected} accepted, by error name (a subset of `errors`). */
  readonly expectedErrors: ReadonlyMap<string, number>;
  /** Latency of the settled requests (successes and failures). */
  readonly latency: LatencySummary;
  /** Wall-clock duration, in ms. */
  readonly elapsedMs: number;
}

/** Options of {@link runWorkload}. */
export interface WorkloadOptions {
  /** Concurrent workers (requests in flight). */
  readonly workers: number;
  /** How long to run, in ms. */
  readonly durationMs: number;
  /** Keys per worker. */
  readonly keysPerWorker: number;
  /** Size of the string values, in bytes. */
  readonly valueBytes: number;
  /**
   * What every key starts with: `<keyPrefix>:<worker>:<i>`. Give each run its
   * own (the demo's is `demo:<run id>`), so that values an earlier run left on
   * the server are not read back as this run's. Default `'demo'`.
   */
  readonly keyPrefix?: string;
  /** Called after every settled request (cheap: counts only). */
  readonly onProgress?: (requests: number, failed: number) => void;
  /**
   * Called when a request fails, as it fails: `true` counts the error as
   * expected (e.g. caused by a fault the caller injected on purpose). Default:
   * none is expected.
   */
  readonly isExpected?: (error: Error) => boolean;
}

/** Latency percentiles, in ms (NaN when nothing was recorded). */
export interface LatencySummary {
  /** Requests recorded. */
  readonly count: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

/** Longest latency the histogram holds, in ns (one hour); longer ones are recorded as this. */
const HIGHEST_NS = 3_600_000_000_000;

/**
 * A latency recorder on `perf_hooks.createHistogram()` (an HDR histogram):
 * latencies are recorded as integer nanoseconds with 3 significant digits,
 * so a percentile is within 0.1 % of the recorded value (on top of the
 * microsecond-or-finer resolution of `performance.now()`).
 */
export function latencyRecorder(): { record(ms: number): void; summary(): LatencySummary } {
  const histogram = createHistogram({ lowest: 1, highest: HIGHEST_NS, figures: 3 });
  return {
    record(ms: number): void {
      histogram.record(Math.min(HIGHEST_NS, Math.max(1, Math.round(ms * 1e6))));
    },
    summary(): LatencySummary {
      const count = histogram.count;
      const ms = (ns: number) => (count === 0 ? Number.NaN : ns / 1e6);
      return { count, p50Ms: ms(histogram.percentile(50)), p99Ms: ms(histogram.percentile(99)), maxMs: ms(histogram.max) };
    },
  };
}

/**
 * Runs the workload until `durationMs` has passed. Each worker owns its keys,
 * so it knows exactly what every GET and MGET must return: a key it has not
 * written yet must be missing (hence {@link WorkloadOptions.keyPrefix}: a
 * rerun on the same server needs keys of its own).
 */
export async function runWorkload(client: ZCached, options: WorkloadOptions): Promise<WorkloadResult> {
  const latency = latencyRecorder();
  const errors = new Map<string, number>();
  const expectedErrors = new Map<string, number>();
  let requests = 0;
  let succeeded = 0;
  let wrongReplies = 0;
  const start = performance.now();
  const deadline = start + options.durationMs;
  const prefix = options.keyPrefix ?? 'demo';

  const record = (began: number, ok: boolean | Error) => {
    latency.record(performance.now() - began);
    requests++;
    if (ok === true) succeeded++;
    else if (ok === false) wrongReplies++;
    else {
      errors.set(ok.name, (errors.get(ok.name) ?? 0) + 1);
      if (options.isExpected?.(ok) === true) expectedErrors.set(ok.name, (expectedErrors.get(ok.name) ?? 0) + 1);
    }
    options.onProgress?.(requests, requests - succeeded);
  };

  const worker = async (id: number) => {
    // What each key must hold; UNKNOWN after a write whose outcome is not known (it failed after being sent).
    const model = new Map<string, string | typeof UNKNOWN>();
    const matches = (k: string, actual: Reply | undefined, missing: undefined | null) => {
      const expected = model.get(k);
      return expected === UNKNOWN || actual === (expected ?? missing);
    };
    const key = (i: number) => `${prefix}:${id}:${i}`;
    let counter = 0;
    while (performance.now() < deadline) {
      const roll = Math.random();
      const i = Math.floor(Math.random() * options.keysPerWorker);
      const began = performance.now();
      try {
        if (roll < 0.5) {
          const reply = await client.get(key(i));
          record(began, matches(key(i), reply, undefined));
        } else if (roll < 0.8) {
          const value = `${id}:${counter++}:`.padEnd(options.valueBytes, 'v');
          const reply = await client.set(key(i), value);
          model.set(key(i), value);
          record(began, reply === 'OK');
        } else if (roll < 0.9) {
          const keys = [key(i), key((i + 1) % options.keysPerWorker), key((i + 2) % options.keysPerWorker)];
          const reply = await client.mget(...keys);
          record(began, keys.every((k) => matches(k, reply.get(k), null)));
        } else if (roll < 0.95) {
          const value = `${id}:${counter++}:m`.padEnd(options.valueBytes, 'm');
          const entries: [string, string][] = [
            [key(i), value],
            [key((i + 1) % options.keysPerWorker), value],
          ];
          const reply = await client.mset(entries);
          for (const [k, v] of entries) model.set(k, v);
          record(began, reply === 'OK');
        } else {
          record(began, (await client.ping()) === 'PONG');
        }
      } catch (error) {
        // A write that failed may or may not have been applied.
        if (roll >= 0.5 && roll < 0.8) model.set(key(i), UNKNOWN);
        if (roll >= 0.9 && roll < 0.95) {
          model.set(key(i), UNKNOWN);
          model.set(key((i + 1) % options.keysPerWorker), UNKNOWN);
        }
        record(began, error instanceof Error ? error : new Error(String(error)));
      }
    }
  };

  await Promise.all(Array.from({ length: options.workers }, (_, id) => worker(id)));
  return {
    requests,
    succeeded,
    wrongReplies,
    errors,
    expectedErrors,
    latency: latency.summary(),
    elapsedMs: performance.now() - start,
  };
}
