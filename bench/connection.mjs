// Connection throughput and latency: one Connection, GET and SET of 100-byte
// values, 1 and 256 requests in flight (closed-loop workers), against the
// embedded server ('etx' dialect, run in a worker thread so that it has an
// event loop of its own) and, when `redis-server` is on PATH, against a
// throw-away redis-server with the dialect { requestTerminator: false, pipelining: true }.
// Every reply is checked (GET must return the value set).
//
//   npm run build && node bench/connection.mjs [--seconds 2.5] [--warmup 0.5]   (--help; unknown flags: exit 2)
//
// A measurement, not a test: nothing here asserts a time.

import { execFileSync, spawn } from 'node:child_process';
import net from 'node:net';
import os from 'node:os';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { Connection } from 'zcached';
import { startServer } from 'zcached/testing';
import { CONNECTION_USAGE, cli, parseConnectionArgs } from './args.mjs';
import { LatencyHistogram } from './stats.mjs';

const KEYS = 1000;
const VALUE_BYTES = 100;
const IN_FLIGHT = [1, 256];
const OPS = ['GET', 'SET'];

// ---- the embedded server, in a worker thread --------------------------------

if (!isMainThread && workerData?.role === 'zcached-bench-server') {
  const server = await startServer({ dialect: workerData.dialect });
  parentPort.postMessage({ port: server.port, host: server.host });
  parentPort.once('message', async () => {
    await server.close();
    parentPort.postMessage({ closed: true });
  });
}

/** Starts the embedded server in a worker thread; resolves with its address and a stop function. */
async function startEmbeddedServer(dialect) {
  const worker = new Worker(new URL(import.meta.url), { workerData: { role: 'zcached-bench-server', dialect } });
  const { host, port } = await new Promise((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  return {
    host,
    port,
    stop: async () => {
      worker.postMessage('close');
      await new Promise((resolve) => worker.once('message', resolve));
      await worker.terminate();
    },
  };
}

// ---- redis-server --------------------------------------------------------------

function redisServerPath() {
  try {
    return execFileSync('which', ['redis-server'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() || undefined;
  } catch {
    return undefined;
  }
}

async function freePort() {
  const probe = net.createServer();
  await new Promise((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address();
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

/** Starts `redis-server` on a free port (no persistence); resolves once it accepts connections. */
async function startRedis(binary) {
  const port = await freePort();
  const child = spawn(binary, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const deadline = Date.now() + 5000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`redis-server exited at start:\n${output}`);
    const up = await new Promise((resolve) => {
      const socket = net.connect({ host: '127.0.0.1', port }, () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (up) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`redis-server did not start listening on ${port}:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return {
    host: '127.0.0.1',
    port,
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

// ---- the measurement -------------------------------------------------------------

const keys = Array.from({ length: KEYS }, (_, i) => `bench:key:${i}`);
const values = keys.map((key) => `${key}:`.padEnd(VALUE_BYTES, 'v'));

/**
 * One cell: `inFlight` closed-loop workers send `op` for `warmup` + `seconds`;
 * only the last `seconds` count. Throws on the first wrong reply.
 */
async function measureCell(connection, op, inFlight, { seconds, warmup }) {
  const latencies = [];
  let next = 0;
  let measuring = false;
  let stop = false;
  let ops = 0;
  const worker = async () => {
    while (!stop) {
      const i = next++ % KEYS;
      const started = performance.now();
      const reply = await connection.send(op === 'GET' ? ['GET', keys[i]] : ['SET', keys[i], values[i]]);
      const elapsed = performance.now() - started;
      const expected = op === 'GET' ? values[i] : 'OK';
      if (reply !== expected) throw new Error(`${op} ${keys[i]}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(reply)}`);
      if (measuring) {
        latencies.push(elapsed);
        ops++;
      }
    }
  };
  const workers = Array.from({ length: inFlight }, worker);
  await new Promise((resolve) => setTimeout(resolve, warmup * 1000));
  measuring = true;
  const start = performance.now();
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  measuring = false;
  const elapsed = (performance.now() - start) / 1000;
  stop = true;
  await Promise.all(workers);
  // Into the perf_hooks histogram after the run: a record() per request would cost more than the push.
  const histogram = new LatencyHistogram();
  for (const latency of latencies) histogram.record(latency);
  const [p50, p99] = histogram.percentilesMs([50, 99]);
  return {
    'ops/s': Math.round(ops / elapsed),
    'p50 ms': +p50.toFixed(3),
    'p99 ms': +p99.toFixed(3),
    requests: ops,
  };
}

/** Runs every cell against one server; SET first so that GET finds every key. */
async function benchTarget(name, address, dialect, options) {
  const connection = new Connection({ host: address.host, port: address.port, dialect });
  const rows = [];
  try {
    await connection.connect();
    // Load every key once, and check a read back.
    await Promise.all(keys.map((key, i) => connection.send(['SET', key, values[i]])));
    if ((await connection.send(['GET', keys[0]])) !== values[0]) throw new Error(`${name}: GET after SET returned another value`);
    for (const op of [...OPS].reverse()) {
      for (const inFlight of IN_FLIGHT) {
        const result = await measureCell(connection, op, inFlight, options);
        rows.push({ server: name, op, 'in flight': inFlight, ...result });
        options.log?.(`${name} ${op} x${inFlight}: ${result['ops/s']} ops/s`);
      }
    }
  } finally {
    await connection.close({ force: true });
  }
  return rows.sort((a, b) => OPS.indexOf(a.op) - OPS.indexOf(b.op) || a['in flight'] - b['in flight']);
}

/**
 * Runs the benchmark and returns its rows (also printed as a table unless
 * `print` is false). Options: `seconds` per cell (default 2.5), `warmup`
 * seconds (default 0.5), `redis`: 'auto' (when on PATH, the default), true or false.
 */
export async function connectionBench({ seconds = 2.5, warmup = 0.5, redis = 'auto', print = true } = {}) {
  const options = { seconds, warmup, log: print ? (line) => console.error(`  ${line}`) : undefined };
  const rows = [];
  const embedded = await startEmbeddedServer('etx');
  try {
    rows.push(...(await benchTarget('embedded (etx)', embedded, 'etx', options)));
  } finally {
    await embedded.stop();
  }
  const binary = redis === false ? undefined : redisServerPath();
  if (binary === undefined) {
    if (redis === true) throw new Error('redis-server is not on PATH');
    if (print) console.error('  redis-server not found on PATH: skipped');
  } else {
    const server = await startRedis(binary);
    try {
      rows.push(...(await benchTarget('redis-server', server, { requestTerminator: false, pipelining: true }, options)));
    } finally {
      await server.stop();
    }
  }
  if (print) {
    console.log(`Connection benchmark: node ${process.version}, ${os.cpus()[0]?.model ?? 'cpu'} x${os.cpus().length}, ${seconds} s per cell after ${warmup} s warm-up, ${VALUE_BYTES}-byte values`);
    console.table(rows);
  }
  return rows;
}

if (isMainThread && import.meta.url === `file://${process.argv[1]}`) {
  await connectionBench(cli('connection', CONNECTION_USAGE, parseConnectionArgs));
}
