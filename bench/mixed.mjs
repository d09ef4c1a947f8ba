// The mixed workload (issue 19, section 1): do large requests stall small
// ones under the 'etx' send policy?
//
// Set-up, as the issue measured it: the FAITHFUL 'etx' embedded server
// (`startServer({ dialect: 'etx' })`, which crashes as the real current
// server does) in a child process of its own; in this process a fault proxy
// (`startProxy`) in front of it with `setLatency(0.25, 'both')` (a 0.5 ms
// round trip, like a data-centre network), and a `ZCached` client over the
// proxy, default dialect, `poolSize` P. 128 closed loops (requests in
// flight), each sending a 10 KB SET (1000 keys) or a GET of a 100-byte value
// (1000 keys, preloaded, each its own value). `--mix` says what the share S
// of SETs counts:
//   loops  (default) round(128 x S) of the loops send SETs, the others GETs:
//          do large writers stall the small readers beside them?
//   issued each request is, by a shared accumulator, a SET with probability
//          S (exactly a share S of the requests issued). Small GETs/s is then
//          (1 - S) / S times large SETs/s whatever the client does, and a
//          large request holds a connection alone for a round trip, so
//          GETs/s <= 9 x poolSize / round trip at S = 10 %: a bound on the
//          ratio, not a measure of head-of-line blocking.
//
// A cell is (P, S); a round runs every cell once, for `--seconds`, in an
// order that rotates from round to round (pool sizes rotate, and the shares
// within each pool size), so the cells of one pool size run next to each
// other. Per cell: small GETs/s and large SETs/s (completions inside the
// timed window / its length), GET p50 and p99 (perf_hooks histogram, as
// bench/stats.mjs), median over rounds. Per pool size, each mixed cell
// against the all-small cell (S = 0) of the same round: the median over
// rounds of the per-round ratios of GETs/s and of GET p99.
//
// Checked: every GET reply is the value its key holds, every SET reply 'OK'
// (a wrong reply makes the run fail, exit 1); the server's crash count stays
// 0 (a crash also fails the run); errors are counted by class.
//
//   npm run bench:mixed                                     # 5 rounds x 1 s x 12 cells, ~1.5 min
//   npm run bench:mixed -- --pools 4 --shares 0,10 --rounds 9
//   BENCH_QUICK=1 npm run bench:mixed                       # 3 rounds x 0.3 s
//   node bench/mixed.mjs --help
//
// `npm run bench` (bench/run.mjs) runs it through `mixedBench()`.

import { fork } from 'node:child_process';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { ZCached } from 'zcached';
import { startProxy } from 'zcached/testing';
import { MIXED_USAGE, cli, parseMixedArgs } from './args.mjs';
import { makeValue } from './compare.mjs';
import { LatencyHistogram, formatMs, formatRate, formatRatio, median, pairedRatio, pairedRatios } from './stats.mjs';

const SMALL_BYTES = 100;
const LARGE_BYTES = 10 * 1024;
const SMALL_KEYS = 1000;
const LARGE_KEYS = 1000;
/** Distinct 10 KB values, cycled over the large keys. */
const LARGE_VALUES = 8;
/** The goal of issue 19: pool 4, 10 % of 10 KB SETs: GETs/s >= 0.7x the all-small cell, GET p99 <= 2x. */
export const MIXED_GOAL = Object.freeze({ pool: 4, share: 10, minGetsRatio: 0.7, maxP99Ratio: 2 });

const defaultLog = (line) => process.stderr.write(`${line}\n`);

let gc = () => {};
try {
  setFlagsFromString('--expose-gc');
  gc = runInNewContext('gc');
} catch {
  // Without gc() between runs the results are noisier, not wrong.
}

// ---- the faithful server, in a child process -----------------------------------------

/**
 * Starts the faithful 'etx' embedded server in a child process (its own
 * event loop and core, as a real server). `stats()` asks it for its counters
 * and crash log over the IPC channel.
 * (bench/compare.mjs `startEmbeddedServer` serves `faithful: false`, which
 * never crashes; this one must be able to.)
 */
export function startFaithfulServer() {
  return new Promise((resolve, reject) => {
    const child = fork(fileURLToPath(import.meta.url), ['--serve'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const waiting = new Map();
    let nextId = 0;
    const exited = new Promise((r) => child.once('exit', r));
    child.on('message', (message) => {
      if (message.type === 'ready') {
        resolve({
          host: message.host,
          port: message.port,
          pid: child.pid,
          faithful: message.faithful,
          dialect: message.dialect,
          stats: () =>
            new Promise((done, fail) => {
              const id = nextId++;
              waiting.set(id, done);
              child.send({ type: 'stats', id }, (error) => {
                if (error) {
                  waiting.delete(id);
                  fail(error);
                }
              });
            }),
          stop: async () => {
            if (child.connected) child.send({ type: 'stop' });
            const timer = setTimeout(() => child.kill('SIGKILL'), 3_000);
            await exited;
            clearTimeout(timer);
          },
        });
      } else if (message.type === 'stats') {
        waiting.get(message.id)?.(message);
        waiting.delete(message.id);
      }
    });
    child.once('error', reject);
    child.once('exit', (code) => {
      reject(new Error(`the embedded server exited (code ${code}) before it was ready`));
      for (const done of waiting.values()) done({ stats: undefined, crashLog: [], exited: code });
      waiting.clear();
    });
  });
}

async function serveFaithful() {
  const { startServer } = await import('zcached/testing');
  const server = await startServer({ dialect: 'etx' }); // faithful by default: crashes as the real current server
  const stop = async () => {
    await server.close();
    process.exit(0);
  };
  process.on('message', (message) => {
    if (message.type === 'stop') void stop();
    else if (message.type === 'stats') {
      process.send({
        type: 'stats',
        id: message.id,
        stats: server.stats,
        crashLog: server.crashLog.map((c) => ({
          reason: c.reason,
          at: new Date(c.at).toISOString(),
          connectionsDropped: c.connectionsDropped,
          bytes: c.bytes.toString('latin1').slice(0, 80),
        })),
      });
    }
  });
  process.on('disconnect', () => void stop());
  process.send({ type: 'ready', host: server.host, port: server.port, faithful: server.faithful, dialect: server.dialect });
}

// ---- data ---------------------------------------------------------------------------

function makeData() {
  const smallKeys = Array.from({ length: SMALL_KEYS }, (_, i) => `mixed:small:${i}`);
  const smallValues = smallKeys.map((_, i) => makeValue(SMALL_BYTES, i + 1));
  const largeKeys = Array.from({ length: LARGE_KEYS }, (_, i) => `mixed:large:${i}`);
  const largeValues = Array.from({ length: LARGE_VALUES }, (_, i) => makeValue(LARGE_BYTES, 100_000 + i));
  return { smallKeys, smallValues, largeKeys, largeValues };
}

async function preload(client, data) {
  for (let i = 0; i < data.smallKeys.length; i += 64) {
    const replies = await Promise.all(data.smallKeys.slice(i, i + 64).map((key, j) => client.set(key, data.smallValues[i + j])));
    if (replies.some((r) => r !== 'OK')) throw new Error(`preload: SET replied ${replies.find((r) => r !== 'OK')}`);
  }
}

function describeReply(reply) {
  if (typeof reply === 'string') return reply.length > 24 ? `a ${reply.length}-char string '${reply.slice(0, 16)}…'` : `'${reply}'`;
  if (reply === undefined || reply === null) return String(reply);
  return `${typeof reply} ${String(reply).slice(0, 32)}`;
}

// ---- one timed run ------------------------------------------------------------------

let getSamples = new Float64Array(0);
let setSamples = new Float64Array(0);
const histogram = new LatencyHistogram();

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function worker(run, client, data, w) {
  const { smallKeys, smallValues, largeKeys, largeValues } = data;
  let k = (w * 7) % smallKeys.length;
  let j = w % largeKeys.length;
  while (performance.now() < run.deadline) {
    let large = w < run.largeLoops;
    if (run.mix === 'issued') {
      run.accumulator += run.share;
      large = run.accumulator >= 1;
      if (large) run.accumulator -= 1;
    }
    try {
      if (large) {
        const key = largeKeys[j];
        const t0 = performance.now();
        const reply = await client.set(key, largeValues[j % largeValues.length]);
        const t1 = performance.now();
        j = (j + 131) % largeKeys.length;
        if (reply !== 'OK') {
          run.wrong++;
          if (run.wrongExamples.length < 3) run.wrongExamples.push(`SET ${key} returned ${describeReply(reply)} instead of 'OK'`);
          continue;
        }
        if (t1 <= run.deadline) run.sets++;
        if (run.setCount < setSamples.length) setSamples[run.setCount++] = t1 - t0;
      } else {
        const key = smallKeys[k];
        const t0 = performance.now();
        const reply = await client.get(key);
        const t1 = performance.now();
        const expected = smallValues[k];
        k = (k + 127) % smallKeys.length;
        if (reply !== expected) {
          run.wrong++;
          if (run.wrongExamples.length < 3) run.wrongExamples.push(`GET ${key} returned ${describeReply(reply)} instead of its 100-byte value`);
          continue;
        }
        if (t1 <= run.deadline) run.gets++;
        if (run.getCount < getSamples.length) getSamples[run.getCount++] = t1 - t0;
      }
    } catch (error) {
      const name = `${large ? 'SET' : 'GET'} ${error?.name ?? typeof error}`;
      run.errors[name] = (run.errors[name] ?? 0) + 1;
      run.errorExamples[name] ??= String(error?.message ?? error).slice(0, 160);
      await sleep(1); // no spin on a pool that fails fast
    }
  }
}

/**
 * `inFlight` closed loops on `client` for `seconds`, a share `share` (0..1) of
 * them 10 KB SETs. Rates count the requests completed inside the window.
 */
async function timedRun(client, data, { share, inFlight, seconds, mix }) {
  const need = Math.ceil(seconds * 400_000) + 10_000;
  if (getSamples.length < need) getSamples = new Float64Array(need);
  if (setSamples.length < need) setSamples = new Float64Array(need);
  gc();
  const run = {
    share,
    mix,
    // --mix loops: the first round(share x inFlight) loops send SETs (at least one when share > 0).
    largeLoops: share === 0 ? 0 : Math.max(1, Math.round(share * inFlight)),
    accumulator: 0,
    deadline: 0,
    gets: 0,
    sets: 0,
    getCount: 0,
    setCount: 0,
    wrong: 0,
    wrongExamples: [],
    errors: {},
    errorExamples: {},
  };
  const start = performance.now();
  run.deadline = start + seconds * 1000;
  await Promise.all(Array.from({ length: inFlight }, (_, w) => worker(run, client, data, w)));
  const drained = performance.now() - run.deadline;
  histogram.reset();
  histogram.recordAll(getSamples, run.getCount);
  const [p50, p99] = histogram.percentilesMs([50, 99]);
  histogram.reset();
  histogram.recordAll(setSamples, run.setCount);
  const [setP50, setP99] = histogram.percentilesMs([50, 99]);
  return {
    gets: run.gets / seconds,
    sets: run.sets / seconds,
    p50,
    p99,
    setP50,
    setP99,
    getSamples: run.getCount,
    setSamples: run.setCount,
    drainMs: +drained.toFixed(1),
    wrong: run.wrong,
    wrongExamples: run.wrongExamples,
    errors: run.errors,
    errorExamples: run.errorExamples,
  };
}

// ---- the grid -----------------------------------------------------------------------

const cellName = (pool, share) => `pool ${pool}, ${share === 0 ? 'all small' : `${share} % 10 KB SETs`}`;
const rotate = (list, by) => list.map((_, i) => list[(i + by) % list.length]);
const addCounts = (into, from) => {
  for (const [name, count] of Object.entries(from)) into[name] = (into[name] ?? 0) + count;
};

/**
 * Runs the mixed-workload benchmark; returns `{ settings, environment,
 * server, cells, goal, wrongReplies, crashes, errors, ok }` (see README).
 * @param {{ pools?: number[], shares?: number[], rounds?: number, seconds?: number, inFlight?: number,
 *           latency?: number, warmup?: number, print?: boolean, log?: (line: string) => void }} options
 */
export async function mixedBench({
  pools = [1, 4, 8],
  shares = [0, 1, 10, 30],
  rounds = 5,
  seconds = 1,
  inFlight = 128,
  latency = 0.25,
  mix = 'loops',
  largeConnections,
  warmup = Math.min(0.5, seconds),
  print = true,
  log = defaultLog,
} = {}) {
  if (!shares.includes(0)) shares = [0, ...shares];
  const result = {
    settings: { pools, shares, mix, largeConnections: largeConnections ?? 'default', rounds, seconds, inFlight, latencyMs: latency, roundTripMs: 2 * latency, smallBytes: SMALL_BYTES, largeBytes: LARGE_BYTES },
    environment: {
      node: process.version,
      cpu: os.cpus()[0]?.model ?? 'unknown',
      cores: os.availableParallelism(),
      loadAverageAtStart: os.loadavg().map((x) => +x.toFixed(2)),
    },
  };
  const server = await startFaithfulServer();
  let proxy;
  const clients = new Map();
  try {
    proxy = await startProxy({ target: { host: server.host, port: server.port } });
    proxy.setLatency(latency, 'both');
    log(
      `mixed workload: faithful '${server.dialect}' embedded server (child pid ${server.pid}) behind a proxy with ${latency} ms each way; ` +
        `pools ${pools.join(', ')}, 10 KB SET shares ${shares.join(', ')} % (of the ${mix === 'loops' ? 'loops' : 'requests issued'}), ${inFlight} in flight, ${rounds} rounds x ${seconds}s`,
    );
    const data = makeData();
    for (const pool of pools) {
      // timeoutLimit: far past any wait of a run (a stalled request is measured, not failed).
      const client = new ZCached({ host: proxy.host, port: proxy.port, poolSize: pool, timeoutLimit: 120_000, largeRequestConnections: largeConnections });
      await client.run();
      clients.set(pool, client);
    }
    const first = clients.get(pools[0]);
    await preload(first, data);
    for (const [pool, client] of clients) {
      const got = await client.get(data.smallKeys.at(-1));
      if (got !== data.smallValues.at(-1)) throw new Error(`pool ${pool}: preload check failed (${describeReply(got)})`);
    }
    result.server = {
      dialect: server.dialect,
      faithful: server.faithful,
      generationDetected: first.connectionPool.connections[0]?.generation,
    };
    log(`  warm-up (${warmup}s per pool size, all small and ${Math.max(...shares)} %)`);
    const warmCrashes = (await server.stats()).stats?.crashes ?? 0;
    for (const client of clients.values()) {
      await timedRun(client, data, { share: 0, inFlight, seconds: warmup, mix });
      await timedRun(client, data, { share: Math.max(...shares) / 100, inFlight, seconds: warmup, mix });
    }
    const afterWarmUp = (await server.stats()).stats?.crashes ?? 0;

    const runs = new Map(pools.flatMap((pool) => shares.map((share) => [cellName(pool, share), []])));
    const cellCrashes = new Map([...runs.keys()].map((name) => [name, 0]));
    for (let round = 0; round < rounds; round++) {
      for (const pool of rotate(pools, round % pools.length)) {
        for (const share of rotate(shares, round % shares.length)) {
          const before = (await server.stats()).stats?.crashes ?? 0;
          const r = await timedRun(clients.get(pool), data, { share: share / 100, inFlight, seconds, mix });
          const after = (await server.stats()).stats?.crashes ?? before;
          r.crashes = after - before;
          const name = cellName(pool, share);
          runs.get(name)[round] = r;
          cellCrashes.set(name, cellCrashes.get(name) + r.crashes);
        }
      }
      log(`  round ${round + 1}/${rounds} done`);
    }

    result.cells = [];
    for (const pool of pools) {
      const base = runs.get(cellName(pool, 0));
      for (const share of shares) {
        const name = cellName(pool, share);
        const series = runs.get(name);
        const errors = {};
        for (const r of series) addCounts(errors, r.errors);
        const cell = {
          name,
          pool,
          share,
          gets: median(series.map((r) => r.gets)),
          getP50: median(series.map((r) => r.p50)),
          getP99: median(series.map((r) => r.p99)),
          sets: median(series.map((r) => r.sets)),
          setP99: median(series.map((r) => r.setP99)),
          wrong: series.reduce((sum, r) => sum + r.wrong, 0),
          errors,
          crashes: cellCrashes.get(name),
          rounds: series.map(({ errorExamples, ...r }) => ({ ...r, gets: Math.round(r.gets), sets: Math.round(r.sets) })),
        };
        if (share !== 0) {
          const gets = (s) => s.map((r) => r.gets);
          const p99 = (s) => s.map((r) => r.p99);
          cell.vsAllSmall = {
            gets: pairedRatio(gets(series), gets(base)),
            p50: pairedRatio(series.map((r) => r.p50), base.map((r) => r.p50)),
            p99: pairedRatio(p99(series), p99(base)),
            getsPerRound: pairedRatios(gets(series), gets(base)).map((x) => +x.toFixed(3)),
            p99PerRound: pairedRatios(p99(series), p99(base)).map((x) => +x.toFixed(3)),
          };
        }
        result.cells.push(cell);
      }
    }

    const final = await server.stats();
    const goalCell = result.cells.find((c) => c.pool === MIXED_GOAL.pool && c.share === MIXED_GOAL.share);
    result.goal = goalCell
      ? {
          ...MIXED_GOAL,
          getsRatio: goalCell.vsAllSmall.gets,
          p99Ratio: goalCell.vsAllSmall.p99,
          met: goalCell.vsAllSmall.gets >= MIXED_GOAL.minGetsRatio && goalCell.vsAllSmall.p99 <= MIXED_GOAL.maxP99Ratio,
        }
      : { ...MIXED_GOAL, met: undefined, note: 'pool 4 x 10 % not in the grid' };
    result.errors = {};
    for (const cell of result.cells) addCounts(result.errors, cell.errors);
    result.errorExamples = {};
    for (const series of runs.values()) for (const r of series) for (const [k, v] of Object.entries(r.errorExamples)) result.errorExamples[k] ??= v;
    result.wrongReplies = result.cells.reduce((sum, c) => sum + c.wrong, 0);
    result.wrongExamples = [...runs.values()].flatMap((s) => s.flatMap((r) => r.wrongExamples)).slice(0, 5);
    result.server.crashes = final.stats?.crashes;
    result.server.crashesDuringWarmUp = afterWarmUp - warmCrashes;
    result.server.crashLog = final.crashLog.slice(0, 10);
    result.server.requests = final.stats?.requests;
    result.server.connectionsAccepted = final.stats?.connectionsAccepted;
    result.crashes = final.stats?.crashes ?? Number.NaN;
    result.ok = result.wrongReplies === 0 && result.crashes === 0;
    result.environment.loadAverageAtEnd = os.loadavg().map((x) => +x.toFixed(2));
  } finally {
    for (const client of clients.values()) await client.close().catch(() => {});
    await proxy?.close();
    await server.stop();
  }
  if (print) printMixedReport(result);
  return result;
}

// ---- the report ---------------------------------------------------------------------

/** Rows for console.table, one per cell. */
export function mixedRows(result) {
  return result.cells.map((c) => ({
    pool: c.pool,
    '10 KB SETs': `${c.share} %`,
    'small GETs/s': formatRate(c.gets),
    'GET p50': formatMs(c.getP50),
    'GET p99': formatMs(c.getP99),
    'large SETs/s': c.share === 0 ? '-' : formatRate(c.sets),
    'SET p99': c.share === 0 ? '-' : formatMs(c.setP99),
    'GETs/s vs all small': c.vsAllSmall ? formatRatio(c.vsAllSmall.gets) : '1 (base)',
    'p99 vs all small': c.vsAllSmall ? formatRatio(c.vsAllSmall.p99) : '1 (base)',
    wrong: c.wrong,
    errors: Object.values(c.errors).reduce((a, b) => a + b, 0),
    crashes: c.crashes,
  }));
}

/** Prints a {@link mixedBench} result (bench/run.mjs prints everything at the end). */
export function printMixedReport(result) {
  const section = (title) => console.log(`\n=== ${title} ${'='.repeat(Math.max(0, 74 - title.length))}`);
  const s = result.settings;
  const env = result.environment;
  section("mixed workload (issue 19): 100 B GETs beside 10 KB SETs, faithful 'etx' server");
  console.log(
    `faithful '${result.server.dialect}' embedded server (child process, detected: ${result.server.generationDetected}) behind startProxy, ` +
      `${s.latencyMs} ms each way (${s.roundTripMs} ms round trip); ${s.inFlight} in flight, ` +
      (s.mix === 'loops' ? 'a share of the loops send 10 KB SETs (--mix loops)' : 'each request a 10 KB SET with the share as probability (--mix issued)') +
      `; largeRequestConnections ${s.largeConnections}` +
      `; ${s.rounds} rounds x ${s.seconds}s per cell, medians over rounds`,
  );
  console.log(`node ${env.node}, ${env.cpu}, ${env.cores} cores, load average (1 min) ${env.loadAverageAtStart[0]} at start, ${env.loadAverageAtEnd?.[0]} at end`);
  console.table(mixedRows(result));
  console.log('ratios: median over rounds of (mixed cell / all-small cell of the same pool size, same round); GETs/s > 1 and p99 < 1 are better');
  const g = result.goal;
  if (g.met === undefined) console.log(`goal (pool ${g.pool}, ${g.share} %): ${g.note}`);
  else {
    console.log(
      `goal (pool ${g.pool}, ${g.share} % of 10 KB SETs): small GETs/s >= ${g.minGetsRatio}x of all small: ${formatRatio(g.getsRatio)}; ` +
        `GET p99 <= ${g.maxP99Ratio}x: ${formatRatio(g.p99Ratio)} -> ${g.met ? 'met' : 'NOT MET'}`,
    );
  }
  const errorText = Object.entries(result.errors)
    .map(([name, count]) => `${name} ${count}`)
    .join(', ');
  console.log(
    `wrong replies: ${result.wrongReplies}; server crashes: ${result.crashes} (warm-up included); errors by class: ${errorText === '' ? 'none' : errorText}`,
  );
  for (const example of result.wrongExamples) console.log(`  WRONG: ${example}`);
  for (const crash of result.server.crashLog) console.log(`  CRASH: ${crash.reason} at ${crash.at}, ${crash.connectionsDropped} connections dropped, bytes ${JSON.stringify(crash.bytes)}`);
  for (const [name, message] of Object.entries(result.errorExamples)) console.log(`  ERROR ${name}: ${message}`);
}

// ---- standalone ---------------------------------------------------------------------

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const args = cli('mixed', MIXED_USAGE, parseMixedArgs);
  if (args.serve) {
    serveFaithful().catch((error) => {
      console.error(error);
      process.exit(1);
    });
  } else {
    mixedBench(args)
      .then((result) => {
        if (!result.ok) process.exitCode = 1;
      })
      .catch((error) => {
        console.error(error);
        process.exitCode = 1;
      });
  }
}
