// Types of bench/args.mjs, for the TypeScript tests that import it.

export declare class UsageError extends Error {
  name: 'UsageError';
  code: 'ERR_BENCH_USAGE';
}
export declare const HELP: { readonly help: true };
export declare function numberArg(
  name: string,
  text: string | undefined,
  fallback: number | undefined,
  rule?: { min?: number; above?: number; integer?: boolean; what?: string },
): number | undefined;

export declare const COMPARE_USAGE: string;
export declare function parseCompareArgs(argv: readonly string[]):
  | typeof HELP
  | {
      only: string[] | undefined;
      op: 'GET' | 'SET' | undefined;
      size: number | undefined;
      inFlight: number | undefined;
      seconds: number | undefined;
      rounds: number | undefined;
      embedded: boolean;
      serveEmbedded: string | undefined;
    };
export declare const CONNECTION_USAGE: string;
export declare function parseConnectionArgs(argv: readonly string[]): typeof HELP | { seconds: number; warmup: number };
export declare const FLEET_USAGE: string;
export declare function parseFleetArgs(
  argv: readonly string[],
  env?: Record<string, string | undefined>,
): typeof HELP | { only: 'placement' | 'throughput' | 'replicas' | undefined; quick: boolean; servers: number; inFlight: number; rounds: number; seconds: number };
export declare const MIXED_USAGE: string;
export declare function parseMixedArgs(
  argv: readonly string[],
  env?: Record<string, string | undefined>,
):
  | typeof HELP
  | { pools: number[]; shares: number[]; rounds: number; seconds: number; inFlight: number; latency: number; mix: 'loops' | 'issued'; largeConnections: number | undefined; quick: boolean; serve: boolean };
export declare const RUN_USAGE: string;
export declare const DECODER_USAGE: string;
export declare const LEAST_LOADED_USAGE: string;
export declare const REDIS_SERVER_USAGE: string;
export declare function parseNoArgs(argv: readonly string[]): typeof HELP | Record<string, never>;
export declare const SOAK_USAGE: string;
export declare function parseSoakArgs(
  argv: readonly string[],
  env?: Record<string, string | undefined>,
  now?: number,
): typeof HELP | { minutes: number; workers: number; seed: number; outage: number; flood: number };
export declare function cli<T>(name: string, usage: string, parse: (argv: readonly string[]) => T | typeof HELP, argv?: readonly string[]): T;
