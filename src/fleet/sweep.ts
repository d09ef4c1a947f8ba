/**
 * The sweep of one server (with `replicas` > 1): after a change of the
 * placement moved keys off it, delete the copies it kept of them, so that
 * it never serves one that missed later writes (see `reducer-replicas.ts`).
 *
 * @module
 */

import { Placement } from './placement.js';
import type { FleetServer } from './server.js';
import type { PlacementView } from './state.js';

/** Deletes sent at once (pipelined on the server's connections). */
const BATCH = 512;

/**
 * Waits for the writes already sent to `server`, reads its keys (`KEYS`)
 * and deletes each key it does not hold in one of `views` (the k best of
 * that placement), unless `current(key, view)` says its copy is still
 * current (the key is the server's again and was not written since that
 * view was made). Resolves with the number of copies deleted, or with the
 * error that stopped it; never rejects.
 */
export async function sweepServer(
  server: FleetServer,
  views: readonly PlacementView[],
  replicas: number,
  hashTags: boolean,
  current?: (key: string, view: PlacementView) => boolean,
): Promise<number | Error> {
  const outages = server.outages;
  try {
    // A write sent before the change may still land: let it, then look.
    await Promise.allSettled([...server.writes]);
    const placements = views.map((view) => new Placement(view, { hashTags }));
    const keys = await server.client.keys();
    const moved = keys.filter((key) => placements.some((placement, at) => !placement.holds(key, replicas, server.id) && current?.(key, views[at]!) !== true));
    let deleted = 0;
    for (let at = 0; at < moved.length; at += BATCH) {
      // Out since the sweep began: it is flushed before it returns, and a copy written since must not be deleted.
      if (server.health !== 'up' || server.outages !== outages) return deleted;
      const existed = await Promise.all(moved.slice(at, at + BATCH).map((key) => server.client.delete(key)));
      for (const was of existed) if (was) deleted++;
    }
    return deleted;
  } catch (error) {
    return error instanceof Error ? error : new Error(String(error));
  }
}
