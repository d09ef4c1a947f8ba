/**
 * Model-based test of a `ZCachedFleet` with `replicas: 2` over real sockets
 * (fast-check `asyncModelRun`).
 *
 * The world: four embedded servers on 127.0.0.1 to 127.0.0.4, each behind a
 * fault proxy; the fleet (ids `s1`..`s4`, so placement does not depend on
 * ports) starts over the first three, with short limits (300 ms requests
 * and connects, ejection after 2 failures, probes 60 ms later). A run is a
 * random sequence of `set`, `get`, `delete`, `mget`, `mset` on six keys (two
 * share a hash tag, so writes and placement changes meet often), and of
 * faults and changes: a server crashes (its proxy refuses connections, as a
 * dead host does) and returns with its data or empty; its proxy is cut off
 * (`halfOpen`) and healed, refuses connections and accepts them again, or
 * slows down; servers leave and join (again); weights go up and down;
 * pauses let ejections, probes, sweeps and warm-ups happen. A way back
 * (return, heal, accept, fast, add) takes the server that went out first.
 *
 * The model keeps, per key, the value of its last acknowledged write
 * (`undefined` after a delete) and the values of the writes issued since
 * then that were not acknowledged: they failed, and each may or may not have
 * landed anywhere. Values are unique per write (`v1`, `v2`, ...), so a value
 * names the write that made it, and "a server holds the last acknowledged
 * value" is exact: the test reads the embedded servers' stores.
 *
 * The invariant is the replicas contract:
 * - **never older** (every value any read returns): it is the last
 *   acknowledged value or that of an unacknowledged write issued after it.
 *   A miss is never stale; an older value always is.
 * - **no miss, no failure while a good replica is up** (the "strict"
 *   checks): a server is a good replica of a key when it is in
 *   `fleet.placement(key)`, `up` in `fleet.state`, reachable (not crashed,
 *   cut off or refusing; and, after coming back from such a fault, it has
 *   answered through its proxy since: a connection the fleet opened while it
 *   was out may be dead, which no client can know before using it), and
 *   holds the last acknowledged value in its store. When the same server is
 *   a good replica as the read starts and as it ends, the read must give
 *   that value (or an unacknowledged later one): neither a miss nor an
 *   error. A read during which a good replica timed out is not held to it
 *   (a loaded machine may stall any reply past 300 ms): timing never
 *   decides the verdict, the staleness check still applies.
 *
 * Failures must be typed (`ZCachedError`); every command must settle (30 s
 * at most: a hang, not a slow machine). Counters over all runs (faults,
 * fences and ejections, returns, strict checks, strict checks while a
 * server was out and past a best replica that was not good) are asserted,
 * so the test cannot pass without reaching what it is about.
 *
 * The second test plants a bug that serves a fenced replica (a server that
 * returns is not flushed in its probe, so it serves the values it held
 * before its writes were fenced or its key was deleted meanwhile) and
 * shows that the same model fails with a stale read.
 *
 * Replay a failure with `REPLICAS_MODEL_SEED` and `REPLICAS_MODEL_PATH`
 * (a rerun's timing may differ); `REPLICAS_MODEL_SHRINK=1` shrinks a
 * replayed failure, or the planted bug's (minutes, not seconds). `REPLICAS_MODEL_RUNS` sets the number of runs (with
 * `REPLICAS_MODEL_TIMEOUT` in ms for long searches), `REPLICAS_MODEL_STATS=1`
 * prints the counters (and the planted bug's counterexample), `REPLICAS_MODEL_TRACE=1` each run's trace,
 * `REPLICAS_MODEL_LOG=file` appends each failure and stops at the first
 * (no shrinking), `REPLICAS_MODEL_DEBUG=file` logs each command as it starts.
 */
import { appendFileSync } from 'node:fs';
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { TimeoutError, ZCachedError } from '../../src/errors.js';
import { PartialFailureError, ZCachedFleet, type FleetEvent } from '../../src/fleet/index.js';
import { FleetServer } from '../../src/fleet/server.js';
import { startProxy, startServer, type FaultProxy, type ZCachedServer } from '../../src/testing/index.js';
import { sleep, until, watchUnhandledRejections } from '../support.js';
import { openResources, restart, startServers, untilResourcesBackTo } from './fleet-support.js';

const IDS = ['s1', 's2', 's3', 's4'] as const;
const KEYS = ['k0', 'k1', 'k2', 'k3', '{t}:a', '{t}:b'];
const RETRY_MS = 60;
/** The delay of a slow server's proxy, each way: well under the fleet's 300 ms time limit. */
const LATENCY_MS = 15;

/** A key's value: a string, or `undefined` for "no such key". */
type Held = string | undefined;

/** What the model knows of a key. */
interface Entry {
  /** The value of the last acknowledged write (`undefined`: none yet, or a delete). */
  acked: Held;
  /** Values of the writes issued since `acked` that were not acknowledged. */
  readonly since: Set<Held>;
}

/** The network as the model sees it, by server index (`s1` is 0): shared by the model (for `check`) and the real side. */
interface Net {
  readonly inFleet: boolean[];
  readonly crashed: boolean[];
  readonly cutOff: boolean[];
  readonly refusing: boolean[];
  /** Its proxy delays every chunk ({@link LATENCY_MS} each way): slow, still reachable. */
  readonly slow: boolean[];
  /** Servers in the order they crashed, were cut off, refused, left the fleet: the way back takes the first one out. */
  readonly queue: { readonly crashed: number[]; readonly cutOff: number[]; readonly refusing: number[]; readonly slow: number[]; readonly left: number[] };
}

/** The server that went out first, for `fault` (it leaves the queue). */
const firstOut = (net: Net, fault: keyof Net['queue']): number => net.queue[fault].shift()!;

interface Model {
  readonly keys: Map<string, Entry>;
  readonly net: Net;
  next: number;
}

/** Counts over every run of one property, to show the runs reached what they are about. */
interface Stats {
  runs: number;
  commands: number;
  /** Values returned by reads and checked for staleness. */
  values: number;
  misses: number;
  readErrors: number;
  /** Reads (per key) that ran with the strict precondition holding. */
  strict: number;
  /** Strict reads while some server of the fleet was out (unreachable or not up). */
  strictUnderFault: number;
  /** Strict reads whose best replica was not a good one (out, or missing the value). */
  strictBehind: number;
  /** Reads that would have been strict but a good replica timed out meanwhile (a busy machine): checked as the others. */
  excused: number;
  acked: number;
  unacked: number;
  crashes: number;
  returnsWithData: number;
  returnsEmpty: number;
  partitions: number;
  refusals: number;
  slowdowns: number;
  joins: number;
  leaves: number;
  weights: number;
  settleTimeouts: number;
  events: Record<string, number>;
}

const newStats = (): Stats => ({
  runs: 0,
  commands: 0,
  values: 0,
  misses: 0,
  readErrors: 0,
  strict: 0,
  strictUnderFault: 0,
  strictBehind: 0,
  excused: 0,
  acked: 0,
  unacked: 0,
  crashes: 0,
  returnsWithData: 0,
  returnsEmpty: 0,
  partitions: 0,
  refusals: 0,
  slowdowns: 0,
  joins: 0,
  leaves: 0,
  weights: 0,
  settleTimeouts: 0,
  events: {},
});

/** The system under test and what the model knows of the network. */
class Real {
  /** What happened, for the failure message. */
  readonly trace: string[] = [];
  /** Ids of the servers whose requests timed out, in order (see {@link recordTimeouts}). */
  readonly timedOut: string[] = [];
  /** Per server: its proxy's downstream byte count when it came back from a fault, until it answered through it again. */
  readonly #recovering: (number | undefined)[] = [undefined, undefined, undefined, undefined];

  constructor(
    readonly net: Net,
    readonly fleet: ZCachedFleet,
    readonly servers: ZCachedServer[],
    readonly proxies: readonly FaultProxy[],
    readonly stats: Stats,
  ) {
    fleet.subscribe((event) => {
      stats.events[event.type] = (stats.events[event.type] ?? 0) + 1;
      if (event.type !== 'failover' && event.type !== 'readRepaired') this.trace.push(`  · ${describeEvent(event)}`);
    });
  }

  reachable(index: number): boolean {
    return !this.net.crashed[index] && !this.net.cutOff[index] && !this.net.refusing[index];
  }

  /** Server `index` came back from a fault (returned, accepts connections again, healed). */
  recovered(index: number): void {
    this.#recovering[index] = this.proxies[index]!.stats.bytesDownstream;
  }

  /**
   * Reachable and, if it came back from a fault, answered the fleet since:
   * a connection the fleet opened during the fault (one the kernel queued
   * while the proxy stopped listening) may be dead, and the fleet cannot
   * know it before it sends a request on it.
   */
  answering(index: number): boolean {
    if (!this.reachable(index)) return false;
    const mark = this.#recovering[index];
    if (mark === undefined) return true;
    if (this.proxies[index]!.stats.bytesDownstream <= mark) return false;
    this.#recovering[index] = undefined;
    return true;
  }

  /** What server `index`'s store holds for `key`, as the string written. */
  stored(index: number, key: string): Held {
    const value = this.servers[index]!.store.get(key);
    if (value === undefined) return undefined;
    if (value.type === 'bulk') return value.value.toString('utf8');
    if (value.type === 'simple') return value.value;
    return `<${value.type}>`;
  }

  /** The servers of `key`'s placement now that are up, reachable and hold `acked`. */
  goodReplicas(key: string, acked: Held): string[] {
    const health = new Map(this.fleet.state.servers.map((server) => [server.id, server.health]));
    return this.fleet.placement(key).filter((id) => {
      const index = IDS.indexOf(id as (typeof IDS)[number]);
      return health.get(id) === 'up' && this.answering(index) && this.stored(index, key) === acked;
    });
  }

  /** True when some server of the fleet is out: unreachable, or not up. */
  someServerOut(): boolean {
    const health = new Map(this.fleet.state.servers.map((server) => [server.id, server.health]));
    return IDS.some((id, index) => this.net.inFleet[index] && (!this.reachable(index) || health.get(id) !== 'up'));
  }

  /** One line on the fleet and the network, for the trace. */
  where(key: string): string {
    const servers = this.fleet.state.servers.map((server) => {
      const index = IDS.indexOf(server.id as (typeof IDS)[number]);
      const net = this.net.crashed[index] ? ' crashed' : this.net.cutOff[index] ? ' cut-off' : this.net.refusing[index] ? ' refusing' : '';
      const doubts = server.doubts.length > 0 ? ` doubts:${server.doubts.length}` : '';
      return `${server.id}:${server.health}${net}${doubts} w${server.weight} holds ${String(this.stored(index, key))}`;
    });
    return `placement ${this.fleet.placement(key).join('+') || '-'}; ${servers.join(', ')}`;
  }
}

function describeEvent(event: FleetEvent): string {
  switch (event.type) {
    case 'serverFenced':
      return `${event.server} fenced${event.key === undefined ? '' : ` (${event.key})`}`;
    case 'serverEjected':
      return `${event.server} ejected`;
    case 'serverReturned':
      return `${event.server} returned`;
    case 'serverSwept':
      return `${event.server} swept (${event.deleted} deleted)`;
    case 'serverWarmed':
      return `${event.server} warmed (${event.copied} copied)`;
    case 'probeFailed':
      return `${event.server} probe failed`;
    case 'weightChanged':
      return `${event.server} weight ${event.from} → ${event.to}`;
    default:
      return 'server' in event ? `${event.type} ${event.server}` : event.type;
  }
}

const entryOf = (model: Model, key: string): Entry => {
  let entry = model.keys.get(key);
  if (entry === undefined) model.keys.set(key, (entry = { acked: undefined, since: new Set() }));
  return entry;
};

const show = (value: Held): string => (value === undefined ? 'nothing' : value);

/** A write of `value` to `key` is about to be issued. */
function issued(model: Model, key: string, value: Held): void {
  entryOf(model, key).since.add(value);
}

/** That write was acknowledged: it is now the value; the unacknowledged writes before it are older. */
function acknowledged(model: Model, real: Real, key: string, value: Held): void {
  const entry = entryOf(model, key);
  entry.acked = value;
  entry.since.clear();
  real.stats.acked++;
}

function expectTyped(error: unknown): void {
  expect(error, String(error)).toBeInstanceOf(ZCachedError);
}

/** What the strict check of a read of `key` needs to know, taken as the read starts and as it ends. */
interface Precondition {
  /** The good replicas: up, reachable, holding the last acknowledged value. */
  readonly good: string[];
  /** The key's best replica is not good (the read must get past it). */
  readonly behind: boolean;
  /** Some server of the fleet is out. */
  readonly fault: boolean;
}

function precondition(model: Model, real: Real, key: string): Precondition {
  const good = real.goodReplicas(key, entryOf(model, key).acked);
  const best = real.fleet.placement(key)[0];
  return { good, behind: good.length > 0 && best !== undefined && !good.includes(best), fault: real.someServerOut() };
}

/**
 * Checks what a read of `key` gave (`value`, or `failure`) against the
 * model: never older than the last acknowledged value; and, when a server
 * was a good replica both at `start` and at `end` and did not time out
 * meanwhile (`timedOut`: the servers whose requests did), neither a miss
 * nor a failure.
 */
function checkRead(model: Model, real: Real, key: string, outcome: { value: Held } | { failure: unknown }, start: Precondition, end: Precondition, timedOut: readonly string[]): void {
  const entry = entryOf(model, key);
  const { stats } = real;
  // The same server good as the read starts and as it ends: one good replica all along (a placement change meanwhile may hand
  // the key from a server that held it to one still being warmed up, with a moment where none holds it).
  const good = start.good.filter((id) => end.good.includes(id));
  // A good replica that timed out (a loaded machine can stall any reply past the limit) lets the read go on, or fail: no verdict on timing.
  const excused = good.length > 0 && timedOut.some((id) => good.includes(id));
  if (excused) stats.excused++;
  const strict = good.length > 0 && !excused;
  if (strict) {
    stats.strict++;
    if (start.fault) stats.strictUnderFault++;
    if (start.behind) stats.strictBehind++;
  }
  const context = (): string =>
    `last acknowledged ${show(entry.acked)}, unacknowledged since: ${[...entry.since].map(show).join(', ') || 'none'}; ${real.where(key)}\n${real.trace.slice(-40).join('\n')}`;
  if ('failure' in outcome) {
    stats.readErrors++;
    expectTyped(outcome.failure);
    if (strict) expect.fail(`FAILED READ of ${key} while ${good.join('+')} held its last acknowledged value: ${String(outcome.failure)}; ${context()}`);
    return;
  }
  const got = outcome.value;
  stats.values++;
  if (got === undefined) stats.misses++;
  const allowed = got === entry.acked || entry.since.has(got);
  if (got !== undefined && !allowed) expect.fail(`STALE READ of ${key}: got ${got}; ${context()}`);
  if (strict && !allowed) expect.fail(`MISS of ${key} while ${good.join('+')} held its last acknowledged value; ${context()}`);
}

/** A command that takes this long hangs (a broken promise, not a slow machine: its own waits are a few seconds at most). */
const HANG_MS = 30_000;

/** `work`, or a rejection when it has not settled after {@link HANG_MS}. */
function settles<T>(work: Promise<T>, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`HANG: ${message}`)), HANG_MS);
  });
  return Promise.race([work, hang]).finally(() => clearTimeout(timer));
}

const debugFile = process.env['REPLICAS_MODEL_DEBUG'];
const debug = (text: string): void => {
  if (debugFile !== undefined) appendFileSync(debugFile, `${new Date().toISOString()} ${text}\n`);
};

type Command = fc.AsyncCommand<Model, Real>;
const command = (name: string, run: (model: Model, real: Real) => Promise<void>, check: (net: Net) => boolean = () => true): Command => ({
  check: (model) => check(model.net),
  run: async (model, real) => {
    real.stats.commands++;
    real.trace.push(name);
    debug(`  ${name}`);
    await settles(run(model, real), `${name} did not settle in ${HANG_MS} ms\n${real.trace.slice(-40).join('\n')}`);
  },
  toString: () => name,
});
const keyArb = fc.constantFrom(...KEYS);
const keysArb = fc.uniqueArray(keyArb, { minLength: 1, maxLength: 5 });
const serverArb = fc.nat(3);

const note = (real: Real, text: string): void => {
  real.trace.push(`  → ${text}`);
};

const setCommand = keyArb.map((key) =>
  command(`set(${key})`, async (model, real) => {
    const value = `v${++model.next}`;
    issued(model, key, value);
    await real.fleet.set(key, value).then(
      () => {
        acknowledged(model, real, key, value);
        note(real, `${value} acknowledged on ${real.fleet.placement(key).join('+')}`);
      },
      (error: unknown) => {
        expectTyped(error);
        real.stats.unacked++;
        note(real, `${value} not acknowledged: ${(error as ZCachedError).code}`);
      },
    );
  }),
);

const deleteCommand = keyArb.map((key) =>
  command(`delete(${key})`, async (model, real) => {
    issued(model, key, undefined);
    await real.fleet.delete(key).then(
      () => {
        acknowledged(model, real, key, undefined);
        note(real, 'acknowledged');
      },
      (error: unknown) => {
        expectTyped(error);
        real.stats.unacked++;
        note(real, `not acknowledged: ${(error as ZCachedError).code}`);
      },
    );
  }),
);

const msetCommand = keysArb.map((keys) =>
  command(`mset(${keys.join(', ')})`, async (model, real) => {
    const entries = keys.map((key) => [key, `v${++model.next}`] as [string, string]);
    for (const [key, value] of entries) issued(model, key, value);
    let failed: ReadonlySet<string> = new Set();
    try {
      await real.fleet.mset(entries);
    } catch (error) {
      expectTyped(error);
      failed = new Set(error instanceof PartialFailureError ? error.failedKeys : keys);
    }
    for (const [key, value] of entries) {
      if (failed.has(key)) real.stats.unacked++;
      else acknowledged(model, real, key, value);
    }
    note(real, entries.map(([key, value]) => `${key}=${value}${failed.has(key) ? ' not acknowledged' : ''}`).join(', '));
  }),
);

const getCommand = keyArb.map((key) =>
  command(`get(${key})`, async (model, real) => {
    const before = precondition(model, real, key);
    const timeouts = real.timedOut.length;
    const outcome = await real.fleet.get(key).then(
      (value) => ({ value: value as Held }),
      (failure: unknown) => ({ failure }),
    );
    const after = precondition(model, real, key);
    note(real, 'value' in outcome ? show(outcome.value) : `failed: ${String(outcome.failure)}`);
    checkRead(model, real, key, outcome, before, after, real.timedOut.slice(timeouts));
  }),
);

const mgetCommand = keysArb.map((keys) =>
  command(`mget(${keys.join(', ')})`, async (model, real) => {
    const before = new Map(keys.map((key) => [key, precondition(model, real, key)]));
    const timeouts = real.timedOut.length;
    let values: ReadonlyMap<string, unknown>;
    let failure: unknown;
    let failedKeys: readonly string[] = [];
    try {
      values = await real.fleet.mget(...keys);
      expect([...values.keys()]).toEqual(keys);
    } catch (error) {
      expectTyped(error);
      failure = error;
      values = error instanceof PartialFailureError ? error.values : new Map();
      failedKeys = error instanceof PartialFailureError ? error.failedKeys : keys;
      if (error instanceof PartialFailureError) expect([...values.keys(), ...failedKeys].sort()).toEqual([...keys].sort());
    }
    note(real, keys.map((key) => `${key}=${values.has(key) ? show((values.get(key) ?? undefined) as Held) : 'failed'}`).join(', '));
    for (const key of keys) {
      const after = precondition(model, real, key);
      const outcome = values.has(key) ? { value: (values.get(key) ?? undefined) as Held } : { failure };
      if (!values.has(key)) expect(failedKeys).toContain(key);
      checkRead(model, real, key, outcome, before.get(key)!, after, real.timedOut.slice(timeouts));
    }
  }),
);

/** Waits (bounded; never a verdict) until every reachable server of the fleet is up, swept and warmed. */
const settle = fc.constant(
  command('settle', async (_model, real) => {
    const settled = (): boolean =>
      real.fleet.state.servers.every((server) => {
        const index = IDS.indexOf(server.id as (typeof IDS)[number]);
        return !real.reachable(index) || (server.health === 'up' && server.doubts.length === 0 && server.warming === undefined && server.sweep === undefined);
      });
    await until(settled, 3_000).catch(() => {
      real.stats.settleTimeouts++;
    });
  }),
);

const pause = fc.constant(command('pause', () => sleep(RETRY_MS * 2)));

const crash = serverArb.map((index) =>
  command(
    `crash(${IDS[index]})`,
    async (model, real) => {
      model.net.crashed[index] = true;
      model.net.queue.crashed.push(index);
      real.stats.crashes++;
      // A crashed host refuses connections (the proxy would otherwise accept them, then reset them once it finds no server).
      await real.proxies[index]!.refuseConnections(true);
      await real.servers[index]!.close();
    },
    (net) => !net.crashed[index],
  ),
);

/** The way back from a fault takes the server that went out first (named in the trace): most generated returns apply. */
const back = fc.boolean().map((empty) =>
  command(
    `return(${empty ? 'empty' : 'with its data'})`,
    async (model, real) => {
      const index = firstOut(model.net, 'crashed');
      note(real, IDS[index]!);
      const old = real.servers[index]!;
      real.servers[index] = empty ? await startServer({ host: old.host, port: old.port }) : await restart(old);
      if (!model.net.refusing[index]) await real.proxies[index]!.refuseConnections(false);
      model.net.crashed[index] = false;
      real.recovered(index);
      if (empty) real.stats.returnsEmpty++;
      else real.stats.returnsWithData++;
    },
    (net) => net.queue.crashed.length > 0,
  ),
);

const cutOff = serverArb.map((index) =>
  command(
    `halfOpen(${IDS[index]})`,
    async (model, real) => {
      model.net.cutOff[index] = true;
      model.net.queue.cutOff.push(index);
      real.stats.partitions++;
      real.proxies[index]!.halfOpen();
    },
    (net) => !net.cutOff[index],
  ),
);

const heal = fc.constant(
  command(
    'heal',
    async (model, real) => {
      const index = firstOut(model.net, 'cutOff');
      note(real, IDS[index]!);
      real.proxies[index]!.heal();
      model.net.cutOff[index] = false;
      real.recovered(index);
    },
    (net) => net.queue.cutOff.length > 0,
  ),
);

const refuse = serverArb.map((index) =>
  command(
    `refuse(${IDS[index]})`,
    async (model, real) => {
      model.net.refusing[index] = true;
      model.net.queue.refusing.push(index);
      real.stats.refusals++;
      await real.proxies[index]!.refuseConnections(true);
      real.proxies[index]!.cutConnections();
    },
    (net) => !net.refusing[index],
  ),
);

const accept = fc.constant(
  command(
    'accept',
    async (model, real) => {
      const index = firstOut(model.net, 'refusing');
      note(real, IDS[index]!);
      if (!model.net.crashed[index]) await real.proxies[index]!.refuseConnections(false);
      model.net.refusing[index] = false;
      real.recovered(index);
    },
    (net) => net.queue.refusing.length > 0,
  ),
);

const slow = serverArb.map((index) =>
  command(
    `slow(${IDS[index]})`,
    async (model, real) => {
      model.net.slow[index] = true;
      model.net.queue.slow.push(index);
      real.stats.slowdowns++;
      real.proxies[index]!.setLatency(LATENCY_MS);
    },
    (net) => !net.slow[index],
  ),
);

const fast = fc.constant(
  command(
    'fast',
    async (model, real) => {
      const index = firstOut(model.net, 'slow');
      note(real, IDS[index]!);
      real.proxies[index]!.setLatency(0);
      model.net.slow[index] = false;
    },
    (net) => net.queue.slow.length > 0,
  ),
);

/** Adds the server that left first (`s4` before any left). */
const join = fc.constant(
  command(
    'add',
    async (model, real) => {
      const index = firstOut(model.net, 'left');
      note(real, IDS[index]!);
      model.net.inFleet[index] = true;
      real.stats.joins++;
      await real.fleet.addServer({ host: real.proxies[index]!.host, port: real.proxies[index]!.port, id: IDS[index]! });
    },
    (net) => net.queue.left.length > 0,
  ),
);

const leave = serverArb.map((index) =>
  command(
    `remove(${IDS[index]})`,
    async (model, real) => {
      model.net.inFleet[index] = false;
      model.net.queue.left.push(index);
      real.stats.leaves++;
      await real.fleet.removeServer(IDS[index]!);
    },
    (net) => net.inFleet[index]! && net.inFleet.filter(Boolean).length > 2,
  ),
);

const weight = fc.tuple(serverArb, fc.constantFrom(0.5, 1, 2)).map(([index, to]) =>
  command(
    `setWeight(${IDS[index]}, ${to})`,
    async (_model, real) => {
      real.stats.weights++;
      real.fleet.setWeight(IDS[index]!, to);
    },
    (net) => net.inFleet[index]!,
  ),
);

/** Reads and writes most of the time; faults often enough that most runs see several, and the way back from them. */
const commands = [
  fc.oneof(
    { arbitrary: setCommand, weight: 8 },
    { arbitrary: getCommand, weight: 9 },
    { arbitrary: deleteCommand, weight: 4 },
    { arbitrary: mgetCommand, weight: 4 },
    { arbitrary: msetCommand, weight: 3 },
    { arbitrary: crash, weight: 2 },
    { arbitrary: back, weight: 3 },
    { arbitrary: cutOff, weight: 2 },
    { arbitrary: heal, weight: 3 },
    { arbitrary: refuse, weight: 1 },
    { arbitrary: accept, weight: 2 },
    { arbitrary: slow, weight: 1 },
    { arbitrary: fast, weight: 1 },
    { arbitrary: join, weight: 2 },
    { arbitrary: leave, weight: 2 },
    { arbitrary: weight, weight: 2 },
    { arbitrary: pause, weight: 3 },
    { arbitrary: settle, weight: 2 },
  ),
];

/** The run in progress: where {@link recordTimeouts} notes timeouts. */
let current: Real | undefined;

/**
 * Notes, in the run in progress, which server each timed-out request went
 * to (a pass-through spy on `FleetServer#track`, which every request of the
 * fleet goes through: the request path itself is unchanged).
 */
function recordTimeouts(): void {
  const track = FleetServer.prototype.track;
  vi.spyOn(FleetServer.prototype, 'track').mockImplementation(function <T>(this: FleetServer, request: Promise<T>): Promise<T> {
    const tracked = track.call(this, request) as Promise<T>;
    tracked.catch((error: unknown) => {
      if (error instanceof TimeoutError) current?.timedOut.push(this.id);
    });
    return tracked;
  });
}

/** Runs the model `numRuns` times (or replays the environment's seed); resolves with the counters, rejects with fast-check's report. */
async function runModel(numRuns: number, settings: { seed?: number; maxCommands?: number } = {}): Promise<Stats> {
  const stats = newStats();
  recordTimeouts();
  const replay = process.env['REPLICAS_MODEL_SEED'];
  await fc.assert(
    fc.asyncProperty(fc.commands(commands, { maxCommands: settings.maxCommands ?? 80, size: 'max' }), async (sequence) => {
      stats.runs++;
      debug(`run ${stats.runs}`);
      const servers = await startServers(4);
      const proxies = await Promise.all(servers.map((server) => startProxy({ target: { host: server.host, port: server.port }, host: server.host })));
      const fleet = new ZCachedFleet({
        servers: proxies.slice(0, 3).map((proxy, index) => ({ host: proxy.host, port: proxy.port, id: IDS[index]! })),
        replicas: 2,
        poolSize: 1,
        timeoutLimit: 300,
        connectTimeout: 300,
        connectionAttempts: 2,
        backoff: { initial: 10, max: 40, jitter: 0 },
        closeTimeout: 50,
        failureLimit: 2,
        retryTimeout: RETRY_MS,
      });
      const none = (): boolean[] => [false, false, false, false];
      const net: Net = { inFleet: [true, true, true, false], crashed: none(), cutOff: none(), refusing: none(), slow: none(), queue: { crashed: [], cutOff: [], refusing: [], slow: [], left: [3] } };
      const real = new Real(net, fleet, servers, proxies, stats);
      current = real;
      try {
        await settles(fleet.run(), 'fleet.run() did not settle');
        await fc.asyncModelRun(() => ({ model: { keys: new Map(), net, next: 0 }, real }), sequence);
      } catch (error) {
        const log = process.env['REPLICAS_MODEL_LOG'];
        if (log !== undefined) appendFileSync(log, `\n===== ${String(sequence)}\n${String(error)}\n`);
        throw error;
      } finally {
        if (process.env['REPLICAS_MODEL_TRACE'] === '1') console.log(real.trace.join('\n'));
        debug('closing');
        await settles(
          (async () => {
            await fleet.close();
            await Promise.all(proxies.map((proxy) => proxy.close()));
            await Promise.all(real.servers.map((server) => server.close()));
          })(),
          'closing the fleet, the proxies and the servers did not settle',
        );
        current = undefined;
        debug('closed');
      }
    }),
    settings.seed !== undefined
      ? { numRuns, seed: settings.seed, endOnFailure: process.env['REPLICAS_MODEL_SHRINK'] !== '1' }
      : replay === undefined
        ? { numRuns, endOnFailure: process.env['REPLICAS_MODEL_LOG'] !== undefined }
        : { numRuns, seed: Number(replay), path: process.env['REPLICAS_MODEL_PATH'] ?? '', endOnFailure: process.env['REPLICAS_MODEL_SHRINK'] !== '1' },
  );
  return stats;
}

const unhandled = watchUnhandledRejections();

afterEach(() => {
  vi.restoreAllMocks();
});

/** Runs of the model, and the seed and runs of the planted bug's (the first run of that seed fails; the others are a margin). */
const RUNS = Number(process.env['REPLICAS_MODEL_RUNS'] ?? 20);
const PLANTED = { seed: 4, runs: 25 };

describe('ZCachedFleet with replicas: 2 against a model (real sockets, crashes, cut-offs, refusals, slow servers, membership and weight changes)', () => {
  it('never serves a value older than the last acknowledged write, and neither misses nor fails while a good replica is up', async () => {
    const baseline = openResources();
    const stats = await runModel(RUNS);
    if (process.env['REPLICAS_MODEL_STATS'] === '1') console.log(JSON.stringify(stats));
    // The runs reached what the test is about: faults, fences and returns, strict checks while a server was out, past a best replica that was not good.
    expect(stats.crashes + stats.partitions + stats.refusals).toBeGreaterThan(stats.runs);
    expect(stats.returnsWithData + stats.returnsEmpty).toBeGreaterThan(0);
    expect((stats.events['serverFenced'] ?? 0) + (stats.events['serverEjected'] ?? 0)).toBeGreaterThan(stats.runs / 2);
    expect(stats.events['serverReturned'] ?? 0).toBeGreaterThan(0);
    expect(stats.strict).toBeGreaterThan(stats.runs * 5);
    expect(stats.strictUnderFault).toBeGreaterThan(stats.runs);
    expect(stats.strictBehind).toBeGreaterThan(0);
    expect(unhandled).toEqual([]);
    await untilResourcesBackTo(baseline);
  }, Number(process.env['REPLICAS_MODEL_TIMEOUT'] ?? 60_000));

  it('fails with a stale read when a fenced server returns without its flush (planted bug: FleetServer#probe skips FLUSH)', async () => {
    const baseline = openResources();
    const probe = FleetServer.prototype.probe;
    vi.spyOn(FleetServer.prototype, 'probe').mockImplementation(function (this: FleetServer) {
      return probe.call(this, false);
    });
    // Shrunk (REPLICAS_MODEL_SHRINK=1): set(k2), halfOpen(s2), get({t}:b), delete(k2), heal, settle, mget(k2, k0) gives k2 = v1:
    // s2 missed the delete (ejected by the timeouts of its cut-off), came back unflushed, and is k2's best replica.
    const failure = await runModel(PLANTED.runs, { seed: PLANTED.seed }).then(
      () => undefined,
      (error: unknown) => error,
    );
    if (process.env['REPLICAS_MODEL_STATS'] === '1') console.log(`${String(failure)}\n${String((failure as Error | undefined)?.cause)}`);
    expect(failure, 'the model passed with a server served old values after its return').toBeInstanceOf(Error);
    expect((failure as Error).message).toMatch(/Counterexample: \[/);
    expect(String((failure as Error).cause)).toMatch(/^AssertionError: STALE READ of /);
    expect(unhandled).toEqual([]);
    await untilResourcesBackTo(baseline);
  }, Number(process.env['REPLICAS_MODEL_TIMEOUT'] ?? 60_000));
});
