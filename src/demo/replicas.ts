/**
 * The replicas demo (`npm start -- --fleet 3 --replicas 2`, or `node
 * dist/demo/fleet.js --servers 3 --replicas 2`): embedded servers on
 * 127.0.0.1, 127.0.0.2, ..., a `ZCachedFleet` keeping each key on
 * `replicas` of them. It writes a set of keys, then workers read and write
 * them, each reply checked against the last acknowledged write of its key,
 * while one server is stopped (a third of the way in) and started again
 * empty (two thirds in). It prints the fleet's changes as they come (the
 * reads' `failover` and `readRepaired` events folded into one line per
 * burst), the errors, misses and stale values (all three should be 0), and
 * a read of every key once the server is back and warmed up. The exit code
 * is not 0 when a read failed, missed or was stale, a write failed, the
 * server was not taken out or did not return, or a key is not on exactly
 * its replicas at the end.
 *
 * @module
 */

import { ZCachedFleet } from '../fleet/fleet.js';
import { GENERATION_LABELS } from '../protocol/dialect.js';
import { startServer, type ZCachedServer } from '../testing/server.js';
import { describeGenerations, embeddedGeneration, findMismatch, mismatchLines, newRunId, type DemoDialect } from './generation.js';
import { ReplicaTimeline, summariseEvents, type TimedEvent } from './replica-timeline.js';

/** Options of {@link runReplicasDemo}. */
export interface ReplicasDemoOptions {
  /** Embedded servers, on 127.0.0.1 … 127.0.0.n. Default 3. */
  readonly servers?: number;
  /** Copies of each key (2 to `servers`). Default 2. */
  readonly replicas?: number;
  /** Length of the reads and writes, in ms; the server stops at 1/3 and starts again at 2/3 of it. Default 6 000. */
  readonly durationMs?: number;
  /** Requests in flight (workers, each with its own keys). Default 32. */
  readonly workers?: number;
  /** Keys written, then read and written. Default 2 000. */
  readonly keys?: number;
  /** The client's dialect, and the generation the embedded servers play (`'etx'` for `'auto'`). Default `'auto'`. */
  readonly dialect?: DemoDialect;
  /** The run's id, in every key it writes (`<runId>:<n>`). Default: a new random one. */
  readonly runId?: string;
  /** Where the report goes. Default `console.log`. */
  readonly print?: (line: string) => void;
  /** Where errors go. Default `console.error`. */
  readonly printError?: (line: string) => void;
}

/** Reads checked against the last acknowledged write of their key. */
export interface ReadCounts {
  readonly reads: number;
  /** Reads that found no value. */
  readonly misses: number;
  /** Reads that returned a value other than the last acknowledged write (or a write not acknowledged since). */
  readonly stale: number;
  /** Reads that failed. */
  readonly errors: number;
}

/** What the replicas demo saw. */
export interface ReplicasDemoResult {
  /** The reads while the server was stopped, back and warmed (the setup writes not included). */
  readonly load: ReadCounts & { readonly writes: number; readonly failedWrites: number };
  /** Every failure (setup, load and final read), by error name: none expected. */
  readonly errors: ReadonlyMap<string, number>;
  /** The read of every key after the server came back and the fleet settled. */
  readonly final: ReadCounts;
  /** True when, at the end, each key was on exactly its replicas (`fleet.placement(key)`), on the servers' own stores. */
  readonly placed: boolean;
  readonly events: readonly TimedEvent[];
  /** 0 when nothing failed, missed or was stale, the server was taken out, returned and was warmed, and every key sat on its replicas; 2 for a dialect mismatch. */
  readonly exitCode: number;
  readonly runId: string;
  /** What each server's connections found at connect, by server id. */
  readonly generations: ReadonlyMap<string, string>;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const count = (n: number): string => n.toLocaleString('en-US');
/** Longest wait for the stopped server's return and warm-up, and for the fleet to settle, after the run's end. */
const SETTLE_MS = 15_000;

/** Runs the demo; resolves with what it saw (it closes everything it opened). */
export async function runReplicasDemo(options: ReplicasDemoOptions = {}): Promise<ReplicasDemoResult> {
  const serverCount = options.servers ?? 3;
  const replicas = options.replicas ?? 2;
  const durationMs = options.durationMs ?? 6_000;
  const workers = options.workers ?? 32;
  const keyCount = options.keys ?? 2_000;
  const print = options.print ?? ((line: string) => console.log(line));
  const printError = options.printError ?? ((line: string) => console.error(line));
  const dialect = options.dialect ?? 'auto';
  const runId = options.runId ?? newRunId();
  if (!Number.isInteger(serverCount) || serverCount < 2 || serverCount > 250) throw new RangeError(`servers must be an integer from 2 to 250, got ${serverCount}`);
  if (!Number.isInteger(replicas) || replicas < 2 || replicas > serverCount) throw new RangeError(`replicas must be an integer from 2 to servers (${serverCount}), got ${replicas}`);
  const generation = embeddedGeneration(dialect);
  const servers: ZCachedServer[] = await Promise.all(Array.from({ length: serverCount }, (_, i) => startServer({ host: `127.0.0.${i + 1}`, dialect: generation })));
  const fleet = new ZCachedFleet({
    servers: servers.map((server) => ({ host: server.host, port: server.port })),
    replicas,
    poolSize: 2,
    dialect,
    failureLimit: 2,
    retryTimeout: 500,
    connectTimeout: 1_000,
    backoff: { initial: 50, max: 400 },
    timeoutLimit: 2_000,
  });
  const started = performance.now();
  const since = (): number => performance.now() - started;
  const events: TimedEvent[] = [];
  // The timeline waits for the first line, which says what the connections found at connect.
  let held: string[] | undefined = [];
  const timeline = new ReplicaTimeline((line) => (held === undefined ? print(line) : held.push(line)));
  fleet.subscribe((event) => {
    const timed = { ...event, atMs: since() };
    events.push(timed);
    timeline.event(timed);
  });
  const errors = new Map<string, number>();
  const fail = (error: unknown): void => {
    const name = error instanceof Error ? error.name : 'unknown';
    errors.set(name, (errors.get(name) ?? 0) + 1);
  };
  const keys = Array.from({ length: keyCount }, (_, n) => `${runId}:${n}`);
  /** Per key: the value of its last acknowledged write, and the values of writes that failed since (they may have landed). */
  const written = new Map<string, { acked: string | undefined; maybe: Set<string> }>(keys.map((key) => [key, { acked: undefined, maybe: new Set() }]));
  let version = 0;
  const write = async (key: string): Promise<boolean> => {
    const entry = written.get(key)!;
    const value = `v${++version}`;
    try {
      await fleet.set(key, value);
      entry.acked = value;
      entry.maybe.clear();
      return true;
    } catch (error) {
      fail(error);
      entry.maybe.add(value);
      return false;
    }
  };
  /** Reads `key` and checks the value; returns what it was. */
  const read = async (key: string): Promise<'hit' | 'miss' | 'stale' | 'error'> => {
    const entry = written.get(key)!;
    try {
      const value = await fleet.get(key);
      if (value === undefined) return entry.acked === undefined && entry.maybe.size === 0 ? 'hit' : 'miss';
      return value === entry.acked || entry.maybe.has(value as string) ? 'hit' : 'stale';
    } catch (error) {
      fail(error);
      return 'error';
    }
  };
  /** Runs `task` on each key, `workers` at a time; worker w takes keys w, w + workers, ... (so no two touch the same key). */
  const eachKey = (task: (key: string, worker: number) => Promise<unknown>): Promise<unknown> =>
    Promise.all(
      Array.from({ length: workers }, async (_, worker) => {
        for (let n = worker; n < keys.length; n += workers) await task(keys[n]!, worker);
      }),
    );
  const tally = (): { reads: number; misses: number; stale: number; errors: number } => ({ reads: 0, misses: 0, stale: 0, errors: 0 });
  const note = (counts: ReturnType<typeof tally>, outcome: Awaited<ReturnType<typeof read>>): void => {
    counts.reads++;
    if (outcome === 'miss') counts.misses++;
    else if (outcome === 'stale') counts.stale++;
    else if (outcome === 'error') counts.errors++;
  };
  try {
    const first = servers[0]!;
    const where =
      `fleet of ${serverCount} embedded zcached servers (${first.faithful ? 'faithful' : 'lenient'} ${first.dialect}, in this process) on ` +
      `${servers.map((server) => `${server.host}:${server.port}`).join(', ')}; replicas: ${replicas} (each key on ${replicas} servers)`;
    try {
      await fleet.run();
    } catch (error) {
      const mismatch = findMismatch(error, [], fleet.servers.flatMap((server) => server.pool.connections));
      if (mismatch === undefined) throw error;
      print(`${where}; detected: ${GENERATION_LABELS[mismatch.detected as keyof typeof GENERATION_LABELS]}`);
      for (const line of mismatchLines(mismatch, `npm start -- --fleet ${serverCount} --replicas ${replicas}`)) printError(line);
      const none = { reads: 0, misses: 0, stale: 0, errors: 0 };
      return { load: { ...none, writes: 0, failedWrites: 0 }, errors, final: none, placed: false, events, exitCode: 2, runId, generations: new Map() };
    }
    const generations = new Map(fleet.servers.map((server) => [server.id, describeGenerations(server.pool.connections)] as const));
    const labels = new Set(generations.values());
    const detected = labels.size === 1 ? `${[...labels][0]!} on each` : [...generations].map(([id, label]) => `${id} ${label}`).join('; ');
    print(`${where}; detected: ${detected}; this run's keys: ${runId}:<n>`);
    const copies = async (): Promise<string> => {
      const sizes = await fleet.byServer.dbsize();
      return [...sizes].map(([id, outcome]) => `${id} ${outcome.status === 'fulfilled' ? count(outcome.value) : outcome.reason.name}`).join(', ');
    };

    // 1. The keys, each written to its replicas.
    let setupFailed = 0;
    await eachKey(async (key) => {
      if (!(await write(key))) setupFailed++;
    });
    print(`wrote ${count(keyCount)} keys${setupFailed === 0 ? '' : ` (${count(setupFailed)} writes FAILED)`}, each to ${replicas} servers; copies per server: ${await copies()}`);
    print(`${workers} workers read and write their own keys (2 reads to 1 write), each read checked against the key's last acknowledged write; meanwhile:`);
    for (const line of held ?? []) print(line);
    held = undefined;

    // 2. Reads and writes while one server stops, starts again empty, returns and warms up.
    const victim = servers[serverCount - 1]!;
    const victimId = `${victim.host}:${victim.port}`;
    const load = { ...tally(), writes: 0, failedWrites: 0 };
    const loadStart = performance.now();
    let restartedAt: number | undefined;
    const warmed = (): boolean => restartedAt !== undefined && events.some((event) => event.type === 'serverWarmed' && event.server === victimId && event.atMs >= restartedAt!);
    // The load goes on to the end of the run, and until the server is back and warmed (for SETTLE_MS at most).
    const going = (): boolean => performance.now() < loadStart + durationMs || (!warmed() && performance.now() < loadStart + durationMs + SETTLE_MS);
    const mine = (worker: number): string[] => keys.filter((_, n) => n % workers === worker);
    const worker = async (id: number): Promise<void> => {
      const own = mine(id);
      if (own.length === 0) return;
      while (going()) {
        const key = own[Math.floor(Math.random() * own.length)]!;
        if (Math.random() < 1 / 3) {
          load.writes++;
          if (!(await write(key))) load.failedWrites++;
        } else note(load, await read(key));
      }
    };
    const chaos = (async () => {
      await sleep(durationMs / 3);
      timeline.line(since(), `stopping server ${victimId}`);
      await victim.close();
      await sleep(durationMs / 3);
      restartedAt = since();
      timeline.line(restartedAt, `starting ${victimId} again, empty (same address, no data)`);
      servers[serverCount - 1] = await startServer({ host: victim.host, port: victim.port, dialect: generation });
    })();
    await Promise.all([...Array.from({ length: workers }, (_, id) => worker(id)), chaos]);

    // 3. Once the fleet has settled (every server up, swept and warmed), every key read once.
    const settled = (): boolean => fleet.state.servers.every((server) => server.health === 'up' && server.doubts.length === 0 && server.sweep === undefined && server.warming === undefined);
    for (let waited = 0; waited < SETTLE_MS && !settled(); waited += 50) await sleep(50);
    timeline.flush();
    const final = tally();
    await eachKey(async (key) => note(final, await read(key)));
    const stores = new Map<string, ZCachedServer['store']>(servers.map((server) => [`${server.host}:${server.port}`, server.store]));
    const misplaced = keys.filter((key) => {
      const holders = [...stores].filter(([, store]) => store.has(key)).map(([id]) => id);
      const placement = fleet.placement(key);
      return holders.length !== placement.length || !placement.every((id) => holders.includes(id));
    }).length;

    // The report.
    const out = events.some((event) => (event.type === 'serverEjected' || event.type === 'serverFenced') && event.server === victimId);
    const returned = events.some((event) => event.type === 'serverReturned' && event.server === victimId);
    const list = [...errors].map(([name, n]) => `${count(n)} ${name}`).join(', ');
    print('');
    print(
      `reads: ${count(load.reads)}, misses: ${count(load.misses)}, stale values: ${count(load.stale)}, failed: ${count(load.errors)}; ` +
        `writes: ${count(load.writes)}, failed: ${count(load.failedWrites)}`,
    );
    print(`errors: ${errors.size === 0 ? 'none' : `${list} (unexpected: with ${replicas} replicas, losing one server should cause none)`}`);
    print(`events: ${summariseEvents(events)}`);
    print(`after ${victimId} came back empty: every key read: ${count(final.reads)} reads, misses: ${count(final.misses)}, stale values: ${count(final.stale)}, failed: ${count(final.errors)}`);
    print(`each key on exactly its ${replicas} servers: ${misplaced === 0 ? 'yes' : `NO (${count(misplaced)} keys not)`}; copies per server: ${await copies()}`);
    const clean = errors.size === 0 && load.misses + load.stale + final.misses + final.stale === 0;
    print(
      `${victimId} out: ${out ? 'yes' : 'NO'}, returned: ${returned ? 'yes' : 'NO'}, warmed up: ${warmed() ? 'yes' : 'NO'}; ` +
        (clean ? 'no error, no miss, no stale value' : 'NOT CLEAN: see the counts above'),
    );
    const exitCode = clean && out && returned && warmed() && misplaced === 0 ? 0 : 1;
    return { load, errors, final, placed: misplaced === 0, events, exitCode, runId, generations };
  } finally {
    await fleet.close();
    await Promise.all(servers.map((server) => server.close()));
  }
}
