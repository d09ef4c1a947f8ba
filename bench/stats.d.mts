// Types of bench/stats.mjs, for the TypeScript tests that import it.

export declare function median(values: readonly number[]): number;
export declare function range(values: readonly number[]): [number, number];
export declare class LatencyHistogram {
  record(ms: number): void;
  recordAll(samples: Float64Array, count?: number): void;
  readonly count: number;
  percentilesMs(ps: readonly number[]): number[];
  reset(): void;
}
export declare function pairedRatio(ours: readonly number[], theirs: readonly number[]): number;
export declare function pairedRatios(ours: readonly number[], theirs: readonly number[]): number[];
export declare function formatRate(value: number): string;
export declare function formatMs(value: number): string;
export declare function formatRatio(value: number): string;
