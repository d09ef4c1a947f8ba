// Client CPU per operation: one ZCached client (pool 1) on a throw-away
// redis-server, closed loops of GET (or SET), no latency recording, so that
// what is measured is the client: ops/s, this process's CPU time (user +
// system) per operation in µs, and the server's CPU share. The figure to
// compare two builds by (run them alternately, several times each: the
// machine's other work moves every figure).
//
//   npm run build && node bench/client-cpu.mjs [--op GET|SET] [--size 100] [--in-flight 256] [--seconds 3]
//
// A measurement, not a test: nothing here asserts a time.

import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ZCached } from 'zcached';
import { startRedisServer } from './redis-server.mjs';

const USAGE = 'usage: node bench/client-cpu.mjs [--op GET|SET] [--size bytes] [--in-flight n] [--seconds s]';
let args;
try {
  args = parseArgs({
    options: {
      op: { type: 'string', default: 'GET' },
      size: { type: 'string', default: '100' },
      'in-flight': { type: 'string', default: '256' },
      seconds: { type: 'string', default: '3' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  }).values;
} catch (error) {
  process.stderr.write(`client-cpu: ${error.message}\n${USAGE}\n`);
  process.exit(2);
}
if (args.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
const op = args.op.toUpperCase();
const size = Number(args.size);
const inFlight = Number(args['in-flight']);
const seconds = Number(args.seconds);
if (!['GET', 'SET'].includes(op) || !Number.isSafeInteger(size) || size < 1 || !Number.isSafeInteger(inFlight) || inFlight < 1 || !(seconds > 0)) {
  process.stderr.write(`client-cpu: bad arguments\n${USAGE}\n`);
  process.exit(2);
}

/** CPU seconds (user + system) the process `pid` has used, from /proc (Linux); NaN elsewhere. */
function cpuSecondsOf(pid) {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // clock ticks, USER_HZ 100
  } catch {
    return Number.NaN;
  }
}

const redis = await startRedisServer();
const client = new ZCached({ host: redis.host, port: redis.port, poolSize: 1, dialect: { requestTerminator: false, pipelining: true } });
try {
  await client.run();
  const value = 'v'.repeat(size);
  const keys = Array.from({ length: 1000 }, (_, i) => `key:${i}`);
  for (const key of keys) await client.set(key, value);
  const run = { stop: false, count: 0, failure: undefined };
  const loop = async (first) => {
    for (let k = first % keys.length; !run.stop; k = (k + inFlight) % keys.length) {
      const reply = op === 'GET' ? await client.get(keys[k]) : await client.set(keys[k], value);
      if (op === 'GET' ? reply !== value : reply !== 'OK') run.failure ??= `${op} ${keys[k]}: unexpected reply`;
      run.count++;
    }
  };
  // Warm-up, then the timed run.
  const warm = setTimeout(() => (run.stop = true), 500);
  await Promise.all(Array.from({ length: inFlight }, (_, i) => loop(i)));
  clearTimeout(warm);
  Object.assign(run, { stop: false, count: 0 });
  const serverStart = cpuSecondsOf(redis.pid);
  const cpuStart = process.cpuUsage();
  const start = performance.now();
  const timer = setTimeout(() => (run.stop = true), seconds * 1000);
  await Promise.all(Array.from({ length: inFlight }, (_, i) => loop(i)));
  clearTimeout(timer);
  const elapsed = (performance.now() - start) / 1000;
  const cpu = process.cpuUsage(cpuStart);
  const server = cpuSecondsOf(redis.pid) - serverStart;
  if (run.failure !== undefined) throw new Error(run.failure);
  console.log(
    `${op} ${size} B x${inFlight}: ${Math.round(run.count / elapsed)} ops/s, client CPU ${((cpu.user + cpu.system) / run.count).toFixed(3)} µs/op ` +
      `(${((cpu.user + cpu.system) / 1e6 / elapsed).toFixed(2)} cores), redis-server ${(server / elapsed).toFixed(2)} cores`,
  );
} finally {
  await client.close();
  await redis.stop();
}
