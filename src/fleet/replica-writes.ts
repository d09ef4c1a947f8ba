/**
 * Writes over replicas (`replicas` > 1): `set`, `delete`, `rename`, `copy`
 * and `mset` go to every replica of their keys in parallel.
 *
 * **When a write is acknowledged.** Once every replica has settled: each
 * one either confirmed it, or was fenced (a replica that could not confirm
 * it, because no reply came in time, its connection was lost or refused,
 * or it was ejected meanwhile, is ejected at once and flushed before it
 * serves again), or answered an error reply while another confirmed (its
 * copies of the keys are then deleted, so it misses rather than serve an
 * old value; if that delete cannot be confirmed it is fenced). The write
 * resolves when at least one replica confirmed it; it rejects when none
 * did (with the best-ranked replica's error: nothing was acknowledged).
 *
 * Per-call `signal` and `timeout` only stop the caller's wait: the writes
 * already sent go on to the end and are handled as above, so a replica is
 * never left holding a write nobody accounted for.
 *
 * @module
 */

import type { CommandOptions } from '../client/client.js';
import type { ZCached } from '../client/client.js';
import { AbortError, ServerError, TimeoutError } from '../errors.js';
import type { ReplicaContext } from './replica-reads.js';
import type { FleetServer } from './server.js';

/** One replica's outcome of a write. */
type Settled<T> = PromiseSettledResult<T>;

/**
 * Sends a write of `keys` (the first one places it; the others must share
 * its replicas) to `replicas`, and settles as the module notes say.
 * `merge` turns the confirmed replies into the caller's answer.
 */
export function replicaWrite<T>(
  context: ReplicaContext,
  keys: readonly string[],
  replicas: readonly FleetServer[],
  run: (client: ZCached) => Promise<T>,
  merge: (values: T[]) => T,
  signal?: AbortSignal,
): Promise<T> {
  const { guard } = context;
  const buckets = keys.map((key) => guard.bucket(key));
  for (const bucket of buckets) {
    const repair = guard.repairing(bucket);
    // A repair of a key of this bucket is in flight: it lands first, then this write is placed afresh.
    if (repair !== undefined) return repair.then(() => replicaWrite(context, keys, context.shell.replicasFor(keys[0]!), run, merge, signal));
  }
  // The caller gave up before anything was sent: nothing is (as a client sends nothing for an aborted signal).
  if (signal?.aborted === true) return Promise.reject(abortedUnsent(signal));
  // Placed afresh after a repair, the key may have no live replica left.
  if (replicas.length === 0) return Promise.reject(context.unavailable(keys[0]));
  for (const bucket of buckets) guard.begin(bucket);
  const end = (): void => {
    for (const bucket of buckets) guard.end(bucket);
  };
  let requests: Promise<T>[];
  try {
    requests = replicas.map((server) => run(server.client));
  } catch (error) {
    end();
    throw error;
  }
  // One callback per replica, no promise per replica: the common case (every replica confirmed) settles in the last one.
  return new Promise<T>((resolve, reject) => {
    const outcomes: Settled<T>[] = new Array<Settled<T>>(replicas.length);
    const values: T[] = [];
    let failed = false;
    let left = replicas.length;
    replicas.forEach((server, index) => {
      server.watchWrite(requests[index]!, (confirmed, outcome) => {
        if (confirmed) {
          values.push(outcome as T);
          outcomes[index] = { status: 'fulfilled', value: outcome as T };
        } else {
          failed = true;
          outcomes[index] = { status: 'rejected', reason: outcome };
        }
        if (--left > 0) return;
        if (!failed) {
          end();
          resolve(merge(values));
          return;
        }
        conclude(context, keys, replicas, outcomes).then(
          (confirmedValues) => {
            end();
            resolve(merge(confirmedValues));
          },
          (error: unknown) => {
            end();
            reject(error);
          },
        );
      });
    });
  });
}

/** Fences the replicas that could not confirm, deletes the keys on those that answered an error; the confirmed replies, or the rejection. */
async function conclude<T>(context: ReplicaContext, keys: readonly string[], replicas: readonly FleetServer[], settled: readonly Settled<T>[]): Promise<T[]> {
  const values: T[] = [];
  const refused: FleetServer[] = [];
  let first: unknown;
  settled.forEach((outcome, index) => {
    const server = replicas[index]!;
    if (outcome.status === 'fulfilled') {
      values.push(outcome.value);
      return;
    }
    first ??= outcome.reason;
    if (outcome.reason instanceof ServerError) refused.push(server);
    else fence(context, server, keys[0]!, outcome.reason);
  });
  if (values.length === 0) throw first;
  // Replicas disagree: those that refused lose their copies of the keys (a miss there, never an old value).
  await Promise.all(refused.map((server) => forget(context, server, keys)));
  return values;
}

/** Deletes `keys` on `server`; fences it when that cannot be confirmed. */
export function forget(context: ReplicaContext, server: FleetServer, keys: readonly string[]): Promise<void> {
  return Promise.all(keys.map((key) => server.trackWrite(server.client.delete(key)))).then(
    () => undefined,
    (error: unknown) => fence(context, server, keys[0]!, error),
  );
}

/** Ejects `server` at once: a write to it could not be confirmed. */
export function fence(context: ReplicaContext, server: FleetServer, key: string | undefined, error: unknown): void {
  context.shell.report({ type: 'fence', id: server.id, at: context.now(), key, error: error instanceof Error ? error : new Error(String(error)) });
}

/**
 * The caller's view of a replicated write: `write` itself, or, with a
 * `signal` or a `timeout`, a promise that also rejects when the signal
 * aborts (`AbortError`) or the time runs out (`TimeoutError`), while
 * `write` goes on. A signal aborted before the call: `write` must have
 * been given it too, so that it sends nothing. Timers are cleared and listeners removed when it settles.
 */
export function callerView<T>(write: Promise<T>, options: CommandOptions | undefined): Promise<T> {
  const signal = options?.signal;
  const timeout = options?.timeout;
  if (signal === undefined && timeout === undefined) return write;
  write.catch(() => undefined); // the caller may stop waiting: its failure is then accounted for by the fences
  // Aborted before the call: `write` sent nothing (see replicaWrite / msetReplicas), and says so.
  if (signal?.aborted === true) return Promise.reject(abortedUnsent(signal));
  return new Promise<T>((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    const onAbort = (): void => {
      done();
      reject(new AbortError('The request was aborted (the replicas\' writes go on)', { cause: signal?.reason }));
    };
    const done = (): void => {
      if (timer !== undefined) clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    };
    if (timeout !== undefined) {
      timer = setTimeout(() => {
        done();
        reject(new TimeoutError(`no acknowledgement from the replicas within ${timeout} ms (their writes go on)`));
      }, timeout);
    }
    signal?.addEventListener('abort', onAbort, { once: true });
    write.then(
      (value) => {
        done();
        resolve(value);
      },
      (error: unknown) => {
        done();
        reject(error);
      },
    );
  });
}

/** The rejection of a write whose signal was aborted before anything was sent: the client's own. */
export function abortedUnsent(signal: AbortSignal): AbortError {
  return new AbortError(undefined, { cause: signal.reason });
}
