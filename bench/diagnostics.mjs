// What the `zcached:command` tracing channel costs (docs/observability.md):
// ops/s of GET and SET pipelined through one ZCached client against the
// embedded server (`faithful: false`, in a child process), in three cells:
//
//   none        nobody subscribed: the path every user takes by default
//   subscribed  no-op handlers on all five events of the tracing channel
//   baseline    (with --baseline <dist>) a build of the library without the
//               channel, e.g. from the commit before it: `none` against it is
//               the cost of the check alone
//
// and, apart, the check itself: ns per `isTracingCommands()` call with
// nobody subscribed (what every command pays).
//
//   npm run build && node bench/diagnostics.mjs
//   node bench/diagnostics.mjs --rounds 15 --seconds 0.5 --in-flight 64 --baseline /path/to/old/dist
//   node bench/diagnostics.mjs --cells none,baseline --baseline /path/to/old/dist
//
// Subscribing and unsubscribing switches the prototype of Node's channel
// objects, and V8 then stops optimizing the check that reads them: a
// process where subscribers come and go while commands run pays more for the
// check (the report shows it). Leave `subscribed` out (`--cells`) to measure
// `none` against `baseline` as in a process where nobody ever subscribes.
//
// Rounds interleave the cells (the order rotates each round) and the report
// gives the median over rounds of each per-round ratio, so a slow spell of a
// shared machine hits both sides of a pair. A measurement, not a test:
// nothing here fails on a slow machine; a wrong reply does fail it.

import { tracingChannel } from 'node:diagnostics_channel';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { startEmbeddedServer } from './compare.mjs';
import { formatRate, formatRatio, median, pairedRatio, pairedRatios, range } from './stats.mjs';

const USAGE = `usage: node bench/diagnostics.mjs [options]
  --rounds <n>       timed rounds per cell (default 11; a warm-up round is not counted)
  --seconds <s>      length of one cell's run, in seconds (default 0.5)
  --in-flight <n>    requests in flight (closed loops; default 64)
  --value-size <n>   bytes per value (default 100)
  --baseline <dir>   also measure the dist/ directory of a build without the channel
  --cells <list>     which of none,subscribed,baseline to run (default: all; baseline needs --baseline)
  --help             this text`;

function parseOptions(argv) {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      rounds: { type: 'string', default: '11' },
      seconds: { type: 'string', default: '0.5' },
      'in-flight': { type: 'string', default: '64' },
      'value-size': { type: 'string', default: '100' },
      baseline: { type: 'string' },
      cells: { type: 'string', default: 'none,subscribed,baseline' },
      help: { type: 'boolean', default: false },
    },
  });
  const number = (name, min, integer) => {
    const value = Number(values[name]);
    if (!Number.isFinite(value) || value < min || (integer && !Number.isInteger(value))) {
      throw new RangeError(`--${name} must be ${integer ? 'an integer' : 'a number'} >= ${min}, got ${values[name]}`);
    }
    return value;
  };
  const cells = values.cells.split(',').map((name) => name.trim());
  for (const name of cells) {
    if (!['none', 'subscribed', 'baseline'].includes(name)) throw new RangeError(`--cells: unknown cell ${name} (none, subscribed, baseline)`);
  }
  if (cells.length === 0 || (cells.length === 1 && cells[0] === 'baseline')) throw new RangeError('--cells needs none or subscribed');
  return {
    help: values.help,
    cells,
    rounds: number('rounds', 1, true),
    seconds: number('seconds', 0.05, false),
    inFlight: number('in-flight', 1, true),
    valueSize: number('value-size', 1, true),
    baseline: values.baseline === undefined ? undefined : path.resolve(values.baseline),
  };
}

/** The same pseudo-random printable value every run. */
function makeValue(size) {
  let x = 0x9e3779b9;
  let out = '';
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out += String.fromCharCode(97 + ((x >>> 0) % 26));
  }
  return out;
}

const KEYS = Array.from({ length: 1000 }, (_, i) => `bench:diag:${i}`);

/**
 * One timed run: `inFlight` loops, each awaiting its request before the next,
 * alternating SET and GET of its own keys (so every GET has a known answer).
 * @returns ops/s, and the CPU time of this process (the client; the server
 *   runs in another) per operation, in µs: less moved by other processes
 *   on a shared machine than the rate
 */
async function timedRun(client, value, inFlight, seconds) {
  let count = 0;
  let failure;
  const deadline = performance.now() + seconds * 1000;
  const loop = async (w) => {
    let k = w % KEYS.length;
    while (performance.now() < deadline && failure === undefined) {
      const key = KEYS[k];
      const set = await client.set(key, value);
      if (set !== 'OK') failure = `SET ${key} returned ${String(set)}`;
      const got = await client.get(key);
      if (got !== value) failure = `GET ${key} returned ${typeof got === 'string' ? `${got.length} chars` : String(got)}`;
      count += 2;
      k += inFlight;
      if (k >= KEYS.length) k %= KEYS.length;
    }
  };
  const start = performance.now();
  const cpu = process.cpuUsage();
  await Promise.all(Array.from({ length: inFlight }, (_, w) => loop(w)));
  const used = process.cpuUsage(cpu);
  const elapsed = (performance.now() - start) / 1000;
  if (failure !== undefined) throw new Error(`wrong reply: ${failure}`);
  return { rate: count / elapsed, cpuPerOp: (used.user + used.system) / count };
}

/** ns per call of `check` (which must return false), median of 5 runs. */
function checkCost(check) {
  const runs = [];
  for (let run = 0; run < 5; run++) {
    let hits = 0;
    const calls = 1e7;
    const start = performance.now();
    for (let i = 0; i < calls; i++) if (check()) hits++;
    runs.push(((performance.now() - start) * 1e6) / calls);
    if (hits !== 0) throw new Error('the tracing channel has a subscriber: the check was not measured alone');
  }
  return median(runs);
}

const noop = () => {};
const HANDLERS = { start: noop, end: noop, asyncStart: noop, asyncEnd: noop, error: noop };

async function main() {
  const options = parseOptions(process.argv.slice(2));
  if (options.help) {
    console.log(USAGE);
    return;
  }
  const current = await import('../dist/index.js');
  const { isTracingCommands } = await import('../dist/connection/diagnostics.js');
  const fresh = checkCost(isTracingCommands);
  const baseline = options.baseline === undefined ? undefined : await import(pathToFileURL(path.join(options.baseline, 'index.js')).href);
  const server = await startEmbeddedServer('etx');
  const value = makeValue(options.valueSize);
  const commands = tracingChannel('zcached:command');
  const clients = [];
  try {
    const open = async (library) => {
      const client = new library.ZCached({ host: server.host, port: server.port, poolSize: 1 });
      clients.push(client);
      await client.run();
      return client;
    };
    const cells = [];
    if (options.cells.includes('none')) cells.push({ name: 'none', client: await open(current), subscribe: false });
    if (options.cells.includes('subscribed')) cells.push({ name: 'subscribed', client: await open(current), subscribe: true });
    if (baseline !== undefined && options.cells.includes('baseline')) cells.push({ name: 'baseline', client: await open(baseline), subscribe: false });
    const has = (name) => cells.some((cell) => cell.name === name);
    const ops = Object.fromEntries(cells.map((cell) => [cell.name, []]));
    const cpu = Object.fromEntries(cells.map((cell) => [cell.name, []]));
    console.log(
      `embedded server (etx, faithful: false) on port ${server.port}; ${cells.length} cells x ${options.rounds} rounds of ${options.seconds} s; ` +
        `${options.inFlight} in flight, SET+GET of ${options.valueSize} B values, pool of 1`,
    );
    for (let round = -1; round < options.rounds; round++) {
      // The order rotates each round, so that no cell always runs right after the same one.
      const order = cells.map((_, i) => cells[(i + Math.max(round, 0)) % cells.length]);
      for (const cell of order) {
        if (cell.subscribe) commands.subscribe(HANDLERS);
        try {
          const { rate, cpuPerOp } = await timedRun(cell.client, value, options.inFlight, options.seconds);
          if (round >= 0) {
            ops[cell.name].push(rate);
            cpu[cell.name].push(cpuPerOp);
          }
        } finally {
          if (cell.subscribe) commands.unsubscribe(HANDLERS);
        }
      }
      if (round >= 0) process.stderr.write(`round ${round + 1}/${options.rounds}: ${cells.map((c) => `${c.name} ${formatRate(ops[c.name].at(-1))}`).join(', ')}\n`);
    }

    console.log('\nops/s and client CPU µs per op (median over rounds, min..max)');
    console.table(
      Object.fromEntries(
        cells.map((cell) => {
          const [lo, hi] = range(ops[cell.name]);
          const [clo, chi] = range(cpu[cell.name]);
          return [
            cell.name,
            {
              'ops/s': formatRate(median(ops[cell.name])),
              range: `${formatRate(lo)}..${formatRate(hi)}`,
              'CPU µs/op': median(cpu[cell.name]).toFixed(2),
              'CPU range': `${clo.toFixed(2)}..${chi.toFixed(2)}`,
            },
          ];
        }),
      ),
    );
    const ratio = (a, b, meaning) => {
      const [lo, hi] = range(pairedRatios(ops[a], ops[b]));
      const [clo, chi] = range(pairedRatios(cpu[a], cpu[b]));
      return [
        `${a} / ${b}`,
        {
          'ops/s ratio': formatRatio(pairedRatio(ops[a], ops[b])),
          range: `${formatRatio(lo)}..${formatRatio(hi)}`,
          'CPU/op ratio': formatRatio(pairedRatio(cpu[a], cpu[b])),
          'CPU range': `${formatRatio(clo)}..${formatRatio(chi)}`,
          meaning,
        },
      ];
    };
    const rows = [];
    if (has('subscribed') && has('none')) rows.push(ratio('subscribed', 'none', 'cost of a subscriber (no-op handlers)'));
    if (has('none') && has('baseline')) {
      rows.push(ratio('none', 'baseline', has('subscribed') ? 'cost of the check, nobody subscribed (after subscribe cycles)' : 'cost of the check, nobody ever subscribed'));
    }
    if (has('subscribed') && has('baseline')) rows.push(ratio('subscribed', 'baseline', 'cost of a subscriber against no channel'));
    console.log('ratios (median over rounds of the per-round ratio; 1.00× = no difference; ops/s: <1 is slower, CPU/op: >1 is costlier)');
    console.table(Object.fromEntries(rows));
    const after = checkCost(isTracingCommands);
    const cycles = has('subscribed') ? options.rounds + 1 : 0;
    console.log(
      `the check with nobody subscribed, ns per command (median of 5 runs of 10^7 calls): ${fresh.toFixed(1)} before the rounds, ` +
        `${after.toFixed(1)} after them (${cycles} subscribe/unsubscribe cycles while commands ran)`,
    );
  } finally {
    for (const client of clients) await client.close();
    await server.stop();
  }
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  if (error?.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') console.error(USAGE);
  process.exitCode = 1;
});
