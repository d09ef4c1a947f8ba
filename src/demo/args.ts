/**
 * The command line of the demo (`npm start -- [options]`, `node
 * dist/demo/main.js [options]`, `node dist/demo/fleet.js [options]`):
 * parsed with `node:util` `parseArgs` in strict mode, so a misspelt flag is
 * an error (exit code 2, with the usage) rather than silently ignored.
 *
 * @module
 */

import { parseArgs } from 'node:util';
import { MAX_REPLICAS } from '../fleet/placement.js';
import type { DemoDialect } from './generation.js';

const DIALECTS: readonly DemoDialect[] = ['auto', 'legacy', 'etx-request', 'etx'];

/** The usage text of `npm start`. */
export const DEMO_USAGE = [
  'usage: npm start -- [--dialect auto|legacy|etx-request|etx] [--duration seconds] [--pool size] [--workers n]',
  '       npm start -- --fleet 3 [--failover fail-fast|rehash] [--duration seconds]   (a fleet of embedded servers)',
  '       npm start -- --fleet 3 --replicas 2 [--duration seconds]   (each key on 2 servers: one is lost, nothing missed)',
  '       ZCACHED_URL=host:port npm start   (use a running server instead of the embedded one)',
  '',
  '  --dialect    the client\'s dialect (default auto: it finds the server\'s generation at connect), and the',
  '               generation the embedded server(s) play (etx for auto); with --fleet too',
  '  --duration   length of the run, in seconds (default 4)',
  '  --pool       connections in the pool (default 4)',
  '  --workers    requests in flight (default 64; 32 with --fleet)',
  '  --fleet      run over a fleet of n embedded servers (n >= 2) instead of one server',
  '  --failover   with --fleet: what happens to a stopped server\'s keys (default fail-fast; not with --replicas > 1)',
  '  --replicas   with --fleet: copies of each key (default 1; at most 16 and n); above 1, a server is stopped and',
  '               comes back empty while reads and writes go on: no error, no miss, no stale value',
  '  -h, --help   this text',
].join('\n');

/** The usage text of `node dist/demo/fleet.js`. */
export const FLEET_DEMO_USAGE = [
  'usage: node dist/demo/fleet.js [--servers n] [--duration seconds] [--workers n] [--failover fail-fast|rehash] [--replicas k]',
  '  (the same as npm start -- --fleet n)',
].join('\n');

/** A command line the demo cannot run with: the caller prints the message and the usage, and exits with code 2. */
export class DemoUsageError extends Error {
  override readonly name = 'DemoUsageError';
  readonly code = 'ERR_DEMO_USAGE';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** What `npm start` was asked to do. */
export interface DemoSettings {
  /** `ZCACHED_URL` (`host:port`): a running server instead of the embedded one. */
  readonly url: string | undefined;
  /** The client's dialect; the embedded server plays its generation (`'etx'` for `'auto'`). */
  readonly dialect: DemoDialect;
  /** Length of the run, in ms. */
  readonly durationMs: number;
  readonly poolSize: number;
  /** Requests in flight. */
  readonly workers: number;
  /** `--fleet n`: the demo over a fleet of n embedded servers instead of one pool. */
  readonly fleet: number | undefined;
  readonly failover: 'fail-fast' | 'rehash';
  /** `--replicas k` (with `--fleet`): copies of each key; above 1, the fleet demo runs the replicas scenario. Default 1. */
  readonly replicas: number;
}

/** The outcome of parsing: settings to run with, or the usage to print (for `--help`). */
export type DemoCommand = { readonly kind: 'run'; readonly settings: DemoSettings } | { readonly kind: 'help'; readonly usage: string };

/** Runs a strict `parseArgs`, its errors (unknown flag, missing value, stray positional) turned into {@link DemoUsageError}. */
function asUsageError<T>(parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    throw new DemoUsageError(error instanceof Error ? error.message : String(error), { cause: error });
  }
}

function numberOption(name: string, text: string, min: number, integer: boolean): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n) || n < min || (integer && !Number.isInteger(n))) {
    throw new DemoUsageError(`--${name} must be ${integer ? 'an integer' : 'a number'} >= ${min}, got ${JSON.stringify(text)}`);
  }
  return n;
}

function failoverOption(text: string): 'fail-fast' | 'rehash' {
  if (text !== 'fail-fast' && text !== 'rehash') throw new DemoUsageError(`--failover must be fail-fast or rehash, got ${JSON.stringify(text)}`);
  return text;
}

/**
 * `--replicas k` for a fleet of `servers`: an integer from 1 to `MAX_REPLICAS` (16), at most
 * `servers`; `--failover` does not go with k > 1 (the fleet refuses it: reads
 * fail over between a key's replicas).
 */
function replicasOption(text: string | undefined, servers: number, failover: string | undefined, serversFlag: string): number {
  if (text === undefined) return 1;
  const k = numberOption('replicas', text, 1, true);
  if (k > MAX_REPLICAS) throw new DemoUsageError(`--replicas must be at most ${MAX_REPLICAS}, got ${JSON.stringify(text)}`);
  if (k > servers) throw new DemoUsageError(`--replicas ${k} needs at least ${k} servers, got ${serversFlag} ${servers}`);
  if (k > 1 && failover !== undefined) {
    throw new DemoUsageError(`--failover applies to --replicas 1; with --replicas ${k} a stopped server's keys are read from their other replicas (leave --failover out)`);
  }
  return k;
}

/**
 * `ZCACHED_URL` as host and port: `host:port`, `zcached://host:port`, `[::1]:port`.
 * @throws DemoUsageError when it has another shape
 */
export function parseServerAddress(url: string): { host: string; port: number } {
  const match = /^(?:zcached:\/\/)?(\[[^\]]+\]|[^:/]+):(\d+)$/.exec(url.trim());
  const port = Number(match?.[2]);
  if (match === null || port < 1 || port > 65_535) throw new DemoUsageError(`ZCACHED_URL must look like host:port, got ${JSON.stringify(url)}`);
  return { host: (match[1] as string).replace(/^\[|\]$/g, ''), port };
}

/**
 * Parses the demo's arguments (`process.argv.slice(2)`) and environment.
 * Defaults: dialect `'auto'`, 4 s, pool of 4, 64 requests
 * in flight (32 with `--fleet`), failover `'fail-fast'`.
 * @throws DemoUsageError for an unknown flag, a stray argument, a bad value or a malformed `ZCACHED_URL`
 */
export function parseDemoArgs(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): DemoCommand {
  const { values } = asUsageError(() =>
    parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        dialect: { type: 'string' },
        duration: { type: 'string' },
        pool: { type: 'string' },
        workers: { type: 'string' },
        fleet: { type: 'string' },
        failover: { type: 'string' },
        replicas: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }),
  );
  if (values.help === true) return { kind: 'help', usage: DEMO_USAGE };
  const dialect = (values.dialect ?? 'auto') as DemoDialect;
  if (!DIALECTS.includes(dialect)) throw new DemoUsageError(`--dialect must be one of ${DIALECTS.join(', ')}, got ${JSON.stringify(values.dialect)}`);
  const fleet = values.fleet === undefined ? undefined : numberOption('fleet', values.fleet, 2, true);
  if (fleet === undefined && values.failover !== undefined) throw new DemoUsageError('--failover only applies with --fleet <n>');
  if (fleet === undefined && values.replicas !== undefined) throw new DemoUsageError('--replicas only applies with --fleet <n>');
  const replicas = fleet === undefined ? 1 : replicasOption(values.replicas, fleet, values.failover, '--fleet');
  const url = env['ZCACHED_URL'] || undefined;
  if (url !== undefined) parseServerAddress(url);
  return {
    kind: 'run',
    settings: {
      url,
      dialect,
      durationMs: numberOption('duration', values.duration ?? '4', 0.5, false) * 1000,
      poolSize: numberOption('pool', values.pool ?? '4', 1, true),
      workers: numberOption('workers', values.workers ?? (fleet === undefined ? '64' : '32'), 1, true),
      fleet,
      failover: failoverOption(values.failover ?? 'fail-fast'),
      replicas,
    },
  };
}

/** What `node dist/demo/fleet.js` was asked to do. */
export interface FleetDemoArgs {
  readonly servers: number;
  /** Length of the run, in ms. */
  readonly durationMs: number;
  readonly workers: number;
  readonly failover: 'fail-fast' | 'rehash';
  /** Copies of each key; above 1, the replicas scenario. */
  readonly replicas: number;
}

/**
 * Parses the arguments of `node dist/demo/fleet.js`. Defaults: 3 servers, 6 s,
 * 32 requests in flight, `'fail-fast'`, 1 replica.
 * @throws DemoUsageError for an unknown flag, a stray argument or a bad value
 */
export function parseFleetDemoArgs(argv: readonly string[]): { readonly kind: 'run'; readonly settings: FleetDemoArgs } | { readonly kind: 'help'; readonly usage: string } {
  const { values } = asUsageError(() =>
    parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        servers: { type: 'string' },
        duration: { type: 'string' },
        workers: { type: 'string' },
        failover: { type: 'string' },
        replicas: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }),
  );
  if (values.help === true) return { kind: 'help', usage: FLEET_DEMO_USAGE };
  const servers = numberOption('servers', values.servers ?? '3', 2, true);
  return {
    kind: 'run',
    settings: {
      servers,
      durationMs: numberOption('duration', values.duration ?? '6', 0.5, false) * 1000,
      workers: numberOption('workers', values.workers ?? '32', 1, true),
      failover: failoverOption(values.failover ?? 'fail-fast'),
      replicas: replicasOption(values.replicas, servers, values.failover, '--servers'),
    },
  };
}
