/**
 * `zcached latency [url]`: round trips sampled one after another (a PING,
 * then `--interval` ms of rest), until Ctrl-C (SIGINT), `--samples N` or
 * `--seconds S`. On a terminal a live line shows min / avg / max so far;
 * at the end, the summary with percentiles and a histogram of the round
 * trips in power-of-two buckets. The statistics come from
 * `perf_hooks.createHistogram()` (nanosecond samples).
 *
 * @module
 */

import { createHistogram, performance, type RecordableHistogram } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { AbortError } from '../errors.js';
import type { CliSettings, LatencySettings } from './args.js';
import { createCliClient } from './connect.js';
import { failureText } from './errors.js';
import type { CliIo } from './io.js';

/** One histogram bucket: round trips up to `upToMs` (and over the previous bucket's bound). */
export interface LatencyBucket {
  readonly upToMs: number;
  readonly count: number;
}

/** What a latency run measured, in milliseconds (also its `--json` output). */
export interface LatencySummary {
  readonly samples: number;
  readonly min: number;
  readonly avg: number;
  readonly max: number;
  readonly p50: number;
  readonly p99: number;
  /** From the first bucket with a sample to the last one. */
  readonly histogram: readonly LatencyBucket[];
}

/** Round trips, in a `perf_hooks` histogram (nanoseconds) and power-of-two microsecond buckets. */
export class LatencyRecorder {
  readonly #histogram: RecordableHistogram = createHistogram();
  /** `counts[k]`: round trips over 2^(k-1) µs and up to 2^k µs (k = 0: up to 1 µs). */
  readonly #counts: number[] = [];

  /** Records one round trip of `ns` nanoseconds (at least 1). */
  record(ns: number): void {
    const value = Math.max(1, Math.round(ns));
    this.#histogram.record(value);
    const bucket = Math.max(0, Math.ceil(Math.log2(value / 1000)));
    this.#counts[bucket] = (this.#counts[bucket] ?? 0) + 1;
  }

  /** How many round trips were recorded. */
  get samples(): number {
    return this.#histogram.count;
  }

  /** The statistics so far (all 0 and no buckets before the first sample). */
  summary(): LatencySummary {
    const h = this.#histogram;
    const ms = (ns: number): number => (h.count === 0 ? 0 : ns / 1e6);
    const first = this.#counts.findIndex((count) => count !== undefined && count > 0);
    const histogram: LatencyBucket[] = [];
    if (first !== -1) {
      for (let k = first; k < this.#counts.length; k++) histogram.push({ upToMs: 2 ** k / 1000, count: this.#counts[k] ?? 0 });
    }
    return { samples: h.count, min: ms(h.min), avg: ms(h.mean), max: ms(h.max), p50: ms(h.percentile(50)), p99: ms(h.percentile(99)), histogram };
  }
}

/** `min 0.081 ms, avg 0.152 ms, max 1.204 ms (1000 samples)`. */
export function formatStats(summary: LatencySummary): string {
  if (summary.samples === 0) return 'no samples';
  const f = (ms: number): string => `${ms.toFixed(3)} ms`;
  return `min ${f(summary.min)}, avg ${f(summary.avg)}, max ${f(summary.max)} (${summary.samples} sample${summary.samples === 1 ? '' : 's'})`;
}

/** The summary, its percentiles and a bar per bucket (`<= 0.256 ms |#### 31`). */
export function formatSummary(summary: LatencySummary): string {
  if (summary.samples === 0) return 'no samples';
  const top = Math.max(...summary.histogram.map((bucket) => bucket.count));
  const labels = summary.histogram.map((bucket) => `<= ${bucket.upToMs} ms`);
  const width = Math.max(...labels.map((label) => label.length));
  const bars = summary.histogram.map(
    (bucket, i) => `${labels[i]!.padEnd(width)} |${'#'.repeat(Math.ceil((bucket.count / top) * 40))} ${bucket.count}`,
  );
  return [formatStats(summary), `p50 ${summary.p50.toFixed(3)} ms, p99 ${summary.p99.toFixed(3)} ms`, ...bars].join('\n');
}

/**
 * Samples round trips until SIGINT, `--samples` or `--seconds`, then prints
 * the summary (stdout) and closes the client. The SIGINT listener is
 * removed at the end, so a second Ctrl-C afterwards ends the process as usual.
 * @returns the exit code: 0; 2 when the server could not be reached or a PING failed (the summary so far is printed first)
 */
export async function runLatency(settings: CliSettings, latency: LatencySettings, io: CliIo): Promise<number> {
  const stop = new AbortController();
  const onSigint = (): void => stop.abort();
  const deadline = latency.seconds === undefined ? undefined : setTimeout(() => stop.abort(), latency.seconds * 1000);
  process.on('SIGINT', onSigint);
  const recorder = new LatencyRecorder();
  let cli;
  let failure: unknown;
  try {
    cli = createCliClient(settings, false);
    await cli.client.run();
    io.stderr.write(`round trips to ${cli.address}, a PING every ${latency.intervalMs} ms; Ctrl-C stops\n`);
    let shown = 0;
    while (!stop.signal.aborted && (latency.samples === undefined || recorder.samples < latency.samples)) {
      const start = process.hrtime.bigint();
      try {
        await cli.client.ping({ signal: stop.signal });
      } catch (error) {
        if (error instanceof AbortError) break;
        throw error;
      }
      recorder.record(Number(process.hrtime.bigint() - start));
      if (io.stdout.isTTY === true && performance.now() - shown > 100) {
        shown = performance.now();
        io.stdout.write(`\r\x1b[2K${formatStats(recorder.summary())}`);
      }
      if (latency.samples !== undefined && recorder.samples >= latency.samples) break;
      await sleep(latency.intervalMs, undefined, { signal: stop.signal }).catch(() => undefined);
    }
  } catch (error) {
    failure = error;
  } finally {
    process.off('SIGINT', onSigint);
    clearTimeout(deadline);
    await cli?.client.close({ force: true });
  }
  if (io.stdout.isTTY === true) io.stdout.write('\r\x1b[2K');
  if (cli !== undefined && (failure === undefined || recorder.samples > 0)) {
    const summary = recorder.summary();
    io.stdout.write(`${settings.output === 'json' ? JSON.stringify(summary) : formatSummary(summary)}\n`);
  }
  if (failure === undefined) return 0;
  io.stderr.write(`zcached: ${failureText(failure, cli?.address)}\n`);
  return 2;
}
