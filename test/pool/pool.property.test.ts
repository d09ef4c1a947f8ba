/**
 * Model-based tests of the ConnectionPool shell with FakeConnections:
 *
 * - `fc.commands` over every public method plus what the environment does
 *   (a connect succeeds or fails, a connection drops or retries, requests
 *   come and go), run against a simple model with the invariants checked
 *   after each command;
 * - `fc.scheduler` interleavings of setup, reconnect, reduce, close and
 *   connection events: every promise settles and close() never hangs.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PoolEmptyError } from '../../src/errors.js';
import { ConnectionPool } from '../../src/pool/index.js';
import { FakeConnection, type ConnectOutcome } from '../../src/testing/fake-connection.js';

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Lets microtasks and a couple of event-loop turns run, so fake outcomes land. */
async function settle(): Promise<void> {
  await turn();
  await turn();
}

/** The real system: a pool of fakes, what it emitted and every operation started on it. */
class Real {
  readonly pool: ConnectionPool<FakeConnection>;
  /** Every connection that ever was in the pool. */
  readonly seen = new Set<FakeConnection>();
  readonly operations: { settled: boolean; label: string }[] = [];
  /**
   * What went wrong outside a command's own code: an operation started with
   * {@link start} that rejected (or whose check failed), an event that broke
   * an expectation. checkPool fails on any, so fast-check shrinks to it.
   */
  readonly failures: string[] = [];
  /** The setup() in progress (shared by later calls until it settles or close() is called). */
  setup: { readonly promise: Promise<void>; settled: boolean } | undefined;
  plan: readonly ConnectOutcome[] = ['succeed'];
  #planned = 0;
  added = 0;
  removed = 0;
  lastSize: number;

  constructor(poolSize: number) {
    this.lastSize = poolSize;
    this.pool = new ConnectionPool(poolSize, () => {
      const outcome = this.plan[this.#planned++ % this.plan.length] ?? 'succeed';
      return new FakeConnection({ connectOutcome: outcome });
    });
    this.pool.subscribe((event) => {
      if (event.type === 'connectionAdded') {
        this.added += 1;
        this.seen.add(event.connection);
      }
      if (event.type === 'connectionRemoved') this.removed += 1;
      if (event.type === 'poolSizeChanged') {
        if (event.from !== this.lastSize) this.failures.push(`poolSizeChanged from ${event.from}, but the size was ${this.lastSize}`);
        this.lastSize = event.to;
      }
    });
  }

  /**
   * Starts an operation without awaiting it: a hanging connect may hold it
   * until later commands. A rejection is recorded in {@link failures} (not
   * rethrown: inside a discarded `.then` it would only be an unhandled
   * rejection, never a failing property with a counterexample).
   */
  start(label: string, operation: Promise<unknown>): void {
    const record = { settled: false, label };
    this.operations.push(record);
    operation.then(
      () => {
        record.settled = true;
      },
      (error: unknown) => {
        record.settled = true;
        this.failures.push(`${label} rejected: ${String(error)}`);
      },
    );
  }

  withPlan(plan: readonly ConnectOutcome[]): this {
    this.plan = plan.length > 0 ? plan : ['succeed'];
    this.#planned = 0;
    return this;
  }
}

/** What the pool should hold: its size and its connections, in order. */
interface Model {
  poolSize: number;
  members: FakeConnection[];
}

/** The invariants, checked against the real pool after every command. */
function checkPool(model: Model, real: Real): void {
  const { pool } = real;
  expect(real.failures).toEqual([]);
  expect(pool.connections).toEqual(model.members);
  expect(pool.poolSize).toBe(model.poolSize);
  expect(Number.isInteger(pool.poolSize) && pool.poolSize >= 0).toBe(true);

  const up = pool.connectedConnections;
  const down = pool.brokenConnections;
  expect(up.every((connection) => connection.isConnected())).toBe(true);
  expect(down.some((connection) => connection.isConnected())).toBe(false);
  expect(new Set([...up, ...down])).toEqual(new Set(pool.connections));
  expect(up.length + down.length).toBe(pool.connections.length);

  expect(pool.isEmpty()).toBe(pool.connections.length === 0);
  expect(pool.isFull()).toBe(pool.connections.length >= pool.poolSize);
  expect(pool.isWorking()).toBe(up.length > 0);

  checkLeastLoaded(pool);

  for (const connection of pool.connections) {
    expect(connection.state).not.toBe('closed');
    expect(connection.listenerCount).toBe(1);
  }
  for (const connection of real.seen) {
    if (pool.connections.includes(connection)) continue;
    expect(connection.state).toBe('closed');
    expect(connection.listenerCount).toBe(0);
  }
  expect(real.added - real.removed).toBe(pool.connections.length);
  expect(real.lastSize).toBe(pool.poolSize);
}

/** The least-loaded choice is a connected connection with the fewest pending; n calls reach every tied one. */
function checkLeastLoaded(pool: ConnectionPool<FakeConnection>): void {
  const up = pool.connectedConnections;
  if (up.length === 0) {
    expect(() => pool.getLeastLoadedConnection()).toThrow(PoolEmptyError);
    // A request then goes to a connecting one (fakes say nothing of their retries), fewest pending first.
    const connecting = pool.connections.filter((connection) => connection.state === 'connecting');
    if (connecting.length === 0) {
      expect(() => pool.getConnectionForRequest()).toThrow(PoolEmptyError);
    } else {
      const chosen = pool.getConnectionForRequest();
      expect(chosen.state).toBe('connecting');
      expect(chosen.pendingRequests).toBe(Math.min(...connecting.map((connection) => connection.pendingRequests)));
    }
    return;
  }
  const fewest = Math.min(...up.map((connection) => connection.pendingRequests));
  expect(pool.getConnectionForRequest().pendingRequests).toBe(fewest);
  const chosen = new Set<FakeConnection>();
  for (let call = 0; call < pool.connections.length; call++) {
    const connection = pool.getLeastLoadedConnection();
    expect(connection.isConnected()).toBe(true);
    expect(connection.pendingRequests).toBe(fewest);
    chosen.add(connection);
  }
  expect(chosen).toEqual(new Set(up.filter((connection) => connection.pendingRequests === fewest)));
}

type PoolCommand = fc.AsyncCommand<Model, Real>;

/** A command whose effect on the model is computed from what it changed in the real pool. */
abstract class Step implements PoolCommand {
  check(): boolean {
    return true;
  }

  async run(model: Model, real: Real): Promise<void> {
    this.apply(model, real);
    await settle();
    checkPool(model, real);
  }

  abstract apply(model: Model, real: Real): void;
  abstract toString(): string;
}

class Setup extends Step {
  constructor(readonly plan: readonly ConnectOutcome[]) {
    super();
  }
  apply(model: Model, real: Real): void {
    const before = [...real.pool.connections];
    const inProgress = real.setup;
    const promise = real.withPlan(this.plan).pool.setup();
    if (inProgress !== undefined && !inProgress.settled) {
      // A setup in progress is shared: same promise, nothing created or closed.
      expect(promise).toBe(inProgress.promise);
      expect(real.pool.connections).toEqual(before);
      return;
    }
    const setup = { promise, settled: false };
    real.setup = setup;
    const done = (): void => {
      setup.settled = true;
    };
    promise.then(done, done);
    real.start('setup', promise);
    expect(real.pool.connections).toHaveLength(model.poolSize);
    expect(real.pool.connections.some((connection) => before.includes(connection))).toBe(false);
    model.members = [...real.pool.connections];
  }
  toString(): string {
    return `setup(${this.plan.join(',')})`;
  }
}

class Close extends Step {
  apply(model: Model, real: Real): void {
    real.start('close', real.pool.close());
    real.setup = undefined; // a setup() after close() is a new one
    model.members = [];
  }
  toString(): string {
    return 'close()';
  }
}

class ExtendBySize extends Step {
  constructor(
    readonly size: number,
    readonly plan: readonly ConnectOutcome[],
  ) {
    super();
  }
  apply(model: Model, real: Real): void {
    real.withPlan(this.plan).start('extendPoolBySize', real.pool.extendPoolBySize(this.size));
    const joined = real.pool.connections.slice(model.members.length);
    expect(real.pool.connections.slice(0, model.members.length)).toEqual(model.members);
    expect(joined).toHaveLength(this.size);
    model.members = [...model.members, ...joined];
    model.poolSize = Math.max(model.poolSize, model.members.length);
  }
  toString(): string {
    return `extendPoolBySize(${this.size}, ${this.plan.join(',')})`;
  }
}

class ExtendByConnections extends Step {
  constructor(readonly shapes: readonly { state: 'idle' | 'connected' | 'broken'; outcome: ConnectOutcome }[]) {
    super();
  }
  apply(model: Model, real: Real): void {
    const joining = this.shapes.map(({ state, outcome }) => new FakeConnection({ state, connectOutcome: outcome }));
    real.start('extendPoolByConnections', real.pool.extendPoolByConnections(joining));
    model.members = [...model.members, ...joining];
    model.poolSize = Math.max(model.poolSize, model.members.length);
  }
  toString(): string {
    return `extendPoolByConnections(${this.shapes.map((shape) => `${shape.state}/${shape.outcome}`).join(',')})`;
  }
}

class Reduce extends Step {
  constructor(
    readonly amount: number,
    readonly deletePendingConnections: boolean,
  ) {
    super();
  }
  apply(model: Model, real: Real): void {
    const pending = new Map(model.members.map((connection) => [connection, connection.pendingRequests]));
    const load = (connection: FakeConnection): number => pending.get(connection) ?? 0;
    const eligible = (connection: FakeConnection): boolean => this.deletePendingConnections || load(connection) === 0;
    const closesBefore = new Map(model.members.map((connection) => [connection, connection.closeCalls.length]));

    real.start('reducePoolConnections', real.pool.reducePoolConnections(this.amount, this.deletePendingConnections));

    const kept = [...real.pool.connections];
    const removed = model.members.filter((connection) => !kept.includes(connection));
    expect(kept).toEqual(model.members.filter((connection) => kept.includes(connection)));
    if (this.amount <= 0) {
      expect(removed).toEqual([]);
      return;
    }
    const target = Math.max(0, model.poolSize - this.amount);
    const expectedRemovals = Math.max(0, Math.min(model.members.length - target, model.members.filter(eligible).length));
    expect(removed).toHaveLength(expectedRemovals);
    expect(removed.every(eligible)).toBe(true);
    if (removed.some((connection) => connection.isConnected())) {
      expect(kept.some((connection) => !connection.isConnected() && eligible(connection))).toBe(false);
      const heaviest = Math.max(...removed.filter((connection) => connection.isConnected()).map(load));
      for (const connection of kept) {
        if (connection.isConnected() && eligible(connection)) expect(load(connection)).toBeGreaterThanOrEqual(heaviest);
      }
    }
    for (const connection of removed) {
      const calls = connection.closeCalls.slice(closesBefore.get(connection) ?? 0);
      expect(calls).toEqual([load(connection) > 0 ? { force: true } : undefined]);
    }
    model.members = kept;
    model.poolSize = Math.max(target, kept.length);
  }
  toString(): string {
    return `reducePoolConnections(${this.amount}, ${this.deletePendingConnections})`;
  }
}

class Cleanup extends Step {
  apply(model: Model, real: Real): void {
    const expected = model.members.filter((connection) => connection.isConnected());
    real.start('cleanupBrokenConnections', real.pool.cleanupBrokenConnections());
    model.members = expected;
  }
  toString(): string {
    return 'cleanupBrokenConnections()';
  }
}

class Reconnect extends Step {
  constructor(readonly onlyBrokenConnections: boolean) {
    super();
  }
  apply(model: Model, real: Real): void {
    const calls = model.members.map((connection) => connection.tryReconnectCalls);
    const operation = real.pool.reconnect(this.onlyBrokenConnections);
    real.start('reconnect', operation.then((count) => expect(count).toBeLessThanOrEqual(real.pool.connections.length)));
    model.members.forEach((connection, index) => {
      const targeted = !this.onlyBrokenConnections || calls[index] !== connection.tryReconnectCalls || connection.isConnected();
      expect(targeted).toBe(true);
    });
  }
  toString(): string {
    return `reconnect(${this.onlyBrokenConnections})`;
  }
}

type Environment = 'resolveConnect' | 'failConnect' | 'drop' | 'retry' | 'addPending' | 'finishPending';

/** Something a connection of the pool does on its own. */
class ConnectionEvent extends Step {
  constructor(
    readonly what: Environment,
    readonly pick: number,
    readonly count: number,
  ) {
    super();
  }
  apply(model: Model): void {
    const candidates = model.members.filter((connection) => this.applies(connection));
    const connection = candidates[this.pick % Math.max(1, candidates.length)];
    if (connection === undefined) return;
    switch (this.what) {
      case 'resolveConnect':
        return connection.resolveConnect();
      case 'failConnect':
        return connection.failConnect();
      case 'drop':
        return connection.drop();
      case 'retry':
        void connection.tryReconnect(); // the connection's own back-off retry
        return;
      case 'addPending':
        return connection.addPending(this.count);
      case 'finishPending':
        return connection.finishPending(Math.min(this.count, connection.pendingRequests));
    }
  }
  applies(connection: FakeConnection): boolean {
    switch (this.what) {
      case 'resolveConnect':
      case 'failConnect':
        return connection.hasConnectInFlight;
      case 'drop':
        return connection.isConnected();
      case 'retry':
        return connection.state === 'broken';
      case 'addPending':
        return true;
      case 'finishPending':
        return connection.pendingRequests > 0;
    }
  }
  toString(): string {
    return `${this.what}(#${this.pick}, ${this.count})`;
  }
}

const outcome = fc.constantFrom<ConnectOutcome>('succeed', 'fail', 'hang');
const plan = fc.array(outcome, { minLength: 1, maxLength: 3 });

const commandArbs: fc.Arbitrary<PoolCommand>[] = [
  plan.map((p) => new Setup(p)),
  fc.constant(new Close()),
  fc.tuple(fc.nat(3), plan).map(([size, p]) => new ExtendBySize(size, p)),
  fc
    .array(fc.record({ state: fc.constantFrom('idle' as const, 'connected' as const, 'broken' as const), outcome }), { maxLength: 3 })
    .map((shapes) => new ExtendByConnections(shapes)),
  fc.tuple(fc.integer({ min: -1, max: 5 }), fc.boolean()).map(([amount, force]) => new Reduce(amount, force)),
  fc.constant(new Cleanup()),
  fc.boolean().map((only) => new Reconnect(only)),
  // One arbitrary per kind of connection event, so they make up about half of the commands.
  ...(['resolveConnect', 'failConnect', 'drop', 'retry', 'addPending', 'finishPending'] as const).map((what) =>
    fc.tuple(fc.nat(7), fc.integer({ min: 1, max: 3 })).map(([pick, count]) => new ConnectionEvent(what, pick, count)),
  ),
];

describe('ConnectionPool model', () => {
  it('matches the model and keeps every invariant under random commands', async () => {
    await fc.assert(
      fc.asyncProperty(fc.nat(4), fc.commands(commandArbs, { maxCommands: 40, size: 'medium' }), async (poolSize, commands) => {
        const real = new Real(poolSize);
        await fc.asyncModelRun(() => ({ model: { poolSize, members: [] }, real }), commands);
        // Closing settles everything: no operation is left hanging, nothing is left open.
        const closing = { done: false };
        void real.pool.close().then(() => (closing.done = true));
        await settle();
        expect(closing.done).toBe(true);
        expect(real.operations.filter((operation) => !operation.settled)).toEqual([]);
        expect(real.failures).toEqual([]);
        for (const connection of real.seen) {
          expect(connection.state).toBe('closed');
          expect(connection.listenerCount).toBe(0);
          expect(connection.hasConnectInFlight).toBe(false);
        }
      }),
      { numRuns: 60 },
    );
  });
});

type Interleaved = 'setup' | 'reconnect' | 'reconnectAll' | 'reduce' | 'reduceForce' | 'cleanup' | 'close' | 'extend' | 'drop' | 'request';

describe('ConnectionPool under any interleaving', () => {
  it('settles every promise, and close() never hangs', async () => {
    const operations = fc.array(
      fc.constantFrom<Interleaved>('setup', 'reconnect', 'reconnectAll', 'reduce', 'reduceForce', 'cleanup', 'close', 'extend', 'drop', 'request'),
      { minLength: 1, maxLength: 8 },
    );
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), fc.integer({ min: 1, max: 3 }), operations, fc.array(fc.boolean(), { minLength: 1 }), async (s, poolSize, steps, connects) => {
        let attempts = 0;
        const created: FakeConnection[] = [];
        const pool = new ConnectionPool(poolSize, () => {
          const connection = new FakeConnection({ connectOutcome: 'hang' });
          created.push(connection);
          // Every connect attempt ends when the scheduler says so, with a planned outcome.
          connection.subscribe((change) => {
            if (change.to !== 'connecting') return;
            const succeeds = connects[attempts++ % connects.length] ?? true;
            void s.schedule(Promise.resolve(), `${connection.id} ${succeeds ? 'connects' : 'fails'}`).then(() => {
              if (!connection.hasConnectInFlight) return;
              if (succeeds) connection.resolveConnect();
              else connection.failConnect();
            });
          });
          return connection;
        });

        const results: { label: string; settled: boolean }[] = [];
        const requests: Promise<unknown>[] = [];
        const run = (label: string, operation: () => Promise<unknown> | void): void => {
          void s.schedule(Promise.resolve(), label).then(() => {
            const result = operation();
            if (result === undefined) return;
            const record = { label, settled: false };
            results.push(record);
            void result.then(() => (record.settled = true));
          });
        };
        for (const step of steps) {
          switch (step) {
            case 'setup':
              run(step, () => pool.setup());
              break;
            case 'reconnect':
              run(step, () => pool.reconnect());
              break;
            case 'reconnectAll':
              run(step, () => pool.reconnect(false));
              break;
            case 'reduce':
              run(step, () => pool.reducePoolConnections(1));
              break;
            case 'reduceForce':
              run(step, () => pool.reducePoolConnections(2, true));
              break;
            case 'cleanup':
              run(step, () => pool.cleanupBrokenConnections());
              break;
            case 'close':
              run(step, () => pool.close());
              break;
            case 'extend':
              run(step, () => pool.extendPoolBySize(1));
              break;
            case 'drop':
              run(step, () => pool.connectedConnections[0]?.drop());
              break;
            case 'request':
              run(step, () => {
                if (pool.isWorking()) requests.push(pool.getLeastLoadedConnection().send().catch(() => {}));
              });
              break;
          }
        }

        await s.waitIdle();
        await settle();
        expect(results.filter((result) => !result.settled), s.report().map((task) => task.label).join(' > ')).toEqual([]);

        const finalClose = { done: false };
        void pool.close().then(() => (finalClose.done = true));
        await settle();
        expect(finalClose.done).toBe(true);
        expect(pool.isEmpty()).toBe(true);
        await s.waitIdle();
        await Promise.all(requests); // every request settled by its connection's close
        for (const connection of created) {
          expect(connection.state).toBe('closed');
          expect(connection.listenerCount).toBe(1); // only this test's own listener
          expect(connection.hasConnectInFlight).toBe(false);
        }
      }),
      { numRuns: 100 },
    );
  });
});
