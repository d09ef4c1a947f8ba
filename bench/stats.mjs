// Small statistics helpers for the benchmarks: latency percentiles (a
// perf_hooks histogram), medians over rounds, and the pair-wise ratios that
// let machine drift cancel.
//
// `median` stays a small sort: it is a statistic over a handful of rounds
// (5 to 15 values, e.g. the per-round ops/s or p99 of a client), not over
// latency samples, and it must average the two middle values of an even
// count, which a histogram (nearest recorded value) does not do.

import { createHistogram } from 'node:perf_hooks';

/** Median of a list of numbers (NaN for an empty list); finite values only. */
export function median(values) {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Minimum and maximum of the finite values ([NaN, NaN] when none). */
export function range(values) {
  const finite = values.filter((v) => Number.isFinite(v));
  if (finite.length === 0) return [Number.NaN, Number.NaN];
  return [Math.min(...finite), Math.max(...finite)];
}

/** Longest latency a LatencyHistogram holds, in ns (one minute); longer ones are recorded as this. */
const HIGHEST_NS = 60_000_000_000;

/**
 * Latency percentiles from `perf_hooks.createHistogram()` (an HDR
 * histogram): each latency is recorded as an integer number of nanoseconds,
 * with 3 significant digits, so a percentile is within 0.1 % of the value
 * recorded (performance.now() itself resolves to a microsecond or better).
 */
export class LatencyHistogram {
  #histogram = createHistogram({ lowest: 1, highest: HIGHEST_NS, figures: 3 });

  /** Records one latency, in ms. */
  record(ms) {
    this.#histogram.record(Math.min(HIGHEST_NS, Math.max(1, Math.round(ms * 1e6))));
  }

  /** Records the first `count` latencies (ms) of a Float64Array. */
  recordAll(samples, count = samples.length) {
    const n = Math.min(count, samples.length);
    for (let i = 0; i < n; i++) this.record(samples[i]);
  }

  get count() {
    return this.#histogram.count;
  }

  /** The percentiles (each in [0, 100]) in ms; NaN when nothing was recorded. */
  percentilesMs(ps) {
    return ps.map((p) => (this.#histogram.count === 0 ? Number.NaN : this.#histogram.percentile(p) / 1e6));
  }

  reset() {
    this.#histogram.reset();
  }
}

/**
 * The ratio of two series measured in the same rounds: the median over
 * rounds of `ours[i] / theirs[i]`. Each pair ran seconds apart, so a slow
 * spell of the machine hits both sides of a pair and cancels out.
 */
export function pairedRatio(ours, theirs) {
  const ratios = [];
  for (let i = 0; i < Math.min(ours.length, theirs.length); i++) {
    if (Number.isFinite(ours[i]) && Number.isFinite(theirs[i]) && theirs[i] > 0) ratios.push(ours[i] / theirs[i]);
  }
  return median(ratios);
}

/** All the paired ratios, for spread reporting. */
export function pairedRatios(ours, theirs) {
  const ratios = [];
  for (let i = 0; i < Math.min(ours.length, theirs.length); i++) {
    if (Number.isFinite(ours[i]) && Number.isFinite(theirs[i]) && theirs[i] > 0) ratios.push(ours[i] / theirs[i]);
  }
  return ratios;
}

/** 1234567 → '1.23M', 45678 → '45.7k'. */
export function formatRate(value) {
  if (!Number.isFinite(value)) return '-';
  if (value >= 1e6) return `${(value / 1e6).toFixed(2)}M`;
  if (value >= 1e3) return `${(value / 1e3).toFixed(1)}k`;
  return value.toFixed(0);
}

/** Milliseconds with a sensible precision: 0.0123 → '12.3µs', 1.5 → '1.50ms'. */
export function formatMs(value) {
  if (!Number.isFinite(value)) return '-';
  if (value < 1) return `${(value * 1000).toFixed(value < 0.1 ? 1 : 0)}µs`;
  if (value < 10) return `${value.toFixed(2)}ms`;
  return `${value.toFixed(1)}ms`;
}

/** 1.234 → '1.23×'. */
export function formatRatio(value) {
  return Number.isFinite(value) ? `${value.toFixed(2)}×` : '-';
}
