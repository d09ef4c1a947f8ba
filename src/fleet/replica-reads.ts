/**
 * Reads over replicas (`replicas` > 1): a single-key read goes to the best
 * live replica of its key that may answer for it, and on to the next one
 * on a failure (no reply in time, connection lost or refused, ejected
 * meanwhile) and, with `failoverOnMiss`, on a miss. When a later replica
 * has the key, it is copied back to those that missed it (read repair,
 * guarded by {@link WriteGuard}).
 *
 * @module
 */

import type { ZCached } from '../client/client.js';
import type { Command } from '../protocol/encoder.js';
import { AbortError, DialectError, InvalidArgumentError, PoolEmptyError, ServerError, ZCachedError } from '../errors.js';
import type { FleetServer } from './server.js';
import type { FleetShell } from './shell.js';
import type { FleetEvent } from './state.js';
import type { WriteGuard } from './write-guard.js';
import { repair } from './replica-repair.js';

/** What the replica paths share: the shell, the write guard, the option, where events go. */
export interface ReplicaContext {
  readonly shell: FleetShell;
  readonly guard: WriteGuard;
  readonly failoverOnMiss: boolean;
  /** Tells listeners (and the diagnostics channel) a shell event: `failover`, `readRepaired`. */
  readonly emit: (event: FleetEvent) => void;
  /** The clock, in ms. */
  readonly now: () => number;
  /** The error for a command no server can take (the arguments checked first), naming `key`'s server when given. */
  readonly noServer: (command: Command, key?: string) => Error;
  /** The same error, for a command whose arguments were checked already. */
  readonly unavailable: (key?: string) => Error;
}

/** How a read's replies read: which one is a miss, and what the read gives when no replica may answer. */
export interface ReadShape<T> {
  /** True when the reply says the key does not exist (`undefined` from `get`, `false` from `exists`). */
  readonly missing: (value: T) => boolean;
  /** True when an error reply says the key does not exist (SIZEOF of a missing key). */
  readonly missingError?: (error: ServerError) => boolean;
  /** The outcome when no live replica may answer for the key: a miss value, or a rejection. */
  readonly absent: () => Promise<T>;
  /** Whether a hit is copied back to the replicas that missed (a read that knows the key's value). */
  readonly repairs: boolean;
}

/** True for a failure after which the next replica is tried: the server, not the request, is at fault. */
export function failsOver(error: unknown): boolean {
  if (error instanceof PoolEmptyError) return true;
  if (!(error instanceof ZCachedError)) return false;
  return !(error instanceof AbortError || error instanceof ServerError || error instanceof DialectError || error instanceof InvalidArgumentError);
}

type Outcome<T> = { readonly kind: 'hit' | 'miss'; readonly value: T } | { readonly kind: 'missError' | 'failed'; readonly error: unknown };

/**
 * Runs a read of `key` on its replicas, best first (see the module notes).
 * Rejects with the first replica's error when every replica failed; with a
 * miss on some and failures on others, gives the miss.
 */
export function replicaRead<T>(context: ReplicaContext, key: string, command: Command, run: (client: ZCached) => Promise<T>, shape: ReadShape<T>): Promise<T> {
  const { shell, guard } = context;
  const candidates = shell.replicasFor(key);
  if (candidates.length === 0) return Promise.reject(context.noServer(command, key));
  const bucket = guard.bucket(key);
  const stamp = guard.stamp(bucket);
  // The common case: the first replica may answer, and has the key.
  const first = candidates[0];
  if (first !== undefined && first.health === 'up' && shell.trusted(first, key)) {
    return first.track(run(first.client)).then(
      (value) => (shape.missing(value) && context.failoverOnMiss && candidates.length > 1 ? onwards(context, key, candidates, run, shape, bucket, stamp, { kind: 'miss', value }) : value),
      (error: unknown) => (failsOver(error) || isMissError(shape, error) ? onwards(context, key, candidates, run, shape, bucket, stamp, classifyError(shape, error)) : Promise.reject(error)),
    );
  }
  return onwards(context, key, candidates, run, shape, bucket, stamp, undefined);
}

function isMissError<T>(shape: ReadShape<T>, error: unknown): boolean {
  return shape.missingError !== undefined && error instanceof ServerError && shape.missingError(error);
}

function classifyError<T>(shape: ReadShape<T>, error: unknown): Outcome<T> {
  return isMissError(shape, error) ? { kind: 'missError', error } : { kind: 'failed', error };
}

/** The rest of a read after the first replica's `outcome` (or from the start when the first could not be asked). */
async function onwards<T>(
  context: ReplicaContext,
  key: string,
  candidates: readonly FleetServer[],
  run: (client: ZCached) => Promise<T>,
  shape: ReadShape<T>,
  bucket: number,
  stamp: number,
  firstOutcome: Outcome<T> | undefined,
): Promise<T> {
  const { shell } = context;
  const missed: FleetServer[] = [];
  let miss: Outcome<T> | undefined;
  let failure: unknown;
  let previous: FleetServer | undefined;
  let reason: 'miss' | 'error' = 'miss';
  let lastError: unknown;
  for (let at = 0; at < candidates.length; at++) {
    const server = candidates[at]!;
    let outcome: Outcome<T>;
    if (at === 0 && firstOutcome !== undefined) outcome = firstOutcome;
    else {
      if (server.health !== 'up' || !shell.trusted(server, key)) continue;
      if (previous !== undefined) context.emit({ type: 'failover', key, from: previous.id, to: server.id, reason, error: reason === 'error' ? (lastError as Error) : undefined });
      try {
        const value = await server.track(run(server.client));
        outcome = { kind: shape.missing(value) ? 'miss' : 'hit', value };
      } catch (error) {
        if (!failsOver(error) && !isMissError(shape, error)) throw error;
        outcome = classifyError(shape, error);
      }
    }
    previous = server;
    if (outcome.kind === 'hit') {
      if (missed.length > 0 && shape.repairs) repair(context, key, server, missed, bucket, stamp);
      return outcome.value;
    }
    if (outcome.kind === 'failed') {
      failure ??= outcome.error;
      lastError = outcome.error;
      reason = 'error';
      continue;
    }
    miss ??= outcome;
    missed.push(server);
    reason = 'miss';
    if (!context.failoverOnMiss) break;
  }
  if (miss !== undefined) {
    if (miss.kind === 'miss') return miss.value;
    if (miss.kind === 'missError') throw miss.error;
  }
  if (failure !== undefined) throw failure;
  return shape.absent();
}
