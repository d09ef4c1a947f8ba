// The command lines of the bench scripts, each parsed with node:util parseArgs
// in strict mode: an unknown flag, a flag without its value or a stray
// argument is a UsageError, which `cli()` prints with the script's usage
// before exiting with code 2. `--help` (`-h`) prints the usage and exits 0.
//
// The parse functions are pure (argv and env in, settings out) so that
// test/demo/bench-args.test.ts can check them without running a benchmark.

import { parseArgs } from 'node:util';

/** A command line a script cannot run with. */
export class UsageError extends Error {
  name = 'UsageError';
  code = 'ERR_BENCH_USAGE';
}

/** What a parse function returns for `--help`. */
export const HELP = Object.freeze({ help: true });

/** `parseArgs` in strict mode, without positionals; its errors become UsageError. `help`/`-h` is added. */
function strict(argv, options) {
  try {
    return parseArgs({ args: [...argv], options: { ...options, help: { type: 'boolean', short: 'h' } }, strict: true, allowPositionals: false }).values;
  } catch (error) {
    throw new UsageError(error.message, { cause: error });
  }
}

/**
 * `text` as a number, or `fallback` when absent.
 * @param {{ min?: number, above?: number, integer?: boolean, what?: string }} rule
 */
export function numberArg(name, text, fallback, { min, above, integer = false, what } = {}) {
  if (text === undefined) return fallback;
  const value = Number(text);
  const ok =
    text.trim() !== '' &&
    Number.isFinite(value) &&
    (!integer || Number.isSafeInteger(value)) &&
    (min === undefined || value >= min) &&
    (above === undefined || value > above);
  if (!ok) {
    const bound = min !== undefined ? ` >= ${min}` : above !== undefined ? ` > ${above}` : '';
    throw new UsageError(`${name} must be ${what ?? `${integer ? 'an integer' : 'a number'}${bound}`}, got ${JSON.stringify(text)}`);
  }
  return value;
}

function oneOf(name, text, allowed) {
  if (text === undefined || allowed.includes(text)) return text;
  throw new UsageError(`${name} must be one of ${allowed.join(', ')}, got ${JSON.stringify(text)}`);
}

// ---- bench/compare.mjs -------------------------------------------------------------

export const COMPARE_USAGE = `usage: node bench/compare.mjs [--embedded] [--only ids] [--op GET|SET] [--size 100|10240] [--in-flight 1|16|256] [--seconds s] [--rounds n]
  --embedded     our client on the embedded server (in a child process) instead of the comparison on redis-server
  --only         client ids, comma-separated: zc1, zc4, node-redis, node-redis-nt, ioredis, ioredis-ap (embedded: zc1, zc4, zc1-old, zc4-old)
  --op, --size, --in-flight   one column of the grid
  --seconds      seconds per timed run (default BENCH_SECONDS, else 0.15; BENCH_QUICK=1: 0.1)
  --rounds       rounds per cell (default BENCH_ROUNDS, else 15; BENCH_QUICK=1: 5)
  (--serve-embedded <dialect> is internal: the child process that serves the embedded server)`;

/** bench/compare.mjs. */
export function parseCompareArgs(argv) {
  const v = strict(argv, {
    only: { type: 'string' },
    op: { type: 'string' },
    size: { type: 'string' },
    'in-flight': { type: 'string' },
    seconds: { type: 'string' },
    rounds: { type: 'string' },
    embedded: { type: 'boolean' },
    'serve-embedded': { type: 'string' },
  });
  if (v.help) return HELP;
  const op = v.op?.toUpperCase();
  return {
    only: v.only?.split(',').filter((id) => id !== ''),
    op: oneOf('--op', op, ['GET', 'SET']),
    size: v.size === undefined ? undefined : Number(oneOf('--size', v.size, ['100', '10240'])),
    inFlight: v['in-flight'] === undefined ? undefined : Number(oneOf('--in-flight', v['in-flight'], ['1', '16', '256'])),
    seconds: numberArg('--seconds', v.seconds, undefined, { above: 0 }),
    rounds: numberArg('--rounds', v.rounds, undefined, { min: 1, integer: true }),
    embedded: v.embedded === true,
    serveEmbedded: oneOf('--serve-embedded', v['serve-embedded'], ['legacy', 'etx-request', 'etx']),
  };
}

// ---- bench/connection.mjs ----------------------------------------------------------

export const CONNECTION_USAGE = `usage: node bench/connection.mjs [--seconds s] [--warmup s]
  --seconds   measured seconds per cell (default 2.5)
  --warmup    warm-up seconds per cell (default 0.5)`;

/** bench/connection.mjs. */
export function parseConnectionArgs(argv) {
  const v = strict(argv, { seconds: { type: 'string' }, warmup: { type: 'string' } });
  if (v.help) return HELP;
  return { seconds: numberArg('--seconds', v.seconds, 2.5, { above: 0 }), warmup: numberArg('--warmup', v.warmup, 0.5, { min: 0 }) };
}

// ---- bench/fleet.mjs ---------------------------------------------------------------

export const FLEET_USAGE = `usage: node bench/fleet.mjs [--only placement|throughput|replicas] [--servers n] [--in-flight n] [--rounds n] [--seconds s]
  --only       one part of the report (default all three):
               placement   balance, weights, movement, cost of placement (k = 1 and k = 2); no sockets
               throughput  a fleet of 3 embedded servers vs one server
               replicas    one fleet of --servers embedded servers with replicas: 1 vs 2 vs 3, SET and GET
  --servers    embedded servers of the replicas part (default 4; at least 3)
  --in-flight  requests in flight (closed loops) in the throughput and replicas cells (default 256)
  --rounds     rounds of those cells, the clients' order reversed every other round (default 7; BENCH_QUICK=1: 3)
  --seconds    seconds per client per round (default 1; BENCH_QUICK=1: 0.4)`;

/** bench/fleet.mjs. */
export function parseFleetArgs(argv, env = process.env) {
  const v = strict(argv, {
    only: { type: 'string' },
    servers: { type: 'string' },
    'in-flight': { type: 'string' },
    rounds: { type: 'string' },
    seconds: { type: 'string' },
  });
  if (v.help) return HELP;
  const quick = env.BENCH_QUICK === '1';
  return {
    only: oneOf('--only', v.only, ['placement', 'throughput', 'replicas']),
    quick,
    servers: numberArg('--servers', v.servers, 4, { min: 3, integer: true }),
    inFlight: numberArg('--in-flight', v['in-flight'], 256, { min: 1, integer: true }),
    rounds: numberArg('--rounds', v.rounds, quick ? 3 : 7, { min: 1, integer: true }),
    seconds: numberArg('--seconds', v.seconds, quick ? 0.4 : 1, { above: 0 }),
  };
}

// ---- bench/mixed.mjs ---------------------------------------------------------------

export const MIXED_USAGE = `usage: node bench/mixed.mjs [--pools list] [--shares list] [--mix loops|issued] [--rounds n] [--seconds s] [--in-flight n] [--latency ms]
  --pools       pool sizes, comma-separated (default 1,4,8)
  --shares      shares of 10 KB SETs, in percent, comma-separated (default 0,1,10,30;
                0, the all-small baseline of the ratios, is always run)
  --mix         what a share counts (default loops):
                loops   a share of the loops send 10 KB SETs, the others 100 B GETs (each loop keeps its kind:
                        do large writers stall the small readers beside them?)
                issued  each loop's next request is a SET with that probability (a share of the requests
                        issued: small GETs/s is then tied to 9x large SETs/s, whatever the scheduling)
  --rounds      rounds; each runs every cell once, in a rotated order (default 5; BENCH_QUICK=1: 3)
  --seconds     seconds per cell per round (default 1; BENCH_QUICK=1: 0.3)
  --in-flight   closed loops, i.e. requests in flight (default 128)
  --latency     one-way delay of the proxy, ms, each direction (default 0.25: a 0.5 ms round trip)
  --large-connections  the client's largeRequestConnections (default: the client's, a quarter of the pool, at least 1)
  (--serve is internal: the child process that serves the faithful 'etx' embedded server)`;

/** A comma-separated list of numbers, each checked by `numberArg`, without duplicates, in the order given. */
function numberList(name, text, fallback, rule) {
  if (text === undefined) return fallback;
  const items = text.split(',');
  if (items.some((item) => item.trim() === '')) throw new UsageError(`${name} must be a comma-separated list, got ${JSON.stringify(text)}`);
  return [...new Set(items.map((item) => numberArg(name, item, undefined, rule)))];
}

/** bench/mixed.mjs. */
export function parseMixedArgs(argv, env = process.env) {
  const v = strict(argv, {
    pools: { type: 'string' },
    shares: { type: 'string' },
    rounds: { type: 'string' },
    seconds: { type: 'string' },
    'in-flight': { type: 'string' },
    latency: { type: 'string' },
    mix: { type: 'string' },
    'large-connections': { type: 'string' },
    serve: { type: 'boolean' },
  });
  if (v.help) return HELP;
  const quick = env.BENCH_QUICK === '1' || env.BENCH_QUICK === 'true';
  const pools = numberList('--pools', v.pools, [1, 4, 8], { min: 1, integer: true, what: 'a list of positive integers' });
  const shares = numberList('--shares', v.shares, [0, 1, 10, 30], { min: 0, what: 'a list of percentages in [0, 100)' });
  if (shares.some((share) => share >= 100)) throw new UsageError(`--shares must be a list of percentages in [0, 100), got ${JSON.stringify(v.shares)}`);
  return {
    pools,
    shares: shares.includes(0) ? shares : [0, ...shares],
    rounds: numberArg('--rounds', v.rounds, quick ? 3 : 5, { min: 1, integer: true }),
    seconds: numberArg('--seconds', v.seconds, quick ? 0.3 : 1, { above: 0 }),
    inFlight: numberArg('--in-flight', v['in-flight'], 128, { min: 1, integer: true }),
    latency: numberArg('--latency', v.latency, 0.25, { min: 0 }),
    mix: oneOf('--mix', v.mix, ['loops', 'issued']) ?? 'loops',
    largeConnections: numberArg('--large-connections', v['large-connections'], undefined, { min: 1, integer: true }),
    quick,
    serve: v.serve === true,
  };
}

// ---- scripts without flags: run, decoder, least-loaded, redis-server -----------------

export const RUN_USAGE = `usage: npm run bench   (node bench/run.mjs; no flags)
  BENCH_QUICK=1     about two minutes (5 rounds of 0.1 s; the mixed workload 3 rounds of 0.3 s per cell)
  BENCH_ROUNDS=n    rounds per cell (not the mixed workload: 5 rounds of 1 s; see bench/mixed.mjs)
  BENCH_SECONDS=s   seconds per client per run
  REDIS_SERVER=path the redis-server binary (default: the one on PATH)`;
export const DECODER_USAGE = 'usage: node bench/decoder.mjs   (no flags; npm run build first)';
export const LEAST_LOADED_USAGE = 'usage: node bench/least-loaded.mjs   (no flags; npm run build first)';
export const REDIS_SERVER_USAGE = 'usage: node bench/redis-server.mjs   (no flags; REDIS_SERVER=path picks the binary; Ctrl-C stops it)';

/** A script that takes no flag: only `--help`. */
export function parseNoArgs(argv) {
  const v = strict(argv, {});
  return v.help ? HELP : {};
}

// ---- bench/soak.mjs ----------------------------------------------------------------

export const SOAK_USAGE = `usage: node --expose-gc bench/soak.mjs [--minutes m] [--workers n] [--seed n] [--outage seconds] [--flood requests/s]
  --minutes   length of the load (default SOAK_MINUTES, else 10)
  --workers   closed-loop workers (default 16)
  --seed      seed of the operations and faults (default: from the clock)
  --outage    a full outage of that many seconds in the middle (default 10; 0: none)
  --flood     open-loop ECHOs per second during the outage (default 2000; 0: none)
  (see the header of bench/soak.mjs)`;

/** bench/soak.mjs; `now` seeds the default seed. */
export function parseSoakArgs(argv, env = process.env, now = Date.now()) {
  const v = strict(argv, {
    minutes: { type: 'string' },
    workers: { type: 'string' },
    seed: { type: 'string' },
    outage: { type: 'string' },
    flood: { type: 'string' },
  });
  if (v.help) return HELP;
  const minutes = numberArg('--minutes', v.minutes ?? env.SOAK_MINUTES, 10, { above: 0, what: 'a positive number (also SOAK_MINUTES)' });
  const workers = numberArg('--workers', v.workers, 16, { min: 1, integer: true, what: 'a positive integer' });
  const seed = numberArg('--seed', v.seed, now % 2 ** 31, { integer: true, what: 'an integer' });
  const outage = numberArg('--outage', v.outage, 10, { min: 0, what: 'a number of seconds >= 0 (0: no outage)' });
  const flood = numberArg('--flood', v.flood, 2_000, { min: 0, what: 'a number of requests per second >= 0 (0: no flood)' });
  // Room for a baseline before the outage and for "after" samples once it is over.
  if (outage > 0 && outage * 1_000 > (minutes * 60_000) / 3) {
    throw new UsageError(`--outage ${outage} s is too long for a ${minutes} min run: at most a third of it (${Math.floor(minutes * 20)} s)`);
  }
  return { minutes, workers, seed, outage, flood };
}

// ---- running it ----------------------------------------------------------------------

/**
 * Parses `process.argv` with `parse`: on a UsageError prints `name: message`
 * and the usage to stderr and exits 2; on `--help` prints the usage and
 * exits 0; otherwise returns the settings.
 */
export function cli(name, usage, parse, argv = process.argv.slice(2)) {
  let result;
  try {
    result = parse(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`${name}: ${error.message}\n${usage}\n`);
    process.exit(2);
  }
  if (result === HELP) {
    process.stdout.write(`${usage}\n`);
    process.exit(0);
  }
  return result;
}
