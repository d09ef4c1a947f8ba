/**
 * The command line of `zcached` (the package's `bin`), read with
 * `node:util` `parseArgs` in strict mode: an unknown flag is refused (exit
 * code 2) rather than ignored.
 *
 * ```text
 * zcached [options] [url] [command [argument ...]]   one command, or the REPL without one
 * zcached [options] info [url]                         what the server is
 * zcached [options] latency [url]                      round-trip sampling
 * ```
 *
 * @module
 */

import { parseArgs } from 'node:util';
import { CliUsageError } from './errors.js';

/** The dialects `--dialect` takes. */
export const CLI_DIALECTS = ['auto', 'legacy', 'etx-request', 'etx'] as const;
/** One of {@link CLI_DIALECTS}. */
export type CliDialect = (typeof CLI_DIALECTS)[number];

/** How replies are printed. */
export type OutputMode = 'typed' | 'json' | 'raw';

/** What every mode shares: where to connect and how to print. */
export interface CliSettings {
  /** The server's URL (argument, else `ZCACHED_URL`); undefined: `zcached://127.0.0.1:7556`. */
  readonly url: string | undefined;
  /** `--tls`: TLS even when the URL says `zcached://`. */
  readonly tls: boolean;
  /** `--cacert <file>`: a PEM file of certificates to trust (implies TLS). */
  readonly cacert: string | undefined;
  /** `--dialect`; undefined: the URL's `dialect`, else `'auto'`. */
  readonly dialect: CliDialect | undefined;
  /** `--timeout`: time limit of the connect and of each command, in ms; undefined: the URL's, else 5000. */
  readonly timeoutMs: number | undefined;
  /** `--json`: values given as JSON, replies printed as JSON; `--raw`: strings bare. Default `'typed'`. */
  readonly output: OutputMode;
}

/** `zcached latency` options. */
export interface LatencySettings {
  /** `--samples N`: stop after N round trips; undefined: no bound. */
  readonly samples: number | undefined;
  /** `--seconds S`: stop after S seconds; undefined: no bound. */
  readonly seconds: number | undefined;
  /** `--interval`: pause between two samples, in ms; default 10. */
  readonly intervalMs: number;
}

/** What the command line asks for. */
export type CliInvocation =
  | { readonly mode: 'help'; readonly topic?: string | undefined }
  | { readonly mode: 'version' }
  | { readonly mode: 'command'; readonly settings: CliSettings; readonly command: string; readonly args: readonly string[] }
  | { readonly mode: 'repl'; readonly settings: CliSettings }
  | { readonly mode: 'info'; readonly settings: CliSettings }
  | { readonly mode: 'latency'; readonly settings: CliSettings; readonly latency: LatencySettings };

/** The usage text (`zcached --help`). */
export const CLI_USAGE = `usage: zcached [options] [url] [command [argument ...]]
       zcached [options] info [url]
       zcached [options] latency [url] [--samples N] [--seconds S] [--interval ms]

Without a command, zcached starts an interactive prompt (type help there); a line
there takes --json or --raw for itself: set k '[1,2]' --json.
url is zcached://host:port or zcacheds://host:port (TLS); default: $ZCACHED_URL,
else zcached://127.0.0.1:7556.

commands: ping, get, set, delete, exists, mget, mset, keys, dbsize, flush, save,
          lastsave, echo, sizeof, rename, copy   (zcached help <command> for one)

options:
  --json            values are JSON (numbers, booleans, null, arrays, objects as maps,
                    {"$set":[...]}, {"$bytes":"<base64>"}, {"$float":n}, {"$bigint":"n"});
                    replies are printed as JSON, in the same forms
  --raw             print strings bare and one array element per line (no types)
  --tls             use TLS (as zcacheds:// does)
  --cacert <file>   trust the certificates of this PEM file (implies --tls)
  --dialect <name>  auto (default), legacy, etx-request or etx
  --timeout <ms>    time limit of the connect and of each command (default 5000)
  --samples <n>     latency: stop after n samples
  --seconds <s>     latency: stop after s seconds (Ctrl-C stops it too)
  --interval <ms>   latency: pause between samples (default 10)
  -v, --version     the package's version
  -h, --help        this text

Put -- before arguments that start with '-': zcached set k -- -1
exit codes: 0 a reply, 1 an error reply from the server, 2 bad usage, a refused
value or no connection.
environment: ZCACHED_URL, ZCACHED_HISTORY (prompt history file, default
~/.zcached_history), NO_COLOR (no colours).`;

const OPTIONS = {
  json: { type: 'boolean' },
  raw: { type: 'boolean' },
  tls: { type: 'boolean' },
  cacert: { type: 'string' },
  dialect: { type: 'string' },
  timeout: { type: 'string' },
  samples: { type: 'string' },
  seconds: { type: 'string' },
  interval: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'v' },
} as const;

/** A URL, as opposed to a command name: it starts with a scheme and `//` (any scheme: the client names the ones it takes). */
const URL_LIKE = /^[a-z][a-z0-9+.-]*:\/\//i;

function positiveNumber(flag: string, text: string | undefined, integer: boolean): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n) || n <= 0 || (integer && !Number.isSafeInteger(n))) {
    throw new CliUsageError(`--${flag} must be a positive ${integer ? 'integer' : 'number'}, got ${JSON.stringify(text)}`);
  }
  return n;
}

/**
 * Reads the command line (`process.argv.slice(2)`) and the environment.
 * Command names are returned lower-cased; their arguments as given.
 * @throws CliUsageError for an unknown flag, a bad flag value, a flag of
 *   another mode, two URLs, or `--json` with `--raw`
 */
export function parseCliArgs(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): CliInvocation {
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], options: OPTIONS, strict: true, allowPositionals: true });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new CliUsageError(`${message} (zcached --help lists the options)`, { cause: error });
  }
  const { values, positionals } = parsed;
  if (values.help === true) return { mode: 'help' };
  if (values.version === true) return { mode: 'version' };
  const rest = [...positionals];
  let url = rest[0] !== undefined && URL_LIKE.test(rest[0]) ? rest.shift() : undefined;
  const command = rest.shift()?.toLowerCase();
  if (command === 'info' || command === 'latency') {
    if (url === undefined && URL_LIKE.test(rest[0] ?? '')) url = rest.shift();
    if (rest.length > 0) throw new CliUsageError(`zcached ${command} takes one url at most, got ${rest.map((arg) => JSON.stringify(arg)).join(' ')} besides`);
  }
  if (command === 'help') return { mode: 'help', topic: rest[0] };
  const dialect = values.dialect as CliDialect | undefined;
  if (dialect !== undefined && !CLI_DIALECTS.includes(dialect)) {
    throw new CliUsageError(`--dialect must be one of ${CLI_DIALECTS.join(', ')}, got ${JSON.stringify(values.dialect)}`);
  }
  if (values.json === true && values.raw === true) throw new CliUsageError('--json and --raw exclude each other');
  const latencyFlags = (['samples', 'seconds', 'interval'] as const).filter((flag) => values[flag] !== undefined);
  if (command !== 'latency' && latencyFlags.length > 0) throw new CliUsageError(`--${latencyFlags[0]} is an option of zcached latency`);
  const fromEnv = env['ZCACHED_URL'] || undefined;
  if (url === undefined && fromEnv !== undefined && !URL_LIKE.test(fromEnv)) {
    throw new CliUsageError(`ZCACHED_URL must be a URL such as zcached://127.0.0.1:7556, got ${JSON.stringify(fromEnv)}`);
  }
  const settings: CliSettings = {
    url: url ?? fromEnv,
    tls: values.tls === true,
    cacert: values.cacert,
    dialect,
    timeoutMs: positiveNumber('timeout', values.timeout, true),
    output: values.json === true ? 'json' : values.raw === true ? 'raw' : 'typed',
  };
  if (command === undefined) return { mode: 'repl', settings };
  if (command === 'info') return { mode: 'info', settings };
  if (command === 'latency') {
    return {
      mode: 'latency',
      settings,
      latency: {
        samples: positiveNumber('samples', values.samples, true),
        seconds: positiveNumber('seconds', values.seconds, false),
        intervalMs: positiveNumber('interval', values.interval, false) ?? 10,
      },
    };
  }
  return { mode: 'command', settings, command, args: rest };
}
