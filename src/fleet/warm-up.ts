/**
 * The warm-up of one server (with `replicas` > 1): a server that returned
 * from an ejection (flushed in its probe) or joined a running fleet holds
 * none of its keys, so each has one copy fewer until written or read.
 * The warm-up copies them from their other replicas (mcrouter's warm-up
 * route does it on reads; here it is done at once, in batches), guarded
 * by `WriteGuard` like read repair: a key written since its copy was read
 * is skipped, and writes of a batch's keys wait until the batch landed.
 *
 * @module
 */

import { DialectError } from '../errors.js';
import type { Value } from '../protocol/values.js';
import type { ReplicaContext } from './replica-reads.js';
import { fence } from './replica-writes.js';
import type { FleetServer } from './server.js';

/** Keys read (MGET) and written (MSET) at once. */
const BATCH = 256;
/** Passes over the keys skipped because their bucket was busy. */
const ROUNDS = 8;

/**
 * Copies to `server` the keys it is a replica of and does not hold, from
 * each other live server that is also their replica and may answer for
 * them. `current` says whether the fleet still waits for this warm-up. Resolves with
 * the number of keys copied; never rejects (a peer that fails is skipped;
 * a copy `server` cannot confirm fences it and ends the warm-up).
 */
export async function warmUpServer(context: ReplicaContext, server: FleetServer, current: () => boolean = () => true): Promise<number> {
  const { shell, guard } = context;
  let copied = 0;
  // Up, not out since this warm-up began, and still the warm-up the fleet waits for (a later change starts another).
  const outages = server.outages;
  const live = (): boolean => server.health === 'up' && server.outages === outages && current();
  // What it holds already (and may answer for) is not copied again: a warm-up after a weight change or an
  // ejection elsewhere copies only the keys that came to it.
  let holds: Set<string>;
  try {
    holds = new Set(await server.client.keys());
  } catch {
    return copied;
  }
  for (const peer of shell.order) {
    if (peer === server || peer.health !== 'up' || !live()) continue;
    let keys: string[];
    try {
      keys = await peer.client.keys();
    } catch {
      continue;
    }
    const mine = keys.filter((key) => !(holds.has(key) && shell.trusted(server, key)) && copiable(context, server, peer, key));
    // Keys skipped because a write or a repair of their bucket was running go round again, a few times.
    let todo = mine;
    for (let round = 0; round < ROUNDS && todo.length > 0; round++) {
      const skipped: string[] = [];
      for (let at = 0; at < todo.length; at += BATCH) {
        if (!live() || peer.health !== 'up') return copied;
        const outcome = await copyFitting(context, server, live, peer, todo.slice(at, at + BATCH), skipped);
        if (outcome === undefined) return copied;
        copied += outcome;
      }
      todo = skipped;
      if (todo.length > 0) await Promise.all(todo.map((key) => guard.repairing(guard.bucket(key))));
    }
  }
  return copied;
}

/** A batch's MGET or MSET is more than one request of the dialect carries (`maxRequestBytes`): nothing was sent. */
const TOO_LARGE = Symbol('too large');

const tooLarge = (error: unknown): boolean => error instanceof DialectError && error.reason === 'too-large';

/**
 * {@link copyBatch}, in halves (and halves of halves) when the batch does
 * not fit one request of the dialect: 1,400 bytes with 'legacy', 10 MB by
 * default, less than 256 large values. A key whose copy alone does not fit
 * one MSET is not copied (its reads fail over to its other replicas).
 */
async function copyFitting(context: ReplicaContext, server: FleetServer, live: () => boolean, peer: FleetServer, batch: readonly string[], skipped: string[]): Promise<number | undefined> {
  const outcome = await copyBatch(context, server, live, peer, batch, skipped);
  if (outcome !== TOO_LARGE) return outcome;
  if (batch.length === 1) return 0;
  const half = Math.ceil(batch.length / 2);
  const first = await copyFitting(context, server, live, peer, batch.slice(0, half), skipped);
  if (first === undefined || !live() || peer.health !== 'up') return first;
  const second = await copyFitting(context, server, live, peer, batch.slice(half), skipped);
  return second === undefined ? undefined : first + second;
}

/**
 * Copies one batch of keys from `peer` to `server`. Resolves with the number
 * copied, or `undefined` when `server` could not confirm the copy (it is
 * fenced) or the peer failed, or {@link TOO_LARGE} when the MGET or the
 * MSET does not fit one request (nothing sent); keys whose bucket was
 * busy go to `skipped`.
 */
async function copyBatch(
  context: ReplicaContext,
  server: FleetServer,
  live: () => boolean,
  peer: FleetServer,
  keys: readonly string[],
  skipped: string[],
): Promise<number | undefined | typeof TOO_LARGE> {
  const { guard } = context;
  // Checked again as the stamps are read: the placement may have changed since the peer's KEYS (or the last batch).
  const batch = keys.filter((key) => copiable(context, server, peer, key));
  if (batch.length === 0) return 0;
  const buckets = batch.map((key) => guard.bucket(key));
  const stamps = buckets.map((bucket) => guard.stamp(bucket));
  let values: Map<string, unknown>;
  try {
    values = await peer.track(peer.client.mgetBuffer(batch));
  } catch (error) {
    return tooLarge(error) ? TOO_LARGE : 0;
  }
  // Decided and sent in one turn: no write of these keys ran since they were read, none starts before the copy lands.
  const args: Value[] = [];
  const held = new Set<number>();
  batch.forEach((key, index) => {
    const value = values.get(key);
    const bucket = buckets[index]!;
    if (value === null || value === undefined) return;
    if (!guard.quiet(bucket, stamps[index]!) || guard.repairing(bucket) !== undefined) {
      skipped.push(key);
      return;
    }
    // The peer must still be a trusted replica: one that stopped being a replica missed the writes since.
    if (!copiable(context, server, peer, key)) return;
    args.push(key, value as Value);
    held.add(bucket);
  });
  if (args.length === 0 || !live()) return 0;
  let write: Promise<unknown>;
  try {
    write = server.trackWrite(server.client.sendCommand(['MSET', ...args]));
  } catch (error) {
    // Refused before a byte was sent (the encoder throws at once): nothing to fence.
    if (tooLarge(error)) return TOO_LARGE;
    return 0;
  }
  const landed = write.then(
    () => undefined,
    () => undefined,
  );
  for (const bucket of held) guard.hold(bucket, landed);
  try {
    await write;
    return args.length / 2;
  } catch (error) {
    fence(context, server, undefined, error);
    return undefined;
  }
}

/**
 * Whether `peer`'s copy of `key` may be copied to `server` now: both are
 * replicas of the key and the peer is trusted for it. A peer that stopped
 * being a replica (another server took its place) missed the writes since,
 * so its copy may be older than the last acknowledged write. Checked when
 * a batch's stamps are read (the peer's copy is then the latest; the
 * stamps catch any write after) and again when the copy is sent.
 */
function copiable(context: ReplicaContext, server: FleetServer, peer: FleetServer, key: string): boolean {
  const replicas = context.shell.replicasFor(key);
  return replicas.includes(server) && replicas.includes(peer) && context.shell.trusted(peer, key);
}
