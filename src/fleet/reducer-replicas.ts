/**
 * The replica bookkeeping of the fleet reducer (`replicas` > 1), pure:
 * which servers must be doubted after a change of the live placement, and
 * when their sweeps start.
 *
 * Why doubts: with `replicas: k` a key lives on the k best live servers of
 * its rendezvous ranking. When a server returns, joins or gains weight (or
 * one loses weight), some keys move *off* servers that stay up: those keep
 * their copies, which no write updates any more. Should the key come back
 * to such a server later (another replica is ejected), that copy could be
 * older than the last acknowledged write. So each change records, on every
 * server it may have moved keys off, the placement just after it; the read
 * path does not trust a server for a key it did not hold in one of these
 * placements once a write of the key began after it (until then the copy is
 * the current value: the shell numbers writes as they begin), and a sweep
 * deletes those copies (but a current one of a key the server holds again),
 * then clears the doubts.
 *
 * @module
 */

import type { FleetEffect, FleetServerState, FleetState, PlacementView } from './state.js';

/** Doubts a server may carry before it is fenced instead (memory stays bounded during long sweeps). */
export const MAX_DOUBTS = 16;

/** The live servers of `state` (health `up`) with their weights. */
export function liveView(state: FleetState): PlacementView {
  return state.servers.filter((server) => server.health === 'up').map((server) => ({ id: server.id, weight: server.weight }));
}

/**
 * Adds a doubt (the live placement of `after`) to every server that stayed
 * up and may have lost keys between `before` and `after`: when some other
 * server came up or gained weight, or it lost weight. Starts a sweep for
 * a server that has none in flight. Servers over {@link MAX_DOUBTS} are
 * returned in `overflow` (the caller fences them).
 */
export function addDoubts(before: FleetState, after: FleetState): { state: FleetState; effects: FleetEffect[]; overflow: string[] } {
  const effects: FleetEffect[] = [];
  const overflow: string[] = [];
  if (after.replicas <= 1) return { state: after, effects, overflow };
  const previous = new Map(before.servers.map((server) => [server.id, server]));
  const rising = after.servers.filter((server) => {
    if (server.health !== 'up') return false;
    const old = previous.get(server.id);
    return old === undefined || old.health !== 'up' || server.weight > old.weight;
  });
  let view: PlacementView | undefined;
  let nextSweep = after.nextSweep;
  const servers = after.servers.map((server): FleetServerState => {
    const old = previous.get(server.id);
    if (server.health !== 'up' || old === undefined || old.health !== 'up') return server;
    const lost = server.weight < old.weight || rising.some((other) => other.id !== server.id);
    if (!lost) return server;
    view ??= liveView(after);
    const doubts = [...server.doubts, view];
    if (doubts.length > MAX_DOUBTS) {
      overflow.push(server.id);
      return server;
    }
    if (server.sweep !== undefined) return { ...server, doubts };
    const sweep = nextSweep++;
    effects.push({ type: 'sweep', id: server.id, sweep, views: doubts });
    return { ...server, doubts, sweep };
  });
  if (view === undefined) return { state: after, effects, overflow };
  return { state: { ...after, servers, nextSweep }, effects, overflow };
}

/**
 * Starts a warm-up (see `warm-up.ts`) of every server that stayed up and
 * may have gained keys between `before` and `after`: another server went
 * out (ejected, fenced, removed: its keys' next-ranked servers stand in) or
 * lost weight, or its own weight rose. (A server that came up has its own
 * warm-up.) A warm-up in flight is replaced: its result no longer counts.
 */
export function addWarmUps(before: FleetState, after: FleetState): { state: FleetState; effects: FleetEffect[] } {
  const effects: FleetEffect[] = [];
  if (after.replicas <= 1) return { state: after, effects };
  const now = new Map(after.servers.map((server) => [server.id, server]));
  const falling = before.servers.filter((server) => {
    if (server.health !== 'up') return false;
    const next = now.get(server.id);
    return next === undefined || next.health !== 'up' || next.weight < server.weight;
  });
  if (falling.length === 0 && !after.servers.some((server) => server.weight > (before.servers.find((old) => old.id === server.id)?.weight ?? Infinity))) {
    return { state: after, effects };
  }
  const previous = new Map(before.servers.map((server) => [server.id, server]));
  let nextSweep = after.nextSweep;
  const servers = after.servers.map((server): FleetServerState => {
    const old = previous.get(server.id);
    if (server.health !== 'up' || old === undefined || old.health !== 'up') return server;
    const gains = server.weight > old.weight || falling.some((other) => other.id !== server.id);
    if (!gains) return server;
    const warm = nextSweep++;
    effects.push({ type: 'warmUp', id: server.id, warm });
    return { ...server, warming: warm };
  });
  if (effects.length === 0) return { state: after, effects };
  return { state: { ...after, servers, nextSweep }, effects };
}
