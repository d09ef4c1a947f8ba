/**
 * Reliability: reconnect storms.
 *
 * 32 connections lose the server at the same moment and it stays away:
 * - jitter spreads their reconnect attempts: the retries land over the whole
 *   jitter window instead of in one burst (compared with a pool without
 *   jitter, which retries in lock-step);
 * - each run of attempts stops at `connectionAttempts`; the connection then
 *   rests (the back-off maximum, jittered) before a fresh run, so the pool
 *   keeps healing itself at a bounded rate.
 *
 * A server (or a proxy in front of a dead server) that accepts connections
 * and drops them at once must meet the same growing back-off, not a
 * reconnect every `backoff.initial` ms.
 *
 * The sockets, the server and its refusals are real; the timers (back-off
 * waits, connect timeouts, `stableAfter`) and `Date` are simulated. Simulated
 * time only moves when every attempt started so far has failed, so the
 * recorded attempt times are exact whatever the load on the machine: no
 * margins, and a broken back-off shows as a wrong number, not as noise.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ExponentialBackoff } from '../../src/connection/backoff.js';
import { Connection } from '../../src/connection/connection.js';
import { ConnectionPool } from '../../src/pool/pool.js';
import { startProxy } from '../../src/testing/proxy.js';
import { startServer } from '../../src/testing/server.js';
import { deferredCleanup, until } from '../support.js';

const cleanup = deferredCleanup();

/** Simulated setTimeout / clearTimeout (what the connection's timers use) and Date; I/O and setImmediate stay real. */
function simulateTimers(): void {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
}
afterEach(() => {
  vi.useRealTimers();
});

const CONNECTIONS = 32;
const ATTEMPTS = 4;
const BACKOFF = { initial: 100, multiplier: 2, max: 400 } as const;
/** Connected this long, a connection is stable: its drop starts a fresh run of attempts. */
const STABLE_AFTER = 50;

function standardDeviation(values: readonly number[]): number {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  return Math.sqrt(values.reduce((sum, v) => sum + (v - mean) ** 2, 0) / values.length);
}

/** The most values that fall into one `width`-ms bucket. */
function peakPerBucket(values: readonly number[], width: number): number {
  const buckets = new Map<number, number>();
  for (const v of values) buckets.set(Math.floor(v / width), (buckets.get(Math.floor(v / width)) ?? 0) + 1);
  return Math.max(...buckets.values());
}

/** The reconnect attempts of one connection after the server went away, grouped in runs. */
interface AttemptLog {
  /** Start of every attempt, in simulated ms after the server went away. */
  readonly attempts: number[];
  /** Completed runs: the attempts each made before the connection gave up and rested. */
  readonly runs: number[][];
  /** When the connection noticed the server was gone (its first 'broken'), in simulated ms after it went away. */
  brokenAt: number | undefined;
  /** Transitions to 'broken': the drop, then one per failed attempt. */
  broken: number;
}

/** Records a connection's attempts (simulated ms after `origin`), grouped in runs. */
function record(connection: Connection, origin: number): AttemptLog {
  const log: AttemptLog = { attempts: [], runs: [], brokenAt: undefined, broken: 0 };
  let run: number[] = [];
  connection.subscribe((change) => {
    const at = Date.now() - origin;
    if (change.to === 'connecting') {
      log.attempts.push(at);
      run.push(at);
    } else if (change.to === 'broken') {
      log.broken++;
      log.brokenAt ??= at;
      if (!connection.isConnecting() && run.length > 0) {
        log.runs.push(run);
        run = [];
      }
    }
  });
  return log;
}

/**
 * Moves simulated time on, one timer at a time, until `done()`. Before each
 * step it waits (in real time) until every attempt started so far has ended
 * in 'broken' (a refused or dropped connect is real I/O); no simulated time
 * passes meanwhile, however long the machine takes.
 */
async function advanceUntil(logs: readonly AttemptLog[], done: () => boolean): Promise<void> {
  for (let step = 0; ; step++) {
    await until(() => logs.every((log) => log.broken === log.attempts.length + 1), 10_000, 1);
    if (done()) return;
    if (step > 5_000) throw new Error('advanceUntil: still not done after 5000 timers');
    vi.advanceTimersToNextTimer();
  }
}

/**
 * Connects 32 connections, lets them become stable, takes the server away
 * for good, and records every reconnect attempt, grouped in runs (a run ends
 * when the connection is broken and no longer connecting: out of attempts).
 */
async function storm(jitter: number): Promise<{ logs: AttemptLog[]; pool: ConnectionPool<Connection> }> {
  simulateTimers();
  const server = await startServer();
  cleanup.push(() => server.close());
  const pool = new ConnectionPool(
    CONNECTIONS,
    () =>
      new Connection({
        host: server.host,
        port: server.port,
        connectionAttempts: ATTEMPTS,
        connectTimeout: 500,
        stableAfter: STABLE_AFTER,
        backoff: { ...BACKOFF, jitter },
      }),
  );
  cleanup.push(() => pool.close());
  await pool.setup();
  expect(pool.connectedConnections).toHaveLength(CONNECTIONS);
  vi.advanceTimersByTime(STABLE_AFTER);

  const wentAway = Date.now();
  const logs = pool.connections.map((connection) => record(connection, wentAway));
  await server.close();
  return { logs, pool };
}

describe('reconnect storm: 32 connections lose the server together', () => {
  it('jitter spreads their attempts; each run stops at connectionAttempts, then rests', async () => {
    const jitter = 0.5;
    const { logs, pool } = await storm(jitter);

    // Every connection completes a first run and a second one: the server never comes back.
    await advanceUntil(logs, () => logs.every((log) => log.runs.length >= 2));
    expect(pool.connectedConnections).toHaveLength(0);
    for (const log of logs) {
      // Every connection noticed the drop at the same (simulated) instant: what follows is the back-off alone.
      expect(log.brokenAt).toBe(0);
      // The bound: exactly connectionAttempts attempts per run (none connected).
      for (const run of log.runs) expect(run).toHaveLength(ATTEMPTS);
      // Between runs the connection rests the back-off maximum, jittered: [200, 400] ms.
      const [first, second] = log.runs as [number[], number[]];
      const rest = (second[0] as number) - (first.at(-1) as number);
      expect(rest).toBeGreaterThanOrEqual(BACKOFF.max * (1 - jitter));
      expect(rest).toBeLessThanOrEqual(BACKOFF.max);
    }

    // The spread: with jitter 0.5 the first retry falls anywhere in [50, 100] ms (std dev ~14 ms);
    // in lock-step it would be one burst of 32 at 100 ms.
    const waits = logs.map((log) => log.attempts[0] as number);
    expect(Math.min(...waits)).toBeGreaterThanOrEqual(BACKOFF.initial * (1 - jitter));
    expect(Math.max(...waits)).toBeLessThanOrEqual(BACKOFF.initial);
    expect(standardDeviation(waits)).toBeGreaterThan(8);
    expect(peakPerBucket(waits, 10)).toBeLessThanOrEqual(16);
    expect(new Set(waits.map((t) => Math.floor(t / 10))).size).toBeGreaterThanOrEqual(4);
    // Every later attempt stays spread too (the windows grow: [50, 100], [100, 200], [200, 400] ...).
    for (let k = 1; k < 2 * ATTEMPTS; k++) {
      expect(standardDeviation(logs.map((log) => log.attempts[k] as number))).toBeGreaterThan(8);
    }
  });

  it('without jitter the same pool retries in lock-step (what jitter prevents)', async () => {
    const { logs } = await storm(0);
    await advanceUntil(logs, () => logs.every((log) => log.runs.length >= 1));
    const backoff = new ExponentialBackoff({ ...BACKOFF, jitter: 0 });
    // Attempt k of every connection starts at the same instant. The wait before it is
    // backoff.delay(max(1, failed attempts so far)): 100, 100, 200, 400 ms.
    let at = 0;
    const expected = [0, 1, 2, 3].map((failed) => (at += backoff.baseDelay(Math.max(1, failed))));
    expect(expected).toEqual([100, 200, 400, 800]);
    for (const log of logs) {
      expect(log.brokenAt).toBe(0);
      expect(log.runs[0]).toEqual(expected);
    }
    expect(peakPerBucket(logs.map((log) => log.attempts[0] as number), 10)).toBe(CONNECTIONS);
  });
});

describe('a server that accepts connections and drops them at once', () => {
  it('meets a growing back-off and the attempt bound, not a reconnect every backoff.initial ms', async () => {
    simulateTimers();
    const server = await startServer();
    cleanup.push(() => server.close());
    // A proxy (a load balancer, a sidecar) in front of the server: once the server is gone,
    // every connection to the proxy is accepted, then reset.
    const proxy = await startProxy({ target: { host: server.host, port: server.port } });
    cleanup.push(() => proxy.close());
    const backoffOptions = { initial: 20, multiplier: 2, max: 400, jitter: 0 } as const;
    const connection = new Connection({ host: proxy.host, port: proxy.port, connectionAttempts: 10, backoff: backoffOptions });
    cleanup.push(() => connection.close());
    await connection.connect();
    vi.advanceTimersByTime(1_000); // stable (the default stableAfter): the drop starts a fresh run

    const wentAway = Date.now();
    const log = record(connection, wentAway);
    await server.close();
    // The first run ends (out of attempts), the connection rests, then starts a fresh run
    // (or, were every drop to restart the run, 5 simulated seconds of attempts every 20 ms pass).
    await advanceUntil([log], () => (log.runs.length >= 1 && log.attempts.length > 10) || Date.now() - wentAway > 5_000);

    expect(log.attempts.filter((at) => at <= 1_000)).toHaveLength(6); // ~50 if every drop restarted the run
    expect(proxy.stats.connectionsAccepted).toBeGreaterThanOrEqual(11); // every attempt got in, then was dropped
    const run = log.runs[0] ?? [];
    expect(run).toHaveLength(10);
    // Each accepted-then-dropped attempt counts as a failed one: the waits grow 20, 20, 40, ... up to 400,
    // as with refused connects. Restarting the run on every drop would make them 20, 20, 20, ... without end.
    const backoff = new ExponentialBackoff(backoffOptions);
    const gaps = run.map((at, i) => at - (i === 0 ? 0 : (run[i - 1] as number)));
    expect(gaps).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9].map((failed) => backoff.baseDelay(Math.max(1, failed))));
    expect(gaps).toEqual([20, 20, 40, 80, 160, 320, 400, 400, 400, 400]);
    // Then it rests the back-off maximum before a fresh run.
    expect((log.attempts[10] as number) - (run.at(-1) as number)).toBe(backoffOptions.max);
  });
});
