// The fleet's measured goals (issue 13): placement balance, weights,
// minimal movement, placement cost, and the throughput of a fleet of three
// embedded servers (three child processes) against one server. And the cost
// of replicas (issue 21): placement of a key's k = 2 replicas
// (`Placement#replicasFor(key, 2)`) beside placement on one server, and the
// ops/s of one fleet of embedded servers (4 child processes by default) with
// `replicas: 1` vs `2` vs `3`, for SET and for GET of keys present, at a
// fixed number of requests in flight: a write goes to every replica (it
// should cost about k), a read to one (about 1).
//
//   npm run build && node bench/fleet.mjs          # the whole report (~2-3 minutes)
//   BENCH_QUICK=1 node bench/fleet.mjs             # shorter throughput cells (3 rounds x 0.4 s)
//   node bench/fleet.mjs --only placement          # balance, weights, movement, cost (no sockets)
//   node bench/fleet.mjs --only throughput         # a fleet of 3 vs one server
//   node bench/fleet.mjs --only replicas --servers 5 --rounds 9
//   node bench/fleet.mjs --help                    # every flag; unknown flags are refused (exit 2)
//
// `npm run bench` runs it through `fleetBench()` (all three parts, the
// defaults: 7 rounds x 1 s, 256 in flight, 4 servers for the replicas). A
// measurement, not a test: each goal is reported as met or NOT MET with its
// figure, and nothing here fails on a slow machine. Keys are drawn from a
// seeded generator, so the placement figures are the same on every run and
// every machine. The throughput cells run every client once per round, the
// order reversed every other round; a client's figure is its median over
// rounds, and a ratio between two clients is the median of the per-round
// ratios (`pairedRatio`): on a shared machine, read the ratios, not the
// absolute ops/s.

import { createHash } from 'node:crypto';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { ZCached } from 'zcached';
import { Placement, ZCachedFleet } from '../dist/fleet/index.js';
import { FLEET_USAGE, cli, parseFleetArgs } from './args.mjs';
import { startEmbeddedServer } from './compare.mjs';
import { formatRate, median, pairedRatio } from './stats.mjs';

const log = (line) => process.stderr.write(`${line}\n`);

// ---- keys ---------------------------------------------------------------------------

/** xorshift128+ from a fixed seed: the same "random" keys on every run. */
function keyGenerator(seed = 0x2545f491) {
  let a = seed >>> 0 || 1;
  let b = 0x9e3779b9;
  return () => {
    let t = a;
    const s = b;
    a = s;
    t ^= t << 11;
    t ^= t >>> 8;
    b = (t ^ s ^ (s >>> 19)) >>> 0;
    return b;
  };
}

/** `count` keys like `user:3f9a12c4:7be01d55` (random, fixed). */
function randomKeys(count, seed) {
  const next = keyGenerator(seed);
  return Array.from({ length: count }, () => `user:${next().toString(16)}:${next().toString(16)}`);
}

const servers = (count, offset = 0) =>
  Array.from({ length: count }, (_, i) => ({ id: `10.0.${(i + offset) >> 8}.${(i + offset) & 255}:7556` }));

// ---- ketama, for comparison ---------------------------------------------------------

/**
 * libmemcached-style ketama, written here for the comparison only: 160
 * points per server (40 MD5 digests of `host:port-i`, four 32-bit points
 * each), keys placed by the first 4 bytes of MD5(key) on the ring.
 */
function ketama(list) {
  const points = [];
  for (const server of list) {
    for (let i = 0; i < 40; i++) {
      const digest = createHash('md5').update(`${server.id}-${i}`).digest();
      for (let k = 0; k < 4; k++) points.push({ at: digest.readUInt32LE(k * 4), server });
    }
  }
  points.sort((x, y) => x.at - y.at);
  const at = Uint32Array.from(points.map((p) => p.at));
  return (key) => {
    const hash = createHash('md5').update(key).digest().readUInt32LE(0);
    let lo = 0;
    let hi = at.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (at[mid] < hash) lo = mid + 1;
      else hi = mid;
    }
    return points[lo === at.length ? 0 : lo].server;
  };
}

// ---- placement goals ----------------------------------------------------------------

function loads(place, keys) {
  const counts = new Map();
  for (const key of keys) {
    const id = place(key).id;
    counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  return counts;
}

function balanceGoal(keys) {
  const ten = servers(10);
  const mean = keys.length / 10;
  const table = new Placement(ten);
  const ours = [...loads((key) => table.serverFor(key), keys).values()];
  const ring = ketama(ten);
  const theirs = [...loads(ring, keys).values()];
  return {
    keys: keys.length,
    servers: 10,
    'rendezvous max/mean': +(Math.max(...ours) / mean).toFixed(4),
    'rendezvous min/mean': +(Math.min(...ours) / mean).toFixed(4),
    'ketama-160 max/mean': +(Math.max(...theirs) / mean).toFixed(4),
    'ketama-160 min/mean': +(Math.min(...theirs) / mean).toFixed(4),
    // Binomial(n, 1/10): one standard deviation, relative to the mean.
    'statistical sd/mean': +Math.sqrt((keys.length * 0.1 * 0.9) / mean ** 2).toFixed(4),
  };
}

function weightsGoal(keys) {
  const weighted = [
    { id: 'a:7556', weight: 1 },
    { id: 'b:7556', weight: 2 },
    { id: 'c:7556', weight: 3 },
  ];
  const table = new Placement(weighted);
  const counts = loads((key) => table.serverFor(key), keys);
  return weighted.map((server) => {
    const share = counts.get(server.id) / keys.length;
    const target = server.weight / 6;
    return { server: server.id, weight: server.weight, share: +share.toFixed(4), target: +target.toFixed(4), 'off by': `${((share / target - 1) * 100).toFixed(2)} %`, offBy: share / target - 1 };
  });
}

function movementGoal(keys) {
  const ten = servers(10);
  const before = new Placement(ten);
  const added = { id: '10.0.0.10:7556-new' };
  const after = new Placement([...ten, added]);
  let movedToNew = 0;
  let movedBetweenOld = 0;
  for (const key of keys) {
    const from = before.serverFor(key);
    const to = after.serverFor(key);
    if (from === to) continue;
    if (to === added) movedToNew++;
    else movedBetweenOld++;
  }
  const removed = ten[3];
  const without = new Placement(ten.filter((server) => server !== removed));
  let movedOwn = 0;
  let movedOther = 0;
  let ownKeys = 0;
  for (const key of keys) {
    const from = before.serverFor(key);
    if (from === removed) ownKeys++;
    const to = without.serverFor(key);
    if (from === to) continue;
    if (from === removed) movedOwn++;
    else movedOther++;
  }
  return {
    add: {
      'moved (share of keys)': +(movedToNew / keys.length).toFixed(5),
      'target 1/11': +(1 / 11).toFixed(5),
      'off by (points)': +Math.abs(movedToNew / keys.length - 1 / 11).toFixed(5),
      'moved between old servers': movedBetweenOld,
    },
    remove: { 'keys of the removed server': ownKeys, 'of them moved': movedOwn, 'other keys moved': movedOther },
  };
}

/** CPU time per call of `fn` over `keys`, best of `rounds` (ns), after a warm-up. CPU time, not wall time: a busy machine inflates it less. */
function cpuNsPerCall(fn, keys, calls, rounds = 5) {
  let sink = 0;
  const mask = keys.length - 1;
  for (let i = 0; i < calls; i++) sink += fn(keys[i & mask]);
  let best = Infinity;
  for (let round = 0; round < rounds; round++) {
    const start = process.cpuUsage();
    for (let i = 0; i < calls; i++) sink += fn(keys[i & mask]);
    const spent = process.cpuUsage(start);
    best = Math.min(best, ((spent.user + spent.system) * 1000) / calls);
  }
  if (sink === -1) log('unreachable');
  return best;
}

function costGoal() {
  const keys = randomKeys(4096, 7);
  // A calibration loop, to read the figures on a shared machine: one 32-bit multiply-xor-shift per call.
  const calibration = cpuNsPerCall((key) => Math.imul(key.length, 0x9e3779b1) ^ (key.length >>> 3), keys, 5_000_000);
  const rows = [];
  for (const count of [1, 10, 100, 1000]) {
    const equal = new Placement(servers(count));
    const weighted = new Placement(servers(count).map((server, i) => ({ ...server, weight: 1 + (i % 3) })));
    const calls = Math.max(20_000, Math.round(2_000_000 / count));
    const ns = cpuNsPerCall((key) => equal.indexFor(key), keys, calls);
    const nsWeighted = cpuNsPerCall((key) => weighted.indexFor(key), keys, calls);
    // The replicas of a key (issue 21): the 2 best of its ranking, in the array replicasFor returns.
    const ns2 = cpuNsPerCall((key) => equal.replicasFor(key, 2).length, keys, calls);
    const ns2Weighted = cpuNsPerCall((key) => weighted.replicasFor(key, 2).length, keys, calls);
    rows.push({
      servers: count,
      'µs/key (equal weights)': +(ns / 1000).toFixed(3),
      'µs/key (weights 1,2,3)': +(nsWeighted / 1000).toFixed(3),
      'ns per server': count > 1 ? +(ns / count).toFixed(1) : '-',
      'k=2 µs/key (equal weights)': +(ns2 / 1000).toFixed(3),
      'k=2 µs/key (weights 1,2,3)': +(ns2Weighted / 1000).toFixed(3),
    });
  }
  return { calibrationNs: +calibration.toFixed(2), rows };
}

// ---- throughput ---------------------------------------------------------------------

const VALUE = 'x'.repeat(100);

/**
 * Closed loop: `inFlight` loops, each awaiting its request before the next.
 * Returns ops/s, the client's CPU time per request (µs; the servers run in
 * other processes) and the number of wrong replies.
 */
async function closedLoop(client, op, keys, inFlight, seconds) {
  let ops = 0;
  let wrong = 0;
  const deadline = performance.now() + seconds * 1000;
  const next = keyGenerator(inFlight);
  const loop = async () => {
    while (performance.now() < deadline) {
      const key = keys[next() % keys.length];
      if (op === 'GET') {
        if ((await client.get(key)) !== VALUE) wrong++;
      } else if ((await client.set(key, VALUE)) !== 'OK') wrong++;
      ops++;
    }
  };
  const started = performance.now();
  const cpu = process.cpuUsage();
  await Promise.all(Array.from({ length: inFlight }, loop));
  const spent = process.cpuUsage(cpu);
  return { ops: ops / ((performance.now() - started) / 1000), cpuPerOp: (spent.user + spent.system) / ops, wrong };
}

async function throughputGoal({ rounds, seconds, inFlight }) {
  const poolSize = 4;
  const children = await Promise.all([0, 1, 2].map(() => startEmbeddedServer('etx')));
  try {
    log(`throughput: 3 embedded servers in child processes (pids ${children.map((c) => c.pid).join(', ')}), ${rounds} rounds x ${seconds}s`);
    const keys = randomKeys(1000, 11);
    const clients = {
      one: new ZCached({ host: children[0].host, port: children[0].port, poolSize }),
      'one, 12 conns': new ZCached({ host: children[0].host, port: children[0].port, poolSize: poolSize * 3 }),
      'fleet of 1': new ZCachedFleet({ servers: [{ host: children[0].host, port: children[0].port }], poolSize }),
      'fleet of 3': new ZCachedFleet({ servers: children.map((c) => ({ host: c.host, port: c.port })), poolSize }),
    };
    for (const client of Object.values(clients)) await client.run();
    await clients['fleet of 3'].mset(keys.map((key) => [key, VALUE]));
    await clients.one.mset(keys.map((key) => [key, VALUE]));
    const cells = [];
    for (const op of ['GET', 'SET']) {
      const samples = Object.fromEntries(Object.keys(clients).map((name) => [name, []]));
      const cpu = Object.fromEntries(Object.keys(clients).map((name) => [name, []]));
      let wrong = 0;
      for (let round = 0; round < rounds; round++) {
        const order = Object.keys(clients);
        if (round % 2 === 1) order.reverse();
        for (const name of order) {
          const result = await closedLoop(clients[name], op, keys, inFlight, seconds);
          samples[name].push(result.ops);
          cpu[name].push(result.cpuPerOp);
          wrong += result.wrong;
        }
      }
      const rate = (name) => formatRate(median(samples[name]));
      const perRequest = (name) => +median(cpu[name]).toFixed(2);
      cells.push({
        cell: `${op} 100 B, ${inFlight} in flight`,
        'one server (pool 4)': rate('one'),
        'one server (pool 12)': rate('one, 12 conns'),
        'fleet of 3 (pool 4 each)': rate('fleet of 3'),
        'fleet of 3 / one': +pairedRatio(samples['fleet of 3'], samples.one).toFixed(2),
        'fleet of 3 / one (pool 12)': +pairedRatio(samples['fleet of 3'], samples['one, 12 conns']).toFixed(2),
        'client CPU µs/req: one, pool 4': perRequest('one'),
        'one, pool 12': perRequest('one, 12 conns'),
        'fleet of 1': perRequest('fleet of 1'),
        'fleet of 3': perRequest('fleet of 3'),
        'wrong replies': wrong,
      });
    }
    for (const client of Object.values(clients)) await client.close();
    return cells;
  } finally {
    await Promise.all(children.map((child) => child.stop()));
  }
}

/** The replica counts compared by {@link replicasGoal}; the first is the baseline of the ratios. */
const REPLICAS = [1, 2, 3];

/**
 * The cost of replicas (issue 21): `servers` embedded servers (child
 * processes), and on them one `ZCachedFleet` per replica count (pool 4 per
 * server each), the same keys (preloaded on their 3 best servers, so every
 * fleet finds them) and the same closed loops. Per op (GET, SET) and round,
 * every fleet runs once, the order reversed every other round, after a
 * short warm-up of each. A SET goes to the key's k replicas, a GET to the
 * best one (every key is present: no failover on a miss).
 */
async function replicasGoal({ rounds, seconds, inFlight, servers }) {
  const poolSize = 4;
  const children = await Promise.all(Array.from({ length: servers }, () => startEmbeddedServer('etx')));
  try {
    log(`replicas: ${servers} embedded servers in child processes (pids ${children.map((c) => c.pid).join(', ')}), replicas ${REPLICAS.join(' vs ')}, ${rounds} rounds x ${seconds}s`);
    const keys = randomKeys(1000, 13);
    const fleets = new Map(REPLICAS.map((k) => [k, new ZCachedFleet({ servers: children.map((c) => ({ host: c.host, port: c.port })), poolSize, replicas: k })]));
    for (const fleet of fleets.values()) await fleet.run();
    await fleets.get(Math.max(...REPLICAS)).mset(keys.map((key) => [key, VALUE]));
    const cells = [];
    for (const op of ['GET', 'SET']) {
      const samples = new Map(REPLICAS.map((k) => [k, []]));
      const cpu = new Map(REPLICAS.map((k) => [k, []]));
      let wrong = 0;
      for (const k of REPLICAS) wrong += (await closedLoop(fleets.get(k), op, keys, inFlight, Math.min(0.3, seconds))).wrong;
      for (let round = 0; round < rounds; round++) {
        const order = round % 2 === 1 ? [...REPLICAS].reverse() : REPLICAS;
        for (const k of order) {
          const result = await closedLoop(fleets.get(k), op, keys, inFlight, seconds);
          samples.get(k).push(result.ops);
          cpu.get(k).push(result.cpuPerOp);
          wrong += result.wrong;
        }
      }
      const [base, ...others] = REPLICAS;
      cells.push({
        cell: `${op} 100 B, ${inFlight} in flight`,
        ...Object.fromEntries(REPLICAS.map((k) => [`replicas ${k}`, formatRate(median(samples.get(k)))])),
        ...Object.fromEntries(others.map((k) => [`${k} / ${base}`, +pairedRatio(samples.get(k), samples.get(base)).toFixed(2)])),
        ...Object.fromEntries(REPLICAS.map((k) => [`client CPU µs/op: replicas ${k}`, +median(cpu.get(k)).toFixed(2)])),
        ...Object.fromEntries(others.map((k) => [`CPU ${k} / ${base}`, +pairedRatio(cpu.get(k), cpu.get(base)).toFixed(2)])),
        'wrong replies': wrong,
        opsPerRound: Object.fromEntries(REPLICAS.map((k) => [k, samples.get(k).map(Math.round)])),
      });
    }
    for (const fleet of fleets.values()) await fleet.close();
    return { servers, rounds, seconds, cells };
  } finally {
    await Promise.all(children.map((child) => child.stop()));
  }
}

// ---- the report ---------------------------------------------------------------------

/**
 * Runs the fleet benchmarks; returns `{ environment, balance, weights, movement, cost, throughput, replicas, goals }`
 * (the parts `only` leaves out are absent). Defaults as `node bench/fleet.mjs` without flags.
 * @param {{ quick?: boolean, print?: boolean, only?: 'placement' | 'throughput' | 'replicas', servers?: number, inFlight?: number, rounds?: number, seconds?: number }} options
 */
export async function fleetBench({ quick = false, print = true, only, servers = 4, inFlight = 256, rounds = quick ? 3 : 7, seconds = quick ? 0.4 : 1 } = {}) {
  const loadAverage = () => os.loadavg().map((x) => +x.toFixed(2));
  const report = {
    environment: { node: process.version, cpu: os.cpus()[0]?.model ?? 'unknown', cores: os.availableParallelism(), loadAverage: loadAverage() },
  };
  const part = (name) => only === undefined || only === name;
  if (part('placement')) {
    log('fleet placement: 1,000,000 keys');
    const keys = randomKeys(1_000_000, 1);
    report.balance = balanceGoal(keys);
    report.weights = weightsGoal(keys);
    report.movement = movementGoal(keys);
    log('fleet placement cost (CPU time)');
    report.cost = costGoal();
  }
  if (part('throughput')) report.throughput = await throughputGoal({ rounds, seconds, inFlight });
  if (part('replicas')) report.replicas = await replicasGoal({ rounds, seconds, inFlight, servers });
  report.environment.loadAverageAtEnd = loadAverage();
  report.goals = goals(report);
  if (print) printFleetReport(report);
  return report;
}

function goals(report) {
  const rows = [];
  const add = (goal, measured, target, met) => rows.push({ goal, measured, target, status: met ? 'met' : 'NOT MET' });
  if (report.balance !== undefined) {
    const b = report.balance;
    add('balance, 10 equal servers, 1M keys: max / mean', b['rendezvous max/mean'], '<= 1.02', b['rendezvous max/mean'] <= 1.02);
    const worst = Math.max(...report.weights.map((row) => Math.abs(row.offBy)));
    add('weights 1:2:3: worst share off its target', `${(worst * 100).toFixed(2)} %`, '< 2 %', worst < 0.02);
    const m = report.movement;
    add('add an 11th: share of keys moved', m.add['moved (share of keys)'], '1/11 within 1 point', m.add['off by (points)'] <= 0.01);
    add('add an 11th: keys moved between old servers', m.add['moved between old servers'], '0', m.add['moved between old servers'] === 0);
    add('remove one: keys moved that were not its own', m.remove['other keys moved'], '0', m.remove['other keys moved'] === 0);
    const ten = report.cost.rows.find((row) => row.servers === 10);
    add('placement at 10 servers (CPU time)', `${ten['µs/key (equal weights)']} µs/key`, '< 1 µs/key', ten['µs/key (equal weights)'] < 1);
    add('replicas: placement of k = 2 at 10 servers (CPU time)', `${ten['k=2 µs/key (equal weights)']} µs/key`, '< 1.5 µs/key', ten['k=2 µs/key (equal weights)'] < 1.5);
  }
  if (report.throughput !== undefined) {
    for (const cell of report.throughput) add(`throughput, fleet of 3 vs one server: ${cell.cell}`, cell['fleet of 3 / one'], 'ratio reported', true);
  }
  if (report.replicas !== undefined) {
    for (const cell of report.replicas.cells) {
      const write = cell.cell.startsWith('SET');
      for (const k of REPLICAS.slice(1)) {
        const ratio = cell[`${k} / 1`];
        rows.push({
          goal: `replicas ${k} vs 1, ops/s: ${cell.cell}`,
          measured: `${ratio} (costs ${(1 / ratio).toFixed(2)}x)`,
          target: write ? `about 1/${k}: a write goes to ${k} servers` : 'about 1: a read goes to one server',
          status: 'reported',
        });
      }
    }
  }
  return rows;
}

/** Prints the tables of a {@link fleetBench} report (for `bench/run.mjs`, which prints everything at the end). */
export function printFleetReport(report) {
  const section = (title) => console.log(`\n=== ${title} ${'='.repeat(Math.max(0, 74 - title.length))}`);
  const env = report.environment;
  section('fleet: environment');
  const atEnd = env.loadAverageAtEnd === undefined ? '' : `; at the end ${env.loadAverageAtEnd.join(' ')}`;
  console.log(`node ${env.node}, ${env.cpu}, ${env.cores} cores, load average ${env.loadAverage.join(' ')}${atEnd}`);
  if (report.balance !== undefined) {
    section('balance: 1,000,000 keys on 10 equal servers (weighted rendezvous vs ketama 160 points)');
    console.table([report.balance]);
    section('weights 1:2:3 (1,000,000 keys)');
    console.table(report.weights.map(({ offBy, ...row }) => row));
    section('minimal movement (1,000,000 keys): add an 11th server, remove one of 10');
    console.table(report.movement);
    section(`placement cost, CPU time per key (calibration: ${report.cost.calibrationNs} ns per multiply-xor-shift call)`);
    console.log('k = 1: Placement#indexFor(key); k = 2: Placement#replicasFor(key, 2), its 2 replicas in a new array');
    console.table(report.cost.rows);
  }
  if (report.throughput !== undefined) {
    section('throughput: fleet of 3 embedded servers (3 child processes) vs one, same workload');
    console.table(report.throughput);
  }
  if (report.replicas !== undefined) {
    const { servers, rounds, seconds, cells } = report.replicas;
    section(`replicas ${REPLICAS.join(' vs ')}: fleets of the same ${servers} embedded servers (${servers} child processes), pool 4 each`);
    console.log(`${rounds} rounds x ${seconds} s per fleet; ops/s: median over rounds; ratios: median of the per-round ratios to replicas 1`);
    console.table(cells.map(({ opsPerRound, ...cell }) => cell));
  }
  section('issue 13 and 21 goals');
  console.table(report.goals);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  fleetBench(cli('fleet', FLEET_USAGE, parseFleetArgs)).catch((error) => {
    console.error(error);
    process.exitCode = 1;
  });
}
