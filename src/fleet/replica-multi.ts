/**
 * `mget` and `mset` over replicas (`replicas` > 1).
 *
 * - `mset`: every key goes to each of its replicas; one `MSET` per server
 *   with the keys it holds, all in parallel. A key is acknowledged as in
 *   `replica-writes.ts`: once each of its replicas confirmed, or was fenced
 *   (or forgot it after an error reply), with at least one confirming.
 * - `mget`: in rounds. Each key goes to its best replica that may answer
 *   for it (one `MGET` per server); a key whose server failed, or missed it
 *   with `failoverOnMiss`, goes to its next replica in the next round. A
 *   key found after misses is copied back (read repair).
 *
 * @module
 */

import type { CommandOptions } from '../client/client.js';
import { replies } from '../client/commands.js';
import { ServerError } from '../errors.js';
import type { Reply, Value } from '../protocol/values.js';
import { PartialFailureError, type ServerFailure } from './errors.js';
import { checkParts, type ServerPart } from './multi-key.js';
import { failsOver, type ReplicaContext } from './replica-reads.js';
import { repair } from './replica-repair.js';
import { abortedUnsent, fence, forget } from './replica-writes.js';
import type { FleetServer } from './server.js';

/** Groups keys (with values for MSET) by server; a key with several servers is in each of their parts. */
function partsOf(keys: readonly string[], serversOf: (key: string, index: number) => readonly FleetServer[], values?: readonly Value[]): Map<FleetServer, ServerPart> {
  const parts = new Map<FleetServer, ServerPart>();
  keys.forEach((key, index) => {
    for (const server of serversOf(key, index)) {
      let part = parts.get(server);
      if (part === undefined) parts.set(server, (part = { server, keys: [], args: [], numbers: [] }));
      part.keys.push(key);
      part.numbers.push(index + 1);
      part.args.push(key);
      if (values !== undefined) part.args.push(values[index] as Value);
    }
  });
  return parts;
}

/** MSET of `keys` / `values` over their replicas. Arguments are checked against every server's dialect before anything is sent. */
export function msetReplicas(context: ReplicaContext, keys: readonly string[], values: readonly Value[], signal?: AbortSignal): Promise<'OK'> {
  const { shell, guard } = context;
  const replicas = keys.map((key) => shell.replicasFor(key));
  const parts = partsOf(keys, (_, index) => replicas[index]!, values);
  checkParts('MSET', parts.values());
  if (replicas.some((servers) => servers.length === 0)) return Promise.reject(context.noServer(['MSET', ...keys.flatMap((key, index) => [key, values[index]!])]));
  const buckets = keys.map((key) => guard.bucket(key));
  const waiting = buckets.map((bucket) => guard.repairing(bucket)).filter((repair) => repair !== undefined);
  if (waiting.length > 0) return Promise.all(waiting).then(() => msetReplicas(context, keys, values, signal));
  // The caller gave up before anything was sent: nothing is.
  if (signal?.aborted === true) return Promise.reject(abortedUnsent(signal));
  for (const bucket of buckets) guard.begin(bucket);
  const list = [...parts.values()];
  const sends = list.map((part) => part.server.trackWrite(part.server.client.sendCommand(['MSET', ...part.args])));
  return Promise.allSettled(sends)
    .then(async (settled) => {
      const confirmed = new Set<string>();
      const failures = new Map<string, ServerFailure>();
      const forgetting: Promise<void>[] = [];
      settled.forEach((outcome, index) => {
        const part = list[index]!;
        if (outcome.status === 'fulfilled') {
          for (const key of part.keys) confirmed.add(key);
          return;
        }
        const error = outcome.reason instanceof Error ? outcome.reason : new Error(String(outcome.reason));
        failures.set(part.server.id, { server: part.server.id, keys: [...new Set(part.keys)], error });
        if (error instanceof ServerError) forgetting.push(forget(context, part.server, [...new Set(part.keys)]));
        else fence(context, part.server, part.keys[0], error);
      });
      await Promise.all(forgetting);
      const failed = [...new Set(keys.filter((key) => !confirmed.has(key)))];
      if (failed.length > 0) {
        const failedSet = new Set(failed);
        const mine = new Map<string, ServerFailure>();
        for (const [id, failure] of failures) {
          const lost = failure.keys.filter((key) => failedSet.has(key));
          if (lost.length > 0) mine.set(id, { ...failure, keys: lost });
        }
        throw new PartialFailureError('MSET', mine, failed);
      }
      return 'OK' as const;
    })
    .finally(() => {
      for (const bucket of buckets) guard.end(bucket);
    });
}

interface Pending {
  readonly key: string;
  readonly candidates: readonly FleetServer[];
  next: number;
  readonly missed: FleetServer[];
  readonly bucket: number;
  readonly stamp: number;
  lastError: Error | undefined;
  lastServer: FleetServer | undefined;
}

/** MGET of `list` over replicas, in rounds (see the module notes): each key, in the caller's order, to its value (`null` when missing). */
export function mgetReplicas(context: ReplicaContext, list: readonly string[], options: CommandOptions | undefined, bytes: boolean): Promise<Map<string, Reply>> {
  const { shell, guard } = context;
  const pending: Pending[] = [...new Set(list)].map((key) => {
    const bucket = guard.bucket(key);
    return { key, candidates: shell.replicasFor(key), next: 0, missed: [], bucket, stamp: guard.stamp(bucket), lastError: undefined, lastServer: undefined };
  });
  const first = partsOf(
    pending.map((entry) => entry.key),
    (key, index) => pending[index]!.candidates.slice(0, 1),
  );
  // Always: the rounds run asynchronously, so the client's own check of a one-server MGET would only reject.
  checkParts('MGET', first.values());
  if (pending.some((entry) => entry.candidates.length === 0)) return Promise.reject(context.noServer(['MGET', ...list]));
  return rounds(context, list, pending, options, bytes);
}

/** The rounds of {@link mgetReplicas}, once the arguments are checked. */
async function rounds(context: ReplicaContext, list: readonly string[], start: Pending[], options: CommandOptions | undefined, bytes: boolean): Promise<Map<string, Reply>> {
  const { shell } = context;
  const found = new Map<string, Reply>();
  const failed = new Map<string, Pending>();
  let pending = start;
  while (pending.length > 0) {
    const round = new Map<FleetServer, Pending[]>();
    for (const entry of pending) {
      let server: FleetServer | undefined;
      while (entry.next < entry.candidates.length) {
        const candidate = entry.candidates[entry.next++]!;
        if (candidate.health === 'up' && shell.trusted(candidate, entry.key)) {
          server = candidate;
          break;
        }
      }
      if (server === undefined) {
        // No replica left: a miss if any replica missed it (or none could answer), else the last failure.
        if (entry.lastError !== undefined && entry.missed.length === 0) failed.set(entry.key, entry);
        else found.set(entry.key, null);
        continue;
      }
      if (entry.lastServer !== undefined) {
        context.emit({ type: 'failover', key: entry.key, from: entry.lastServer.id, to: server.id, reason: entry.lastError === undefined ? 'miss' : 'error', error: entry.lastError });
      }
      entry.lastServer = server;
      let group = round.get(server);
      if (group === undefined) round.set(server, (group = []));
      group.push(entry);
    }
    const groups = [...round];
    const answers = await Promise.allSettled(
      groups.map(([server, entries]) => {
        const keys = entries.map((entry) => entry.key);
        const request = bytes ? server.client.mgetBuffer(keys, options ?? {}) : server.client.sendCommand(['MGET', ...keys], options).then(replies.mget);
        return server.track(request as Promise<Map<string, Reply>>);
      }),
    );
    pending = [];
    answers.forEach((answer, index) => {
      const [server, entries] = groups[index]!;
      if (answer.status === 'rejected') {
        if (!failsOver(answer.reason)) {
          for (const entry of entries) failed.set(entry.key, { ...entry, lastError: asError(answer.reason) });
          return;
        }
        for (const entry of entries) {
          entry.lastError = asError(answer.reason);
          pending.push(entry);
        }
        return;
      }
      for (const entry of entries) {
        const value = answer.value.get(entry.key) ?? null;
        if (value !== null) {
          found.set(entry.key, value);
          if (entry.missed.length > 0) repair(context, entry.key, server, entry.missed, entry.bucket, entry.stamp);
        } else if (context.failoverOnMiss) {
          entry.missed.push(server);
          entry.lastError = undefined;
          pending.push(entry);
        } else found.set(entry.key, null);
      }
    });
  }
  const values = new Map<string, Reply>();
  for (const key of list) if (!values.has(key) && found.has(key)) values.set(key, found.get(key)!);
  if (failed.size === 0) return values;
  const failures = new Map<string, ServerFailure>();
  for (const entry of failed.values()) {
    const id = entry.lastServer?.id ?? '(none)';
    const known = failures.get(id);
    failures.set(id, { server: id, keys: [...(known?.keys ?? []), entry.key], error: known?.error ?? entry.lastError ?? new Error('no replica answered') });
  }
  throw new PartialFailureError('MGET', failures, list.filter((key, index) => failed.has(key) && list.indexOf(key) === index), values);
}

function asError(reason: unknown): Error {
  return reason instanceof Error ? reason : new Error(String(reason));
}
