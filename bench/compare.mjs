// The client comparison: ZCached (through its ConnectionPool) against
// node-redis and ioredis on the same redis-server, and ZCached alone against
// the embedded server in the 'etx' dialect.
//
// Closed loop: "N in flight" is N async loops, each awaiting its own request
// before sending the next. Every reply is checked (GET must return exactly the
// stored value, SET exactly 'OK'); a wrong reply fails the cell.
//
// Each cell (command x value size x in-flight) runs `rounds` rounds; a round
// runs every client once, for `seconds`, one after the other (the order
// rotates from round to round). Reported: medians over rounds of ops/s, p50
// and p99, and our ratio to each peer as the median over rounds of the
// per-round ratio, so machine drift hits both sides of each pair.
//
//   npm run build && node bench/compare.mjs                 # the comparison alone
//   BENCH_QUICK=1 node bench/compare.mjs                    # ~1 minute
//   node --cpu-prof bench/compare.mjs --only zc1 --op GET --size 100 --in-flight 256 --seconds 5 --rounds 1
//   node bench/compare.mjs --help                           # the flags (unknown ones are refused: exit 2)
//
// `npm run bench` (bench/run.mjs) runs this plus the rest of the report.

import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { ZCached } from 'zcached';
import { createClient } from 'redis';
import { Redis } from 'ioredis';
import { COMPARE_USAGE, cli, parseCompareArgs } from './args.mjs';
import { startRedisServer } from './redis-server.mjs';
import { LatencyHistogram, formatMs, formatRate, formatRatio, median, pairedRatio, pairedRatios } from './stats.mjs';

const require = createRequire(import.meta.url);

/** Installed versions of the clients, for the report. */
export function clientVersions() {
  const version = (name) => {
    try {
      return require(`${name}/package.json`).version;
    } catch {
      return 'unknown';
    }
  };
  const ours = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version;
  return { zcached: ours, redis: version('redis'), '@redis/client': version('@redis/client'), ioredis: version('ioredis') };
}

// ---- settings ------------------------------------------------------------

/** The run's shape, from BENCH_QUICK / BENCH_ROUNDS / BENCH_SECONDS. */
export function benchSettings(env = process.env) {
  const quick = env.BENCH_QUICK === '1' || env.BENCH_QUICK === 'true';
  const number = (name, fallback) => {
    const value = Number(env[name]);
    return env[name] !== undefined && Number.isFinite(value) && value > 0 ? value : fallback;
  };
  return {
    quick,
    // Many short rounds rather than a few long ones: the two runs of a pair are then close in
    // time, and the median over rounds shrugs off the bursts of a shared machine.
    rounds: Math.round(number('BENCH_ROUNDS', quick ? 5 : 15)),
    seconds: number('BENCH_SECONDS', quick ? 0.1 : 0.15),
    cellWarmUpSeconds: quick ? 0.05 : 0.2,
    warmUpSeconds: quick ? 0.3 : 0.8,
    embeddedRounds: Math.round(number('BENCH_ROUNDS', quick ? 5 : 11)),
  };
}

export const OPS = ['GET', 'SET'];
export const VALUE_SIZES = [100, 10 * 1024];
export const IN_FLIGHT = [1, 16, 256];
/** Distinct keys per value size. */
const KEY_COUNT = 1000;

// ---- clients -------------------------------------------------------------

/** The dialect our client speaks to redis-server: plain RESP requests, pipelined. */
export const REDIS_DIALECT = Object.freeze({ requestTerminator: false, pipelining: true });

/**
 * The clients of the comparison. Each `open(host, port)` resolves with
 * `{ get(key), set(key, value), close() }`.
 */
export const REDIS_CLIENTS = [
  {
    id: 'zc1',
    label: 'zcached pool=1',
    ours: true,
    open: (host, port) => openZCached({ host, port, poolSize: 1, dialect: REDIS_DIALECT }),
  },
  {
    id: 'zc4',
    label: 'zcached pool=4',
    ours: true,
    open: (host, port) => openZCached({ host, port, poolSize: 4, dialect: REDIS_DIALECT }),
  },
  {
    id: 'node-redis',
    label: 'node-redis',
    ours: false,
    open: (host, port) => openNodeRedis({ socket: { host, port } }),
  },
  {
    // node-redis 5+ arms an AbortSignal.timeout() per command by default (commandOptions.timeout 5 s);
    // without it node-redis is much faster, so it is measured both ways.
    id: 'node-redis-nt',
    label: 'node-redis no-timeout',
    ours: false,
    open: (host, port) => openNodeRedis({ socket: { host, port }, commandOptions: { timeout: 0 } }),
  },
  {
    id: 'ioredis',
    label: 'ioredis',
    ours: false,
    open: (host, port) => openIoredis({ host, port }),
  },
  {
    id: 'ioredis-ap',
    label: 'ioredis autopipe',
    ours: false,
    open: (host, port) => openIoredis({ host, port, enableAutoPipelining: true }),
  },
];

/** The 'etx' framing without its send policy: how the client pipelined before the policy (it crashes a real current server). */
const ETX_WITHOUT_POLICY = { base: 'etx', maxWriteBytes: Infinity, maxUnansweredBytes: Infinity };

/**
 * Our client on the embedded server, default ('etx') dialect with its send
 * policy, and paired with it the same framing without the policy (the old
 * send path). The server runs with `faithful: false` so that the old path
 * does not crash it; the ratio policy/no-policy is the cost of the policy.
 */
export const EMBEDDED_CLIENTS = [
  { id: 'zc1', label: 'zcached pool=1', ours: true, open: (host, port) => openZCached({ host, port, poolSize: 1 }) },
  { id: 'zc4', label: 'zcached pool=4', ours: true, open: (host, port) => openZCached({ host, port, poolSize: 4 }) },
  { id: 'zc1-old', label: 'pool=1, no send policy', ours: true, open: (host, port) => openZCached({ host, port, poolSize: 1, dialect: ETX_WITHOUT_POLICY }) },
  { id: 'zc4-old', label: 'pool=4, no send policy', ours: true, open: (host, port) => openZCached({ host, port, poolSize: 4, dialect: ETX_WITHOUT_POLICY }) },
];

async function openZCached(options) {
  const client = new ZCached(options);
  await client.run();
  return { get: (key) => client.get(key), set: (key, value) => client.set(key, value), close: () => client.close() };
}

async function openNodeRedis(options) {
  const client = createClient(options);
  client.on('error', () => {});
  await client.connect();
  return { get: (key) => client.get(key), set: (key, value) => client.set(key, value), close: () => client.close() };
}

async function openIoredis(options) {
  const client = new Redis({ ...options, lazyConnect: true, maxRetriesPerRequest: 1 });
  client.on('error', () => {});
  await client.connect();
  return {
    get: (key) => client.get(key),
    set: (key, value) => client.set(key, value),
    close: async () => {
      await client.quit();
    },
  };
}

// ---- data ------------------------------------------------------------------

/** A deterministic ASCII value of `size` bytes (letters and digits: valid in every dialect). */
export function makeValue(size, seed) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  let x = (seed * 2654435761) >>> 0 || 1;
  let out = '';
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out += alphabet[x % alphabet.length];
  }
  return out;
}

/** The keys and value of one value size. GET reads `keys` (preloaded); SET writes `setKeys`. */
function dataFor(size) {
  const value = makeValue(size, size);
  const keys = Array.from({ length: KEY_COUNT }, (_, i) => `bench:${size}:${i}`);
  const setKeys = Array.from({ length: KEY_COUNT }, (_, i) => `bench:set:${size}:${i}`);
  return { size, value, keys, setKeys };
}

/** Stores every GET key, then reads one back through each client (a sanity check before timing). */
async function preload(clients, data) {
  const [loader] = clients;
  for (const d of data) {
    for (let i = 0; i < d.keys.length; i += 100) {
      await Promise.all(d.keys.slice(i, i + 100).map((key) => loader.handle.set(key, d.value)));
    }
    for (const client of clients) {
      const got = await client.handle.get(d.keys[d.keys.length - 1]);
      if (got !== d.value) throw new Error(`${client.label}: preload check failed for ${d.size}-byte values (${describeReply(got)})`);
    }
  }
}

function describeReply(reply) {
  if (typeof reply === 'string') return reply.length > 24 ? `a ${reply.length}-char string '${reply.slice(0, 16)}…'` : `'${reply}'`;
  if (reply === undefined || reply === null) return String(reply);
  return `${typeof reply} ${String(reply).slice(0, 32)}`;
}

// ---- the closed loop -------------------------------------------------------

let gc = () => {};
try {
  setFlagsFromString('--expose-gc');
  gc = runInNewContext('gc');
} catch {
  // Without gc() between runs the results are noisier, not wrong.
}

/**
 * Latency samples (ms) of the current run; one buffer, reused by every run.
 * The loops write plain numbers into it (~10 ns each); they go into the
 * perf_hooks histogram after the run, out of the timed window, because a
 * `histogram.record()` per request costs ~80 ns, which would be ~5 % of a
 * request in the fastest cells.
 */
let samples = new Float64Array(0);
const histogram = new LatencyHistogram();

function ensureSamples(seconds) {
  const need = Math.ceil(Math.max(1, seconds) * 3_000_000);
  if (samples.length < need) samples = new Float64Array(need);
}

async function getLoop(run, get, keys, value, first, stride) {
  const n = keys.length;
  let k = first % n;
  const lat = samples;
  try {
    while (run.failure === undefined) {
      const t0 = performance.now();
      const reply = await get(keys[k]);
      const t1 = performance.now();
      if (reply !== value) {
        run.failure ??= `GET ${keys[k]} returned ${describeReply(reply)} instead of the ${value.length}-byte value`;
        return;
      }
      const i = run.count++;
      if (i < lat.length) lat[i] = t1 - t0;
      if (t1 >= run.deadline) return;
      k += stride;
      if (k >= n) k %= n;
    }
  } catch (error) {
    run.failure ??= `GET failed: ${error?.message ?? error}`;
  }
}

async function setLoop(run, set, keys, value, first, stride) {
  const n = keys.length;
  let k = first % n;
  const lat = samples;
  try {
    while (run.failure === undefined) {
      const t0 = performance.now();
      const reply = await set(keys[k], value);
      const t1 = performance.now();
      if (reply !== 'OK') {
        run.failure ??= `SET ${keys[k]} returned ${describeReply(reply)} instead of 'OK'`;
        return;
      }
      const i = run.count++;
      if (i < lat.length) lat[i] = t1 - t0;
      if (t1 >= run.deadline) return;
      k += stride;
      if (k >= n) k %= n;
    }
  } catch (error) {
    run.failure ??= `SET failed: ${error?.message ?? error}`;
  }
}

/**
 * One timed run: `inFlight` closed loops for `seconds`.
 * @returns {{ ops: number, p50: number, p99: number, count: number, failure?: string }}
 */
export async function timedRun(handle, { op, data, inFlight, seconds }) {
  ensureSamples(seconds);
  gc();
  const run = { count: 0, deadline: 0, failure: undefined };
  const loops = new Array(inFlight);
  const windowStart = process.hrtime.bigint();
  const cpuStart = process.cpuUsage();
  const start = performance.now();
  run.deadline = start + seconds * 1000;
  const stride = inFlight;
  for (let w = 0; w < inFlight; w++) {
    loops[w] =
      op === 'GET'
        ? getLoop(run, handle.get, data.keys, data.value, w, stride)
        : setLoop(run, handle.set, data.setKeys, data.value, w, stride);
  }
  await Promise.all(loops);
  const elapsed = (performance.now() - start) / 1000;
  const cpu = process.cpuUsage(cpuStart);
  const windowEnd = process.hrtime.bigint();
  histogram.reset();
  histogram.recordAll(samples, run.count);
  const [p50, p99] = histogram.percentilesMs([50, 99]);
  // The monotonic-clock span of the run in µs: the clock of --cpu-prof sample timestamps.
  const window = [Number(windowStart / 1000n), Number(windowEnd / 1000n)];
  // This process's CPU time (user + system, this harness's loops included) per operation, µs:
  // what a client costs, read beside ops/s, and less at the mercy of other work on the machine.
  const cpuUs = run.count > 0 ? (cpu.user + cpu.system) / run.count : Number.NaN;
  const result = { ops: run.count / elapsed, p50, p99, cpuUs, count: run.count, window };
  if (run.failure !== undefined) result.failure = run.failure;
  return result;
}

// ---- cells -----------------------------------------------------------------

/** The cells of the grid, in run order. `filter` narrows it (op, size, inFlight). */
export function cells(filter = {}) {
  const out = [];
  for (const op of OPS) {
    for (const size of VALUE_SIZES) {
      for (const inFlight of IN_FLIGHT) {
        if (filter.op !== undefined && filter.op !== op) continue;
        if (filter.size !== undefined && filter.size !== size) continue;
        if (filter.inFlight !== undefined && filter.inFlight !== inFlight) continue;
        out.push({ op, size, inFlight });
      }
    }
  }
  return out;
}

export function cellName({ op, size, inFlight }) {
  return `${op} ${size >= 1024 ? `${size / 1024} KB` : `${size} B`} x${inFlight}`;
}

/**
 * Runs one cell over every client: a short warm-up each, then `rounds`
 * rounds, the order rotating each round.
 */
async function runCell(clients, cell, data, settings, log) {
  const d = data.find((x) => x.size === cell.size);
  const params = { op: cell.op, data: d, inFlight: cell.inFlight };
  for (const client of clients) await timedRun(client.handle, { ...params, seconds: settings.cellWarmUpSeconds });
  const runs = Object.fromEntries(clients.map((c) => [c.id, []]));
  for (let round = 0; round < settings.rounds; round++) {
    for (let i = 0; i < clients.length; i++) {
      const client = clients[(i + round) % clients.length];
      runs[client.id][round] = await timedRun(client.handle, { ...params, seconds: settings.seconds });
    }
  }
  const result = { ...cell, name: cellName(cell), clients: {}, ratios: {} };
  for (const client of clients) {
    const series = runs[client.id];
    const failures = series.filter((r) => r.failure !== undefined).map((r) => r.failure);
    result.clients[client.id] = {
      label: client.label,
      ops: median(series.map((r) => r.ops)),
      p50: median(series.map((r) => r.p50)),
      p99: median(series.map((r) => r.p99)),
      cpuUs: median(series.map((r) => r.cpuUs)),
      rounds: series.map(({ ops, p50, p99, cpuUs, count, window }) => ({ ops: Math.round(ops), p50, p99, cpuUs: +cpuUs.toFixed(3), count, window })),
      ...(failures.length > 0 ? { failures } : {}),
    };
  }
  const ours = clients.filter((c) => c.ours);
  const peers = clients.filter((c) => !c.ours);
  const pair = (a, b) => {
    const opsA = runs[a.id].map((r) => (r.failure === undefined ? r.ops : Number.NaN));
    const opsB = runs[b.id].map((r) => (r.failure === undefined ? r.ops : Number.NaN));
    result.ratios[`${a.id}/${b.id}`] = {
      ops: pairedRatio(opsA, opsB),
      opsPerRound: pairedRatios(opsA, opsB).map((x) => +x.toFixed(3)),
      p50: pairedRatio(runs[a.id].map((r) => r.p50), runs[b.id].map((r) => r.p50)),
      p99: pairedRatio(runs[a.id].map((r) => r.p99), runs[b.id].map((r) => r.p99)),
      // Peer's CPU per operation over ours: > 1 means we spend less.
      cpu: pairedRatio(runs[b.id].map((r) => r.cpuUs), runs[a.id].map((r) => r.cpuUs)),
    };
  };
  for (const a of ours) for (const b of peers) pair(a, b);
  const zc1 = clients.find((c) => c.id === 'zc1');
  const zc4 = clients.find((c) => c.id === 'zc4');
  if (zc1 !== undefined && zc4 !== undefined) pair(zc4, zc1);
  // The send policy's cost: each client beside the same client without the policy.
  for (const old of clients.filter((c) => c.id.endsWith('-old'))) {
    const current = clients.find((c) => c.id === old.id.slice(0, -'-old'.length));
    if (current !== undefined) pair(current, old);
  }
  log?.(cellLine(result, clients));
  return result;
}

function cellLine(result, clients) {
  const parts = clients.map((c) => {
    const r = result.clients[c.id];
    return `${c.id} ${formatRate(r.ops)}${r.failures ? ' FAIL' : ''}`;
  });
  const ratio = result.ratios['zc1/node-redis'];
  return `  ${result.name.padEnd(14)} ${parts.join('  ')}${ratio ? `  zc1/node-redis ${formatRatio(ratio.ops)}` : ''}`;
}

/**
 * Opens every client, preloads the data, warms up, runs every cell.
 * @returns the cells' results (see runCell)
 */
export async function runComparison({ host, port, clients: specs, settings, filter = {}, only, log = () => {} }) {
  const chosen = specs.filter((s) => only === undefined || only.includes(s.id));
  const clients = [];
  try {
    for (const spec of chosen) clients.push({ ...spec, handle: await spec.open(host, port) });
    const grid = cells(filter);
    const data = VALUE_SIZES.filter((size) => grid.some((c) => c.size === size)).map(dataFor);
    await preload(clients, data);
    log(`  warm-up (${settings.warmUpSeconds}s per client and command)`);
    for (const client of clients) {
      for (const op of OPS) {
        await timedRun(client.handle, { op, data: data[0], inFlight: 16, seconds: settings.warmUpSeconds / 2 });
      }
    }
    const results = [];
    for (const cell of grid) results.push(await runCell(clients, cell, data, settings, log));
    return results;
  } finally {
    for (const client of clients) await client.handle.close().catch(() => {});
  }
}

// ---- the embedded server, in a child process -----------------------------

/**
 * Starts the embedded zcached server (`zcached/testing`) in a child process,
 * so it gets its own core and its own event loop, as a real server would.
 * @returns {Promise<{ host: string, port: number, dialect: string, stop(): Promise<void> }>}
 */
export function startEmbeddedServer(dialect = 'etx') {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [fileURLToPath(import.meta.url), '--serve-embedded', dialect], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    let out = '';
    const onData = (chunk) => {
      out += chunk.toString();
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (line === undefined) return;
      child.stdout.off('data', onData);
      const { host, port } = JSON.parse(line);
      const exited = new Promise((r) => child.once('exit', r));
      resolve({
        host,
        port,
        dialect,
        pid: child.pid,
        stop: async () => {
          child.stdin.end();
          const timer = setTimeout(() => child.kill('SIGKILL'), 3_000);
          await exited;
          clearTimeout(timer);
        },
      });
    };
    child.stdout.on('data', onData);
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`the embedded server exited (code ${code}) before it was ready`)));
  });
}

async function serveEmbedded(dialect) {
  const { startServer } = await import('zcached/testing');
  // Binary-safe and crash-free, so that the client without the send policy can be measured beside it.
  const server = await startServer({ dialect, faithful: false });
  process.stdout.write(`${JSON.stringify({ host: server.host, port: server.port })}\n`);
  process.stdin.resume();
  process.stdin.on('end', async () => {
    await server.close();
    process.exit(0);
  });
}

// ---- tables ----------------------------------------------------------------

/** Rows for console.table: median ops/s per client. */
export function throughputRows(results, clients) {
  return results.map((r) => ({
    cell: r.name,
    ...Object.fromEntries(clients.map((c) => [c.label, `${formatRate(r.clients[c.id]?.ops)}${r.clients[c.id]?.failures ? ' FAIL' : ''}`])),
  }));
}

/** Rows for console.table: median client CPU per operation (µs, user + system, harness included). */
export function cpuRows(results, clients) {
  return results.map((r) => ({
    cell: r.name,
    ...Object.fromEntries(clients.map((c) => [c.label, `${r.clients[c.id]?.cpuUs?.toFixed(2) ?? '-'} µs`])),
  }));
}

/** Rows for console.table: median p50 / p99 per client. */
export function latencyRows(results, clients) {
  return results.map((r) => ({
    cell: r.name,
    ...Object.fromEntries(clients.map((c) => [c.label, `${formatMs(r.clients[c.id]?.p50)} / ${formatMs(r.clients[c.id]?.p99)}`])),
  }));
}

/** Rows for console.table: the paired ratios (throughput ours/peer, and p99 ours/peer). */
export function ratioRows(results) {
  const keys = [...new Set(results.flatMap((r) => Object.keys(r.ratios)))].filter((k) => k.startsWith('zc1/') || k === 'zc4/zc1');
  return results.map((r) => {
    const row = { cell: r.name };
    for (const key of keys) row[`${key} ops`] = formatRatio(r.ratios[key]?.ops);
    for (const key of keys.filter((k) => k.endsWith('/node-redis'))) row[`${key} p99`] = formatRatio(r.ratios[key]?.p99);
    for (const key of keys.filter((k) => k.startsWith('zc1/node-redis'))) row[`${key} cpu`] = formatRatio(r.ratios[key]?.cpu);
    return row;
  });
}

// ---- standalone --------------------------------------------------------------

async function main() {
  const args = cli('compare', COMPARE_USAGE, parseCompareArgs);
  if (args.serveEmbedded !== undefined) return serveEmbedded(args.serveEmbedded);
  const settings = benchSettings();
  if (args.seconds !== undefined) settings.seconds = args.seconds;
  if (args.rounds !== undefined) settings.rounds = args.rounds;
  const filter = { op: args.op, size: args.size, inFlight: args.inFlight };
  const server = args.embedded ? await startEmbeddedServer('etx') : await startRedisServer();
  const specs = args.embedded ? EMBEDDED_CLIENTS : REDIS_CLIENTS;
  try {
    console.log(args.embedded ? `embedded server (etx) on port ${server.port}` : `redis-server ${server.version} on port ${server.port}`);
    const results = await runComparison({ host: server.host, port: server.port, clients: specs, settings, filter, only: args.only, log: console.log });
    const clients = specs.filter((s) => args.only === undefined || args.only.includes(s.id));
    if (settings.rounds === 1 && results.length === 1) {
      // For `node --cpu-prof`: the span of the timed runs, to leave start-up and warm-up out of the profile.
      for (const [id, c] of Object.entries(results[0].clients)) console.log(`timed window of ${id} (monotonic µs): ${c.rounds[0].window.join('..')}`);
    }
    console.log('\nops/s (median over rounds)');
    console.table(throughputRows(results, clients));
    console.log('client CPU per operation (median over rounds; user + system of this process, harness included)');
    console.table(cpuRows(results, clients));
    console.log('latency p50 / p99 (median over rounds)');
    console.table(latencyRows(results, clients));
    if (results.some((r) => Object.keys(r.ratios).length > 0)) {
      console.log('ratios (median over rounds of the per-round ratio; ops: >1 means we are faster; p99: <1 means lower latency)');
      console.table(ratioRows(results));
    }
  } finally {
    await server.stop();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().catch((error) => {
    console.error(error);
    process.exitCode = 1;
  });
}
