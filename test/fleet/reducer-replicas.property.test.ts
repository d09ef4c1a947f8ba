/**
 * Model-based test of the pure fleet reducer's replica bookkeeping (fences,
 * doubts, sweeps, warm-ups, rejoins) with `fc.commands`, for `replicas` 1,
 * 2 and 3 over five server ids.
 *
 * Each run starts with the fleet's own servers (`initial` adds, before
 * anything else, as the `ZCachedFleet` constructor does), then random
 * steps: servers joining (an id removed earlier included), removals,
 * weights going up and down, failures and successes, fences, retry timers
 * firing, probes answering, sweeps and warm-ups reporting (the one the
 * reducer waits for, an older one that its server's ejection left running
 * in the shell, or one never started; a sweep may say it cleared any
 * number of the doubts it was sent), and close. One run in four has no
 * failures and sweeps that never end, so that doubts pile up past
 * `MAX_DOUBTS`. The shell is played by `ShellHarness`
 * (`reducer-harness.ts`), which refuses, among others, a second sweep or
 * warm-up for a server that has one running, and a sweep or warm-up
 * dropped while its server stays up. After every step the test checks:
 * - probes flush exactly when `replicas` > 1;
 * - `fence` takes an up server out at once (one retry timer, one
 *   `serverFenced`) with `replicas` > 1, and changes nothing otherwise;
 *   every ejection or fence is dated by the action that caused it;
 * - a server has a sweep exactly when it has doubts, only up servers have
 *   doubts, a sweep or a warm-up, never more than `MAX_DOUBTS` doubts, and
 *   a sweep is sent every doubt the server has when it starts;
 * - warm-ups start for a server that returned or joined a running fleet,
 *   never for the fleet's own servers (which get no doubts either); an id
 *   that left joins again ejected, probed at once (0 ms);
 * - placement: over 50 keys, when a step moves a key off a server that
 *   stays up, the server's doubts then hold a placement in which it is
 *   not a replica of the key (it is not trusted for it). The test also
 *   remembers every such move until the server's copy is certainly gone (a
 *   sweep started after the move, and told about a placement without the
 *   key on that server, reported done; or the server went out, to be
 *   flushed): all that while, the server must stay untrusted for the key.
 *   (The reverse is not required: a server may be distrusted for more.)
 * - a result the reducer does not wait for (stale, unknown) changes
 *   nothing; after `close`, no action changes the state; states are
 *   deep-frozen (a reducer that modified its input would throw).
 *
 * Counts over the whole run check that the generator reaches each of these
 * situations (ejections, returns, fences, rejoins, moved keys, sweeps,
 * doubts piled up to the limit and past it, stale results).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Placement } from '../../src/fleet/placement.js';
import { MAX_DOUBTS } from '../../src/fleet/reducer-replicas.js';
import type { FleetAction, FleetEffect, FleetServerState, FleetState, PlacementView } from '../../src/fleet/state.js';
import { ShellHarness, type InFlight } from './reducer-harness.js';

const IDS = ['a', 'b', 'c', 'd', 'e'];
const KEYS = Array.from({ length: 50 }, (_, index) => `key:${index}`);
/** Event types, and a few situations, seen over the whole run (to check that the generator reaches them). */
const seen = new Map<string, number>();
const count = (what: string): void => void seen.set(what, (seen.get(what) ?? 0) + 1);

interface Model {
  now: number;
  closed: boolean;
  /** The ids in the fleet, and those that left it (by the test's own count). */
  readonly members: Set<string>;
  readonly removed: Set<string>;
}

const placements = new WeakMap<PlacementView, Placement>();
/** The placement of a view (cached: doubt views are shared and frozen). */
function placementOf(view: PlacementView): Placement {
  let placement = placements.get(view);
  if (placement === undefined) placements.set(view, (placement = new Placement(view)));
  return placement;
}
const live = (state: FleetState): PlacementView => state.servers.filter((server) => server.health === 'up').map(({ id, weight }) => ({ id, weight }));
const signature = (view: PlacementView): string => view.map(({ id, weight }) => `${id}:${weight}`).sort().join(' ');
const serverOf = (state: FleetState, id: string): FleetServerState | undefined => state.servers.find((server) => server.id === id);
/** Whether the reducer's doubts let `server` answer for `key` (as `FleetShell#trusted`). */
const trusted = (server: FleetServerState, key: string, k: number): boolean => server.doubts.every((view) => placementOf(view).holds(key, k, server.id));
const must = (ok: boolean, why: () => string): void => {
  if (!ok) expect.fail(why());
};

/** The harness plus what the test remembers of the keys that moved off servers. */
class Real extends ShellHarness {
  /** Server → key → the step that last moved the key off it (its copy may be stale until swept or flushed). */
  readonly moved = new Map<string, Map<string, number>>();
}

/** Dispatches `action` and checks every invariant of the step. */
function apply(model: Model, real: Real, action: FleetAction): void {
  const before = real.state;
  const k = before.replicas;
  const flight = action.type === 'sweepDone' ? real.sweeps.get(action.id) : undefined;
  real.dispatch(action);
  const after = real.state;
  const effects = real.effects;
  const of = <T extends FleetEffect['type']>(type: T) => effects.filter((effect): effect is Extract<FleetEffect, { type: T }> => effect.type === type);

  // After close nothing changes.
  if (before.closed) {
    must(after === before && effects.length === 0, () => `closed state changed by ${action.type}`);
    return;
  }
  if (action.type === 'close') must(after.closed && after.servers.length === 0, () => 'close left servers');
  if (action.type !== 'fence' && action.type !== 'sweepFailed' && real.events.some((event) => event.type === 'serverFenced')) count('fenced for too many doubts');
  // Ejections and fences are dated by the action that caused them (a weight change included).
  for (const event of real.events) {
    if (event.type !== 'serverEjected' && event.type !== 'serverFenced') continue;
    const at = 'at' in action ? action.at : undefined;
    must(event.at === at && event.retryAt === event.at + before.config.retryTimeout && serverOf(after, event.server)?.ejectedAt === at, () => `${event.type} of ${event.server} at ${event.at} on ${action.type} at ${at}`);
  }

  // Probes flush exactly with replicas.
  for (const probe of of('probe')) must(probe.flush === k > 1, () => `probe of ${probe.id} with flush ${probe.flush}, replicas ${k}`);
  if (k === 1) must(of('sweep').length === 0 && of('warmUp').length === 0, () => 'a sweep or a warm-up with replicas 1');

  // Fence: at once, whatever the failure count, with replicas and an up server only.
  if (action.type === 'fence') {
    const old = serverOf(before, action.id);
    if (k > 1 && old?.health === 'up') {
      const retryAt = action.at + before.config.retryTimeout;
      expect(serverOf(after, action.id)).toMatchObject({ health: 'ejected', ejectedAt: action.at, retryAt, failures: old.failures });
      expect(effects.filter((effect) => effect.type !== 'warmUp')).toEqual([
        { type: 'armRetry', id: action.id, delay: before.config.retryTimeout },
        { type: 'notify', event: { type: 'serverFenced', server: action.id, at: action.at, retryAt, key: action.key, error: action.error } },
      ]);
      count(old.failures > 0 ? 'fence with failures' : 'fence');
    } else must(after === before && effects.length === 0, () => `fence of ${action.id} (${old?.health}, replicas ${k}) changed something`);
  }

  // Each sweep carries every doubt its server has. Warm-ups: for a server that returned or joined, and for every
  // server that stayed up and may have gained keys (another went out or lost weight, or its own weight rose).
  for (const sweep of of('sweep')) expect(sweep.views).toEqual(serverOf(after, sweep.id)?.doubts);
  const wasUp = (state: FleetState, id: string): boolean => serverOf(state, id)?.health === 'up';
  const falling = before.servers.filter((server) => server.health === 'up' && (!wasUp(after, server.id) || serverOf(after, server.id)!.weight < server.weight));
  const gains = (id: string): boolean =>
    wasUp(before, id) && wasUp(after, id) && (serverOf(after, id)!.weight > serverOf(before, id)!.weight || falling.some((other) => other.id !== id));
  for (const warm of of('warmUp')) {
    const own = warm.id === ('id' in action ? action.id : undefined) && (action.type === 'probeSucceeded' || action.type === 'addServer');
    must(own || gains(warm.id), () => `warm-up of ${warm.id} on ${action.type}`);
    if (!own) count('warm-up of a server that gained keys');
  }
  if (k > 1) for (const server of after.servers) if (gains(server.id)) must(of('warmUp').some((warm) => warm.id === server.id), () => `${server.id} may have gained keys on ${action.type} and got no warm-up`);
  if (action.type === 'probeSucceeded' && serverOf(before, action.id)?.health === 'probing' && k > 1) {
    must(of('warmUp').filter((warm) => warm.id === action.id).length === 1, () => `${action.id} returned without a warm-up`);
  }
  if (action.type === 'addServer' && serverOf(before, action.id) === undefined) checkJoin(model, before, after, action, effects);

  checkShape(real, model);
  checkPlacement(real, before, after, action, flight);
}

/** Health and in-flight work agree with the state, the doubts have their shape. */
function checkShape(real: Real, model: Model): void {
  const state = real.state;
  const ids = state.servers.map((server) => server.id);
  must(new Set(ids).size === ids.length, () => `ids repeat: ${ids}`);
  must(signature(ids.map((id) => ({ id, weight: 0 }))) === signature([...model.members].map((id) => ({ id, weight: 0 }))), () => `members ${ids}, expected ${[...model.members]}`);
  must([...real.pools].sort().join() === [...ids].sort().join(), () => `pools ${[...real.pools]} for servers ${ids}`);
  for (const server of state.servers) {
    const { id, health, doubts, sweep, warming } = server;
    must(real.timers.has(id) === (health === 'ejected') && real.probes.has(id) === (health === 'probing'), () => `${id} ${health}: timer/probe out of step`);
    must((sweep !== undefined) === doubts.length > 0, () => `${id}: sweep ${sweep} with ${doubts.length} doubts`);
    must(health === 'up' || (doubts.length === 0 && warming === undefined), () => `${id} is ${health} with ${doubts.length} doubts, warming ${warming}`);
    must(doubts.length <= MAX_DOUBTS, () => `${id} has ${doubts.length} doubts`);
    must(state.replicas > 1 || (doubts.length === 0 && warming === undefined), () => `${id}: doubts or warm-up with replicas 1`);
    must(real.sweeps.get(id)?.number === sweep && real.warmUps.get(id)?.number === warming, () => `${id}: sweep ${sweep} / warm-up ${warming} not the ones running`);
    if (doubts.length === MAX_DOUBTS) count('MAX_DOUBTS doubts');
  }
}

/** A server joins: the fleet's own (no doubts, no warm-up), a new one (warmed up), or one that left before (ejected, probed at once). */
function checkJoin(model: Model, before: FleetState, after: FleetState, action: Extract<FleetAction, { type: 'addServer' }>, effects: readonly FleetEffect[]): void {
  const server = serverOf(after, action.id)!;
  const warms = effects.filter((effect) => effect.type === 'warmUp' && effect.id === action.id);
  const arms = effects.filter((effect) => effect.type === 'armRetry' && effect.id === action.id); // others: fenced for too many doubts
  const rejoin = model.removed.has(action.id) && before.replicas > 1;
  if (action.initial === true) {
    must(warms.length === 0 && effects.every((effect) => effect.type !== 'sweep'), () => `initial ${action.id} started a warm-up or a sweep`);
    for (const other of before.servers) must(serverOf(after, other.id)!.doubts === other.doubts, () => `initial ${action.id} changed the doubts of ${other.id}`);
  }
  if (rejoin) {
    count('rejoin');
    expect(server).toMatchObject({ health: 'ejected', ejectedAt: action.at, doubts: [], warming: undefined });
    expect(arms).toEqual([{ type: 'armRetry', id: action.id, delay: 0 }]);
    must(warms.length === 0, () => `rejoining ${action.id} warmed up`);
  } else {
    must(server.health === 'up' && arms.length === 0 && server.doubts.length === 0, () => `${action.id} joined ${server.health}`);
    const warm = before.replicas > 1 && action.initial !== true;
    must(warms.length === (warm ? 1 : 0), () => `${action.id} joined (initial: ${action.initial}) with ${warms.length} warm-ups`);
  }
}

/**
 * No server is trusted for a key that moved off it: checked at the step
 * that moves it, and remembered until a sweep that knew of the move is
 * done or the server goes out.
 */
function checkPlacement(real: Real, before: FleetState, after: FleetState, action: FleetAction, flight: InFlight | undefined): void {
  const k = after.replicas;
  if (k === 1) return;
  for (const id of real.moved.keys()) if (serverOf(after, id)?.health !== 'up') real.moved.delete(id); // flushed before it returns
  // A sweep started after the move deleted the key if one of the views it covered places the key elsewhere.
  if (action.type === 'sweepDone' && flight?.number === action.sweep && serverOf(before, action.id)?.sweep === action.sweep) {
    const covered = flight.views.slice(0, action.cleared).map(placementOf);
    const keys = real.moved.get(action.id);
    for (const [key, step] of keys ?? []) {
      if (step > flight.step || covered.every((placement) => placement.holds(key, k, action.id))) continue;
      keys!.delete(key);
      count('moved copy swept');
    }
    if (action.cleared < flight.views.length) count('sweep cleared part of its views');
  }
  // The fleet's own servers join before it runs: nothing is stored yet.
  const initial = action.type === 'addServer' && action.initial === true;
  const from = live(before);
  const to = live(after);
  if (!initial && signature(from) !== signature(to)) {
    const was = new Placement(from);
    const now = new Placement(to);
    for (const key of KEYS) {
      const stays = new Set(now.replicasFor(key, k).map((server) => server.id));
      for (const { id } of was.replicasFor(key, k)) {
        const server = serverOf(after, id);
        if (stays.has(id) || server?.health !== 'up') continue;
        count('moved off');
        must(!trusted(server, key, k), () => `${key} moved off ${id} on ${action.type}, and its doubts still trust it (${server.doubts.length} doubts)`);
        let keys = real.moved.get(id);
        if (keys === undefined) real.moved.set(id, (keys = new Map()));
        keys.set(key, real.steps);
      }
    }
  }
  for (const [id, keys] of real.moved) {
    const server = serverOf(after, id)!;
    for (const [key, step] of keys) {
      must(!trusted(server, key, k), () => `${key} moved off ${id} at step ${step}, not swept, and ${id} is trusted for it again after ${action.type}`);
      if (step < real.steps) count('still moved');
    }
  }
}

type Command = fc.Command<Model, Real>;
const command = (name: string, run: (model: Model, real: Real) => void): Command => ({ check: () => true, run, toString: () => name });

const idArb = fc.constantFrom(...IDS);
const weightArb = fc.constantFrom(0.5, 1, 2, 3);
const elapsed = fc.nat(50);
/** True three times in four: timers, probes and results are mostly the ones expected, sometimes stale. */
const mostly = fc.constantFrom(true, true, true, false);

const add = fc.tuple(idArb, weightArb).map(([id, weight]) =>
  command(`addServer(${id}, ${weight})`, (model, real) => {
    const joins = !model.closed && !model.members.has(id);
    if (joins) model.members.add(id);
    apply(model, real, { type: 'addServer', id, weight, at: model.now });
    if (joins) model.removed.delete(id);
  }),
);
const remove = idArb.map((id) =>
  command(`removeServer(${id})`, (model, real) => {
    if (model.members.delete(id)) model.removed.add(id);
    apply(model, real, { type: 'removeServer', id });
  }),
);
const setWeight = fc.tuple(idArb, weightArb, elapsed).map(([id, weight, ms]) =>
  command(`setWeight(${id}, ${weight}, +${ms})`, (model, real) => apply(model, real, { type: 'setWeight', id, weight, at: (model.now += ms) })),
);
const failed = fc.tuple(idArb, elapsed).map(([id, ms]) =>
  command(`failed(${id}, +${ms})`, (model, real) => apply(model, real, { type: 'failed', id, at: (model.now += ms), error: new Error('ETIMEDOUT') }),
  ),
);
const succeeded = idArb.map((id) => command(`succeeded(${id})`, (model, real) => apply(model, real, { type: 'succeeded', id })));
const fence = fc.tuple(idArb, elapsed, fc.option(fc.constantFrom(...KEYS))).map(([id, ms, key]) =>
  command(`fence(${id}, +${ms}, ${key})`, (model, real) =>
    apply(model, real, { type: 'fence', id, at: (model.now += ms), ...(key === null ? {} : { key }), error: new Error('no reply') }),
  ),
);
/** An id from `armed` (the `index`-th), or with `stale` one that is not in it (a timer or probe of a server that left). */
const among = (armed: ReadonlySet<string>, stale: boolean, index: number): string | undefined => {
  const from = IDS.filter((id) => armed.has(id) !== stale);
  return from.length === 0 ? undefined : from[index % from.length];
};
const retryDue = fc.tuple(fc.nat(), elapsed, mostly).map(([index, ms, armed]) =>
  command(`retryDue(#${index}, +${ms}${armed ? '' : ', stale'})`, (model, real) => {
    model.now += ms;
    const id = among(real.timers, !armed, index);
    if (id === undefined) return;
    real.timers.delete(id);
    apply(model, real, { type: 'retryDue', id, at: model.now });
  }),
);
const probe = fc.tuple(fc.nat(), elapsed, fc.boolean(), mostly).map(([index, ms, ok, inFlight]) =>
  command(`probe${ok ? 'Succeeded' : 'Failed'}(#${index}, +${ms}${inFlight ? '' : ', stale'})`, (model, real) => {
    model.now += ms;
    const id = among(real.probes, !inFlight, index);
    if (id === undefined) return;
    real.probes.delete(id);
    apply(model, real, ok ? { type: 'probeSucceeded', id, at: model.now } : { type: 'probeFailed', id, at: model.now, error: new Error('still down') });
  }),
);

/** Which flight a result comes from: the one the reducer waits for, a stale one, or one never started. */
type Which = 'current' | 'stale' | 'unknown';
const whichArb = fc.constantFrom<Which>('current', 'current', 'current', 'stale', 'unknown');
function pick(real: Real, current: Map<string, InFlight>, stale: readonly InFlight[], which: Which, index: number, id: string): InFlight | undefined {
  const from = which === 'current' ? [...current.values()] : which === 'stale' ? stale : [{ id, number: real.state.nextSweep + 100, views: [], step: 0 }];
  return from.length === 0 ? undefined : from[index % from.length];
}
const sweepResult = fc.tuple(whichArb, fc.nat(), idArb, fc.boolean(), fc.nat(), elapsed).map(([which, index, id, ok, cleared, ms]) =>
  command(`sweep${ok ? 'Done' : 'Failed'}(#${index}, ${which}, cleared ${cleared})`, (model, real) => {
    const flight = pick(real, real.sweeps, real.staleSweeps, which, index, id);
    if (flight === undefined) return;
    const action: FleetAction = ok
      ? { type: 'sweepDone', id: flight.id, sweep: flight.number, cleared: cleared % (flight.views.length + 1), deleted: index % 7 }
      : { type: 'sweepFailed', id: flight.id, sweep: flight.number, at: (model.now += ms), error: new Error('KEYS failed') };
    const before = real.state;
    apply(model, real, action);
    if (which === 'current' && ok) expect(real.events[0]).toEqual({ type: 'serverSwept', server: flight.id, deleted: index % 7 });
    else if (which === 'current') expect(serverOf(real.state, flight.id)).toMatchObject({ health: 'ejected', doubts: [], sweep: undefined });
    else {
      must(real.state === before && real.effects.length === 0, () => `${which} sweep result changed the state`);
      count(`${which} sweep result`);
    }
  }),
);
const warmedUp = fc.tuple(whichArb, fc.nat(), idArb).map(([which, index, id]) =>
  command(`warmedUp(#${index}, ${which})`, (model, real) => {
    const flight = pick(real, real.warmUps, real.staleWarmUps, which, index, id);
    if (flight === undefined) return;
    const before = real.state;
    apply(model, real, { type: 'warmedUp', id: flight.id, warm: flight.number, copied: index % 5 });
    if (which === 'current') expect(real.events).toEqual([{ type: 'serverWarmed', server: flight.id, copied: index % 5 }]);
    else {
      must(real.state === before && real.effects.length === 0, () => `${which} warm-up result changed the state`);
      count(`${which} warm-up result`);
    }
  }),
);
const close = fc.constant(
  command('close', (model, real) => {
    model.members.clear();
    apply(model, real, { type: 'close' });
    model.closed = true;
  }),
);

// Placement changes are frequent, so that keys move and doubts pile up.
const mixed = fc.oneof(
  { arbitrary: add, weight: 40 },
  { arbitrary: remove, weight: 24 },
  { arbitrary: setWeight, weight: 80 },
  { arbitrary: failed, weight: 40 },
  { arbitrary: succeeded, weight: 16 },
  { arbitrary: fence, weight: 24 },
  { arbitrary: retryDue, weight: 48 },
  { arbitrary: probe, weight: 48 },
  { arbitrary: sweepResult, weight: 24 },
  { arbitrary: warmedUp, weight: 16 },
  { arbitrary: close, weight: 1 },
);
// Sweeps that never end and servers that never fail: doubts pile up to MAX_DOUBTS and past it.
const piling = fc.oneof(
  { arbitrary: add, weight: 2 },
  { arbitrary: remove, weight: 1 },
  { arbitrary: setWeight, weight: 16 },
  { arbitrary: retryDue, weight: 2 },
  { arbitrary: probe, weight: 2 },
  { arbitrary: warmedUp, weight: 1 },
);
const runs = fc.oneof(
  { arbitrary: fc.commands([mixed], { maxCommands: 300, size: 'large' }), weight: 3 },
  { arbitrary: fc.commands([piling], { maxCommands: 200, size: 'large' }), weight: 1 },
);

describe('fleetReducer with replicas (model-based)', () => {
  it('keeps fences, doubts, sweeps, warm-ups and rejoins right; no server is trusted for a key that moved off it', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(1, 2, 3),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 1000 }),
        fc.uniqueArray(fc.tuple(idArb, weightArb), { maxLength: IDS.length, selector: ([id]) => id }),
        runs,
        (replicas, failureLimit, retryTimeout, initial, sequence) => {
          const model: Model = { now: 0, closed: false, members: new Set(), removed: new Set() };
          const real = new Real({ failureLimit, retryTimeout }, replicas, seen);
          // The fleet's own servers join first, before it runs (as in the ZCachedFleet constructor).
          for (const [id, weight] of initial) {
            model.members.add(id);
            apply(model, real, { type: 'addServer', id, weight, at: 0, initial: true });
          }
          fc.modelRun(() => ({ model, real }), sequence);
        },
      ),
      { numRuns: 150 },
    );
    // The generator reaches every situation the checks are about (counts over the whole run; the bounds are far in the tail).
    for (const what of ['serverFenced', 'serverSwept', 'serverWarmed', 'serverReturned', 'serverEjected', 'probeFailed', 'weightChanged', 'serverRemoved']) {
      expect(seen.get(what) ?? 0, what).toBeGreaterThan(20);
    }
    const situations = ['fence', 'fence with failures', 'rejoin', 'moved off', 'still moved', 'moved copy swept', 'sweep cleared part of its views'];
    situations.push('MAX_DOUBTS doubts', 'fenced for too many doubts', 'stale sweep result', 'unknown sweep result', 'stale warm-up result');
    for (const what of situations) {
      expect(seen.get(what) ?? 0, what).toBeGreaterThan(3);
    }
  });
});
