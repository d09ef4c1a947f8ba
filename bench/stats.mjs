// Small statistics helpers for the benchmarks: medians, percentiles, and the
// pair-wise ratios that let machine drift cancel.

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

/**
 * Percentiles of the first `count` samples of a Float64Array (nearest rank).
 * Sorts a copy; the samples are left as they are.
 * @param {Float64Array} samples
 * @param {number} count
 * @param {number[]} ps - percentiles in [0, 100]
 * @returns {number[]} one value per requested percentile (NaN when count is 0)
 */
export function percentiles(samples, count, ps) {
  const n = Math.min(count, samples.length);
  if (n === 0) return ps.map(() => Number.NaN);
  const sorted = samples.slice(0, n).sort();
  return ps.map((p) => {
    const rank = Math.ceil((p / 100) * n);
    return sorted[Math.min(n - 1, Math.max(0, rank - 1))];
  });
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
