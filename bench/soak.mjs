// `npm run soak`: minutes of mixed load through the fault proxy, with random
// faults, checking the promises of issue 7 ("Reliability under faults"):
//
//   - every request settles, at the latest a grace period after its deadline;
//   - every reply is right (each worker owns its keys and knows what it wrote);
//   - the heap does not keep growing.
//
//   npm run build && node --expose-gc bench/soak.mjs [--minutes 10] [--workers 16] [--seed 42]
//   SOAK_MINUTES=1 npm run soak
//
// Prints requests, ops/s, errors by type, faults injected, max heap; exits 1
// when a promise was broken. Not a CI test: it runs for minutes.
//
// How replies are checked. Every value written embeds its key and a sequence
// number, and the rest of it is derived from both, so a GET can tell the right
// value from a stale one, another key's value, or damaged bytes. Per key the
// worker tracks the last acknowledged write and the writes that failed (their
// fate is unknown: applied or not). A read may return the last acknowledged
// write, or any failed write that came after it -- or any failed write at all:
// a buffering proxy (like the fault proxy holding bytes during a half-open, or
// throttling them) can deliver a write after its client gave up on it, and
// after newer writes. No client can prevent that without request ids; such
// late landings are counted and printed, not failed. Anything else is wrong.

import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { DialectError, PoolEmptyError, ZCached, ZCachedError } from '../dist/index.js';
import { startProxy, startServer } from '../dist/testing/index.js';

// ---------------------------------------------------------------- settings

function argument(name) {
  const index = process.argv.indexOf(`--${name}`);
  return index === -1 ? undefined : process.argv[index + 1];
}

const minutes = Number(argument('minutes') ?? process.env.SOAK_MINUTES ?? 10);
if (!(minutes > 0)) throw new RangeError(`--minutes must be a positive number, got ${argument('minutes') ?? process.env.SOAK_MINUTES}`);
const DURATION_MS = minutes * 60_000;
const WORKERS = Number(argument('workers') ?? 16);
const KEYS_PER_WORKER = 32;
const TIMEOUT_LIMIT = 1_000;
/** A request unsettled this long after its deadline breaks the promise. */
const GRACE_MS = 2_000;
const HEAP_SAMPLE_MS = 2_000;
let seed = Number(argument('seed') ?? Date.now() % 2 ** 31);
const initialSeed = seed;

/** A small seeded PRNG (mulberry32): a run can be replayed with --seed. */
function random() {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
}
const between = (low, high) => low + Math.floor(random() * (high - low + 1));
const pick = (items) => items[Math.floor(random() * items.length)];
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

let gc = globalThis.gc;
if (typeof gc !== 'function') {
  try {
    setFlagsFromString('--expose-gc');
    gc = runInNewContext('gc');
  } catch {
    gc = undefined;
  }
}

// ---------------------------------------------------------------- bookkeeping

const stats = {
  requests: 0,
  ok: 0,
  errors: new Map(), // error name (code) -> count
  thrown: new Map(), // synchronous argument errors, by name
  faults: new Map(), // fault -> count
  wrongReplies: [],
  lateLandings: 0, // reads that saw a failed write land after a newer acknowledged one
  unsettledPastDeadline: [],
  connectAttempts: 0,
  heap: [], // { at, used (after GC), max (before GC) }
};
const bump = (map, key) => map.set(key, (map.get(key) ?? 0) + 1);

/** Requests not settled yet: id -> { op, startedAt, deadline }. */
const inFlight = new Map();
let nextRequestId = 0;

/** Runs one request, tracked from start to settlement against its deadline. */
async function tracked(op, timeout, run) {
  const id = nextRequestId++;
  const startedAt = performance.now();
  inFlight.set(id, { op, startedAt, deadline: startedAt + timeout });
  stats.requests++;
  try {
    const reply = await run();
    stats.ok++;
    return { ok: true, reply };
  } catch (error) {
    const name = error instanceof Error ? `${error.name}${error.code === undefined ? '' : ` (${error.code})`}` : typeof error;
    bump(stats.errors, name);
    if (!(error instanceof ZCachedError || error instanceof PoolEmptyError)) {
      stats.wrongReplies.push(`${op}: untyped failure ${String(error)}`);
    }
    return { ok: false, error };
  } finally {
    inFlight.delete(id);
  }
}

function watchDeadlines() {
  const now = performance.now();
  for (const [id, request] of inFlight) {
    if (now > request.deadline + GRACE_MS) {
      stats.unsettledPastDeadline.push(`${request.op}: unsettled ${Math.round(now - request.startedAt)} ms after its start (deadline ${Math.round(request.deadline - request.startedAt)} ms)`);
      inFlight.delete(id);
    }
  }
}

function sampleHeap() {
  const max = process.memoryUsage().heapUsed;
  gc?.();
  const { heapUsed, rss } = process.memoryUsage();
  stats.heap.push({ at: performance.now(), used: heapUsed, max, rss });
}

// ---------------------------------------------------------------- values and the per-key model

/** The value written to `key` by write number `seq`: it names both, and the rest is derived from them. */
function valueFor(key, seq) {
  const size = seq % 97 === 0 ? 40_000 : (seq * 37) % 600;
  const letter = String.fromCharCode(97 + (seq % 26));
  const text = `${key}#${seq}#${letter.repeat(size)}`;
  return seq % 5 === 0 ? [key, seq, text] : text;
}

/** Reads back `key#seq` from a value as written by {@link valueFor}; undefined when it is not one. */
function parseValue(key, reply) {
  const text = Array.isArray(reply) ? reply[2] : reply;
  if (typeof text !== 'string') return undefined;
  const [k, s] = text.split('#', 2);
  const seq = Number(s);
  if (k !== key || !Number.isSafeInteger(seq)) return undefined;
  return JSON.stringify(reply) === JSON.stringify(valueFor(key, seq)) ? seq : undefined;
}

/** What one worker knows about one of its keys. */
class KeyModel {
  constructor(key) {
    this.key = key;
    this.nextSeq = 1;
    /** Sequence of the last acknowledged write; 0 = never written; negative = deleted by write -seq. */
    this.acked = 0;
    /** Writes (seqs; negative for deletes) that failed: each may or may not have been applied. */
    this.failed = new Set();
  }

  /** Checks a GET reply (`undefined` for a missing key); returns an error text when it is wrong. */
  check(reply) {
    if (reply === undefined) {
      if (this.acked <= 0) return undefined;
      const failedDeletes = [...this.failed].filter((seq) => seq < 0).map((seq) => -seq);
      if (failedDeletes.some((seq) => seq > this.acked)) return undefined;
      if (failedDeletes.length > 0) return this.#late();
      return `${this.key}: missing, but write #${this.acked} was acknowledged`;
    }
    const seq = parseValue(this.key, reply);
    if (seq === undefined) return `${this.key}: a value that was never written: ${JSON.stringify(reply).slice(0, 120)}`;
    if (seq === this.acked) return undefined;
    if (this.failed.has(seq)) return seq > Math.abs(this.acked) ? undefined : this.#late();
    return `${this.key}: write #${seq} read back, but #${this.acked} was the last acknowledged`;
  }

  #late() {
    stats.lateLandings++;
    return undefined;
  }
}

// ---------------------------------------------------------------- workers

/** One worker: owns its keys, runs one operation at a time until `stop`. */
async function worker(index, client, until) {
  const keys = Array.from({ length: KEYS_PER_WORKER }, (_, i) => new KeyModel(`w${index}:k${i}`));
  const expect = (condition, text) => {
    if (!condition) stats.wrongReplies.push(text);
  };
  // After a failure the worker pauses a little, as an application retrying would. (Without it a
  // worker meeting PoolEmptyError, which rejects at once, would spin on microtasks and starve the
  // event loop: no timer, no socket, no reconnect would ever run again.)
  const attempt = async (op, timeout, run) => {
    const result = await tracked(op, timeout, run);
    if (!result.ok) await sleep(between(5, 20));
    return result;
  };
  while (performance.now() < until()) {
    const roll = random();
    const model = pick(keys);
    const perCall = random() < 0.1 ? { timeout: between(100, 400) } : undefined;
    const timeout = perCall?.timeout ?? TIMEOUT_LIMIT;
    if (roll < 0.3) {
      const seq = model.nextSeq++;
      const result = await attempt('SET', timeout, () => client.set(model.key, valueFor(model.key, seq), perCall));
      if (result.ok) {
        expect(result.reply === 'OK', `SET ${model.key}: replied ${JSON.stringify(result.reply)}`);
        model.acked = seq;
      } else model.failed.add(seq);
    } else if (roll < 0.62) {
      const result = await attempt('GET', timeout, () => client.get(model.key, perCall));
      if (result.ok) {
        const wrong = model.check(result.reply);
        if (wrong !== undefined) stats.wrongReplies.push(`GET ${wrong}`);
      }
    } else if (roll < 0.67) {
      const seq = model.nextSeq++;
      const result = await attempt('DELETE', timeout, () => client.delete(model.key, perCall));
      if (result.ok) {
        expect(typeof result.reply === 'boolean', `DELETE ${model.key}: replied ${JSON.stringify(result.reply)}`);
        model.acked = -seq;
      } else model.failed.add(-seq);
    } else if (roll < 0.72) {
      const chosen = [...new Set([pick(keys), pick(keys), pick(keys)])];
      const seqs = chosen.map((m) => m.nextSeq++);
      const result = await attempt('MSET', TIMEOUT_LIMIT, () => client.mset(chosen.map((m, i) => [m.key, valueFor(m.key, seqs[i])])));
      chosen.forEach((m, i) => {
        if (result.ok) m.acked = seqs[i];
        else m.failed.add(seqs[i]);
      });
    } else if (roll < 0.77) {
      const chosen = [...new Set([pick(keys), pick(keys), pick(keys)])];
      const result = await attempt('MGET', TIMEOUT_LIMIT, () => client.mget(...chosen.map((m) => m.key)));
      if (result.ok) {
        expect(result.reply instanceof Map && result.reply.size === chosen.length, `MGET: replied ${String(result.reply)}`);
        for (const m of chosen) {
          const value = result.reply instanceof Map ? result.reply.get(m.key) : undefined;
          const wrong = m.check(value === null ? undefined : value);
          if (wrong !== undefined) stats.wrongReplies.push(`MGET ${wrong}`);
        }
      }
    } else if (roll < 0.85) {
      // ECHO of a unique token: the surest sign that the reply stream is in step.
      const token = `echo:${index}:${nextRequestId}:${between(0, 1e9)}`;
      const result = await attempt('ECHO', timeout, () => client.echo(token, perCall));
      if (result.ok) expect(result.reply === token, `ECHO: sent ${token}, got ${JSON.stringify(result.reply).slice(0, 80)}`);
    } else if (roll < 0.9) {
      const result = await attempt('PING', timeout, () => client.ping(perCall));
      if (result.ok) expect(result.reply === 'PONG', `PING: replied ${JSON.stringify(result.reply)}`);
    } else if (roll < 0.93) {
      const result = await attempt('DBSIZE', timeout, () => client.dbsize(perCall));
      if (result.ok) expect(Number.isInteger(result.reply) && result.reply >= 0, `DBSIZE: replied ${JSON.stringify(result.reply)}`);
    } else if (roll < 0.96) {
      // Aborted by the caller: must reject with an AbortError (or succeed first), never hang.
      const signal = AbortSignal.timeout(between(1, 50));
      const result = await attempt('GET+abort', TIMEOUT_LIMIT, () => client.get(model.key, { signal }));
      if (result.ok) {
        const wrong = model.check(result.reply);
        if (wrong !== undefined) stats.wrongReplies.push(`GET ${wrong}`);
      }
    } else if (roll < 0.97) {
      // Bad input: refused synchronously with a typed error, nothing sent.
      try {
        void client.set(model.key, `bad\x03value`);
        stats.wrongReplies.push('SET with 0x03 was accepted');
      } catch (error) {
        bump(stats.thrown, error instanceof DialectError ? 'DialectError' : String(error));
      }
    } else {
      const result = await attempt('EXISTS', timeout, () => client.exists(model.key, perCall));
      if (result.ok) expect(typeof result.reply === 'boolean', `EXISTS: replied ${JSON.stringify(result.reply)}`);
    }
  }
  return keys;
}

// ---------------------------------------------------------------- faults

/** Each fault: what it does, and how long it lasts (ms) before it is undone. */
const FAULTS = {
  async 'latency spike'(proxy) {
    proxy.setLatency(between(20, 300), pick(['both', 'upstream', 'downstream']));
    await sleep(between(500, 3_000));
    proxy.setLatency(0);
  },
  async 'bandwidth limit'(proxy) {
    proxy.setBandwidth(between(20_000, 500_000), pick(['both', 'downstream']));
    await sleep(between(500, 3_000));
    proxy.setBandwidth(undefined);
  },
  async 'cut (rst)'(proxy) {
    proxy.cutConnections({ mode: 'rst' });
  },
  async 'cut (fin)'(proxy) {
    proxy.cutConnections({ mode: 'fin' });
  },
  async 'half-open, then heal'(proxy) {
    proxy.halfOpen({ direction: pick(['upstream', 'downstream', 'both']) });
    await sleep(between(300, 2_500));
    proxy.heal();
  },
  async 'half-open, then reset'(proxy) {
    proxy.halfOpen({ direction: pick(['upstream', 'both']) });
    await sleep(between(300, 2_500));
    proxy.cutConnections({ mode: 'rst' });
    proxy.heal();
  },
  async 'refuse connections'(proxy) {
    await proxy.refuseConnections(true, { mode: pick(['refuse', 'reset']) });
    proxy.cutConnections({ mode: 'rst' });
    await sleep(between(300, 2_000));
    await proxy.refuseConnections(false);
  },
  async 'truncated reply'(proxy) {
    proxy.truncateNextReply(between(0, 20), { then: pick(['fin', 'rst', 'stall']) });
  },
  async 'corrupt reply'(proxy) {
    // An invalid type byte in front of the next chunk: detectable whatever the chunk holds.
    proxy.corruptNextReply((chunk) => Buffer.concat([Buffer.from('!\r\n'), chunk]));
  },
};

async function injectFaults(proxy, until) {
  while (performance.now() < until()) {
    await sleep(between(1_000, 4_000));
    if (performance.now() >= until()) break;
    const name = pick(Object.keys(FAULTS));
    bump(stats.faults, name);
    await FAULTS[name](proxy);
  }
}

// ---------------------------------------------------------------- run

function mb(bytes) {
  return `${(bytes / 2 ** 20).toFixed(1)} MB`;
}

/** Heap after GC keeps growing: the mean of the last half of the samples (after a warm-up) against the first half. */
function heapGrowth() {
  const samples = stats.heap.map((s) => s.used);
  const steady = samples.slice(Math.max(1, Math.floor(samples.length * 0.2)));
  if (steady.length < 4) return { grows: false, first: Number.NaN, second: Number.NaN };
  const half = Math.floor(steady.length / 2);
  const mean = (values) => values.reduce((a, b) => a + b, 0) / values.length;
  const first = mean(steady.slice(0, half));
  const second = mean(steady.slice(half));
  return { grows: second > first * 1.25 + 8 * 2 ** 20, first, second };
}

async function main() {
  const log = (line) => process.stdout.write(`${line}\n`);
  log(`soak: ${minutes} min, ${WORKERS} workers x ${KEYS_PER_WORKER} keys, pool of 4 through the fault proxy, seed ${initialSeed}${gc === undefined ? ', no GC access' : ''}`);

  const server = await startServer();
  const proxy = await startProxy({ target: { host: server.host, port: server.port } });
  const client = new ZCached({
    host: proxy.host,
    port: proxy.port,
    poolSize: 4,
    timeoutLimit: TIMEOUT_LIMIT,
    connectTimeout: 500,
    // Few attempts per run: a refusal of up to 2 s outlasts a run, so the rest-then-retry path
    // (a connection out of attempts tries again after backoff.max) is part of the soak.
    connectionAttempts: 5,
    backoff: { initial: 20, multiplier: 2, max: 400, jitter: 0.5 },
    pingInterval: 300,
    closeTimeout: 500,
    maxPending: 10_000,
  });
  client.connectionPool.subscribe((event) => {
    if (event.type === 'connectionStateChanged' && event.change.to === 'connecting') stats.connectAttempts++;
  });
  await client.run();

  const startedAt = performance.now();
  const endAt = startedAt + DURATION_MS;
  const until = () => endAt;
  const watchdog = setInterval(watchDeadlines, 250);
  const heapTimer = setInterval(sampleHeap, HEAP_SAMPLE_MS);
  let lastReport = startedAt;
  const progress = setInterval(() => {
    const now = performance.now();
    if (now - lastReport < 10_000) return;
    lastReport = now;
    const last = stats.heap.at(-1);
    log(
      `  ${Math.round((now - startedAt) / 1000)} s: ${stats.requests} requests, ${stats.requests - stats.ok} failed, ` +
        `${[...stats.faults.values()].reduce((a, b) => a + b, 0)} faults, heap ${last === undefined ? '?' : mb(last.used)}, ` +
        `${client.connectionPool.connectedConnections.length}/4 connected`,
    );
  }, 1_000);

  sampleHeap();
  const [models] = await Promise.all([Promise.all(Array.from({ length: WORKERS }, (_, i) => worker(i, client, until))), injectFaults(proxy, until)]);
  const loadEnded = performance.now();

  // Back to a healthy network: every key must read back as the model says.
  proxy.heal();
  proxy.setLatency(0);
  proxy.setBandwidth(undefined);
  await proxy.refuseConnections(false);
  const healthyBy = performance.now() + 5_000;
  while (client.connectionPool.connectedConnections.length < 4 && performance.now() < healthyBy) await sleep(20);
  const healed = client.connectionPool.connectedConnections.length;
  let finalChecks = 0;
  for (const keys of models) {
    for (const model of keys) {
      const result = await tracked('final GET', TIMEOUT_LIMIT, () => client.get(model.key));
      if (!result.ok) {
        stats.wrongReplies.push(`final GET ${model.key} failed on a healthy network: ${String(result.error)}`);
        continue;
      }
      finalChecks++;
      const wrong = model.check(result.reply);
      if (wrong !== undefined) stats.wrongReplies.push(`final GET ${wrong}`);
    }
  }

  clearInterval(progress);
  clearInterval(heapTimer);
  watchDeadlines();
  clearInterval(watchdog);
  sampleHeap();

  const closeStarted = performance.now();
  const closed = await Promise.race([client.close().then(() => true), sleep(500 + GRACE_MS).then(() => false)]);
  const closeMs = performance.now() - closeStarted;
  await proxy.close();
  await server.close();

  // ---- summary
  const seconds = (loadEnded - startedAt) / 1000;
  const growth = heapGrowth();
  const maxHeap = Math.max(...stats.heap.map((s) => s.max));
  const maxRss = Math.max(...stats.heap.map((s) => s.rss));
  const sorted = (map) => [...map.entries()].sort((a, b) => b[1] - a[1]);
  log('');
  log('summary');
  log(`  duration          ${seconds.toFixed(1)} s (seed ${initialSeed})`);
  log(`  requests          ${stats.requests} (${stats.ok} ok, ${stats.requests - stats.ok} failed), ${Math.round(stats.requests / seconds)} ops/s`);
  log(`  errors by type    ${stats.errors.size === 0 ? 'none' : ''}`);
  for (const [name, count] of sorted(stats.errors)) log(`    ${String(count).padStart(8)}  ${name}`);
  log(`  refused up front  ${sorted(stats.thrown).map(([name, count]) => `${count} ${name}`).join(', ') || 'none'}`);
  log(`  faults injected   ${[...stats.faults.values()].reduce((a, b) => a + b, 0)}`);
  for (const [name, count] of sorted(stats.faults)) log(`    ${String(count).padStart(8)}  ${name}`);
  log(`  connect attempts  ${stats.connectAttempts}`);
  log(`  pool after heal   ${healed}/4 connected; ${finalChecks}/${WORKERS * KEYS_PER_WORKER} keys read back and checked`);
  log(`  late landings     ${stats.lateLandings} (failed writes delivered after newer ones by the buffering proxy)`);
  log(`  heap              max ${mb(maxHeap)}, after GC ${mb(growth.first)} -> ${mb(growth.second)} (first vs second half), max RSS ${mb(maxRss)}`);
  log(`  close()           ${closed ? `${Math.round(closeMs)} ms` : 'DID NOT RESOLVE'}`);

  const failures = [];
  if (stats.unsettledPastDeadline.length > 0) failures.push(`${stats.unsettledPastDeadline.length} requests unsettled past deadline + ${GRACE_MS} ms`, ...stats.unsettledPastDeadline.slice(0, 10));
  if (stats.wrongReplies.length > 0) failures.push(`${stats.wrongReplies.length} wrong replies`, ...stats.wrongReplies.slice(0, 10));
  if (growth.grows) failures.push(`the heap keeps growing: ${mb(growth.first)} -> ${mb(growth.second)} after GC`);
  if (!closed) failures.push('close() did not resolve');
  if (healed < 4) failures.push(`the pool did not heal: ${healed}/4 connected 5 s after the faults ended`);
  log('');
  if (failures.length === 0) {
    log('PASS: every request settled in time, every reply was right, the heap stayed flat');
    return 0;
  }
  log('FAIL');
  for (const failure of failures) log(`  ${failure}`);
  return 1;
}

process.exitCode = await main();
