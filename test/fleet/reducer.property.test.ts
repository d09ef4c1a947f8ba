/**
 * Model-based test of the pure fleet reducer with `fc.commands`: random
 * membership changes (add, remove, weight), failures and successes, retry
 * timers firing, probes succeeding or failing, stale and unknown actions,
 * and close, against a plain model. The harness (`reducer-harness.ts`)
 * plays the shell: it keeps the open pools, the armed timers and the probes
 * in flight from the effects, and refuses any effect that would open a pool
 * twice, arm a second timer or cancel one that is not armed. States are
 * deep-frozen, so a reducer that modified its input would throw. With
 * `replicas` > 1: `reducer-replicas.property.test.ts`.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fleetReducer } from '../../src/fleet/reducer.js';
import type { FleetAction, ServerHealth } from '../../src/fleet/state.js';
import { ShellHarness } from './reducer-harness.js';

const IDS = ['a', 'b', 'c'];
/** How often each event was seen over the whole run (to check that the generator reaches them all). */
const seen = new Map<string, number>();

interface ModelServer {
  weight: number;
  health: ServerHealth;
  failures: number;
  ejectedAt: number | undefined;
}

interface Model {
  readonly failureLimit: number;
  readonly retryTimeout: number;
  servers: Map<string, ModelServer>;
  closed: boolean;
  now: number;
}

/** The reducer with a shell around it (replicas: 1). */
class Harness extends ShellHarness {
  constructor(failureLimit: number, retryTimeout: number) {
    super({ failureLimit, retryTimeout }, 1, seen);
  }
}

/** The model and the harness agree, and the shell's bookkeeping matches the healths (one comparison, for speed). */
function check(model: Model, real: Harness): void {
  const state = real.state;
  const ids = (filter: (health: ServerHealth) => boolean): string =>
    state.servers
      .filter((server) => filter(server.health))
      .map((server) => server.id)
      .join(',');
  const actual = {
    closed: state.closed,
    servers: state.servers.map(({ id, weight, health, failures, ejectedAt }) => `${id}:${weight}:${health}:${failures}:${ejectedAt}`).join(' '),
    pools: [...real.pools].sort().join(','),
    timers: [...real.timers].sort().join(','),
    probes: [...real.probes].sort().join(','),
  };
  const expected = {
    closed: model.closed,
    servers: [...model.servers].map(([id, { weight, health, failures, ejectedAt }]) => `${id}:${weight}:${health}:${failures}:${ejectedAt}`).join(' '),
    pools: [...model.servers.keys()].sort().join(','),
    timers: ids((health) => health === 'ejected').split(',').filter(Boolean).sort().join(','),
    probes: ids((health) => health === 'probing').split(',').filter(Boolean).sort().join(','),
  };
  if (JSON.stringify(actual) !== JSON.stringify(expected)) expect(actual).toEqual(expected);
  for (const server of state.servers) if (server.health === 'up' && server.failures >= model.failureLimit) expect.fail(`${server.id} is up with ${server.failures} failures`);
}

type Command = fc.Command<Model, Harness>;

/** A command: run it on both sides, then compare. */
const step = (fn: (model: Model, real: Harness) => void, name: string): Command => ({
  check: () => true,
  run(model: Model, real: Harness) {
    fn(model, real);
    check(model, real);
  },
  toString: () => name,
});

const idArb = fc.constantFrom(...IDS);
const weightArb = fc.constantFrom(0.5, 1, 2, 3);
const elapsed = fc.nat(50);
/** True three times in four: timers and probes are mostly real, sometimes stale. */
const mostly = fc.constantFrom(true, true, true, false);

const commandKinds: fc.Arbitrary<Command>[] = [
  fc.tuple(idArb, weightArb).map(([id, weight]) =>
    step((model, real) => {
      real.dispatch({ type: 'addServer', id, weight });
      if (model.closed || model.servers.has(id)) {
        expect(real.events).toEqual([]);
        return;
      }
      model.servers.set(id, { weight, health: 'up', failures: 0, ejectedAt: undefined });
      expect(real.events).toEqual([{ type: 'serverAdded', server: id, weight }]);
    }, `addServer(${id}, ${weight})`),
  ),
  idArb.map((id) =>
    step((model, real) => {
      real.dispatch({ type: 'removeServer', id });
      const known = model.servers.delete(id);
      expect(real.events).toEqual(known && !model.closed ? [{ type: 'serverRemoved', server: id }] : []);
    }, `removeServer(${id})`),
  ),
  fc.tuple(idArb, weightArb).map(([id, weight]) =>
    step((model, real) => {
      real.dispatch({ type: 'setWeight', id, weight });
      const server = model.servers.get(id);
      if (server === undefined || server.weight === weight) {
        expect(real.events).toEqual([]);
        return;
      }
      expect(real.events).toEqual([{ type: 'weightChanged', server: id, from: server.weight, to: weight }]);
      server.weight = weight;
    }, `setWeight(${id}, ${weight})`),
  ),
  fc.tuple(idArb, elapsed).map(([id, ms]) =>
    step((model, real) => {
      model.now += ms;
      const error = new Error('connect ECONNREFUSED');
      real.dispatch({ type: 'failed', id, at: model.now, error });
      const server = model.servers.get(id);
      if (server === undefined || server.health !== 'up') {
        expect(real.events).toEqual([]);
        return;
      }
      server.failures += 1;
      if (server.failures < model.failureLimit) {
        expect(real.events).toEqual([]);
        return;
      }
      server.health = 'ejected';
      server.ejectedAt = model.now;
      expect(real.events).toEqual([
        { type: 'serverEjected', server: id, at: model.now, failures: model.failureLimit, retryAt: model.now + model.retryTimeout, error },
      ]);
    }, `failed(${id}, +${ms} ms)`),
  ),
  idArb.map((id) =>
    step((model, real) => {
      real.dispatch({ type: 'succeeded', id });
      const server = model.servers.get(id);
      if (server !== undefined && server.health === 'up') server.failures = 0;
      expect(real.events).toEqual([]);
    }, `succeeded(${id})`),
  ),
  fc.tuple(idArb, elapsed, mostly).map(([id, ms, armed]) =>
    step((model, real) => {
      model.now += ms;
      // Either the armed timer fires, or a stale one does (one of a server that left: nothing is armed for this id).
      if (armed !== real.timers.has(id)) return;
      if (armed) real.timers.delete(id);
      real.dispatch({ type: 'retryDue', id, at: model.now });
      const server = model.servers.get(id);
      if (armed && server !== undefined && server.health === 'ejected') server.health = 'probing';
      expect(real.events).toEqual([]);
    }, `retryDue(${id}, +${ms} ms${armed ? '' : ', stale'})`),
  ),
  fc.tuple(idArb, elapsed, fc.boolean(), mostly).map(([id, ms, ok, inFlight]) =>
    step((model, real) => {
      model.now += ms;
      // The probe in flight answers, or a stale one does (of a server that left: none is in flight for this id).
      if (inFlight !== real.probes.has(id)) return;
      if (inFlight) real.probes.delete(id);
      const error = new Error('still down');
      real.dispatch(ok ? { type: 'probeSucceeded', id, at: model.now } : { type: 'probeFailed', id, at: model.now, error });
      const server = model.servers.get(id);
      if (!inFlight || server === undefined || server.health !== 'probing') {
        expect(real.events).toEqual([]);
        return;
      }
      if (ok) {
        expect(real.events).toEqual([{ type: 'serverReturned', server: id, at: model.now, ejectedFor: model.now - server.ejectedAt! }]);
        Object.assign(server, { health: 'up', failures: 0, ejectedAt: undefined });
      } else {
        expect(real.events).toEqual([{ type: 'probeFailed', server: id, at: model.now, retryAt: model.now + model.retryTimeout, error }]);
        server.health = 'ejected';
      }
    }, `probe${ok ? 'Succeeded' : 'Failed'}(${id}, +${ms} ms${inFlight ? '' : ', stale'})`),
  ),
  fc.constant(
    step((model, real) => {
      real.dispatch({ type: 'close' });
      model.servers.clear();
      model.closed = true;
      expect(real.events).toEqual([]);
    }, 'close'),
  ),
];

// Failures, timers and probes are drawn more often than membership changes, so that sequences reach ejections and returns.
const [add, remove, setWeight, failed, succeeded, retryDue, probe, close] = commandKinds as [
  fc.Arbitrary<Command>,
  fc.Arbitrary<Command>,
  fc.Arbitrary<Command>,
  fc.Arbitrary<Command>,
  fc.Arbitrary<Command>,
  fc.Arbitrary<Command>,
  fc.Arbitrary<Command>,
  fc.Arbitrary<Command>,
];
const commands = [
  fc.oneof(
    { arbitrary: add, weight: 16 },
    { arbitrary: remove, weight: 8 },
    { arbitrary: setWeight, weight: 8 },
    { arbitrary: failed, weight: 40 },
    { arbitrary: succeeded, weight: 8 },
    { arbitrary: retryDue, weight: 20 },
    { arbitrary: probe, weight: 20 },
    { arbitrary: close, weight: 1 },
  ),
];

describe('fleetReducer (model-based)', () => {
  it('agrees with the model over any sequence; pools, timers and probes follow the healths', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 0, max: 1000 }), fc.commands(commands, { maxCommands: 150, size: 'large' }), (failureLimit, retryTimeout, sequence) => {
        fc.modelRun(() => ({ model: { failureLimit, retryTimeout, servers: new Map(), closed: false, now: 0 }, real: new Harness(failureLimit, retryTimeout) }), sequence);
      }),
      { numRuns: 100 },
    );
    // Every kind of event happened (tens of times on average; 5 is far in the tail): the sequences reach ejections, probes and returns.
    for (const type of ['serverAdded', 'serverRemoved', 'weightChanged', 'serverEjected', 'serverReturned', 'probeFailed']) {
      expect(seen.get(type) ?? 0).toBeGreaterThan(5);
    }
  });

  it('never ejects with failureLimit Infinity', () => {
    const harness = new Harness(Infinity, 10);
    harness.dispatch({ type: 'addServer', id: 'a', weight: 1 });
    for (let at = 0; at < 1000; at++) harness.dispatch({ type: 'failed', id: 'a', at });
    expect(harness.state.servers[0]).toMatchObject({ health: 'up', failures: 1000 });
    expect(harness.timers.size).toBe(0);
  });

  it('after close, every action leaves the state as it is', () => {
    const harness = new Harness(1, 10);
    harness.dispatch({ type: 'addServer', id: 'a', weight: 1 });
    harness.dispatch({ type: 'failed', id: 'a', at: 1 });
    harness.dispatch({ type: 'close' });
    const closed = harness.state;
    for (const action of [
      { type: 'addServer', id: 'b', weight: 1 },
      { type: 'retryDue', id: 'a', at: 2 },
      { type: 'close' },
    ] satisfies FleetAction[]) {
      const [state, effects] = fleetReducer(closed, action);
      expect(state).toBe(closed);
      expect(effects).toEqual([]);
    }
  });
});
