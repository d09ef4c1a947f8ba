/**
 * The rare paths of a connection's {@link RequestQueue} (requests.ts): what
 * its one deadline timer does when it fires (time out the requests past
 * their deadlines, detect a stalled reply stream, find the next deadline),
 * and forgetting the requests settled while they waited. Nothing here runs
 * per request: only when the timer fires, a signal aborts, or the dialect
 * changes.
 *
 * @module
 */

import { TimeoutError } from '../errors.js';
import type { Command } from '../protocol/encoder.js';
import type { PendingRequest, RequestFifo } from './request-fifo.js';
import { timeoutError, type WaitingReason } from './request-types.js';
import type { PipelinedWrites } from './send-policy.js';
import type { UnsentBytes } from './unsent-bytes.js';

/** Settles one request of the queue with `error` (the queue's own settle). */
export type SettleRequest = (request: PendingRequest, error: Error) => void;

/** Settled requests left in the waiting queue before it is compacted (records and bytes). */
const COMPACT_AFTER = 1024;

/**
 * Fails the waiting (not yet written) requests past their deadline; nothing
 * on the wire is affected. `whyWaiting` is asked once, when one is due.
 * With deadlines in request order (`ordered`: one time limit for all), the
 * walk stops at the first live request that is not due: a timer costs what
 * it expires, not what is pending.
 */
export function expireWaiting(waiting: RequestFifo, now: number, ordered: boolean, settle: SettleRequest, whyWaiting: (() => WaitingReason) | undefined): void {
  let why: WaitingReason | undefined;
  waiting.walk((request) => {
    if (request.settled) return true;
    if (request.deadline > now) return !ordered;
    why ??= whyWaiting?.() ?? { reason: '' };
    settle(request, timeoutError(request.timeout, 'waiting', why));
    return true;
  });
}

/**
 * Fails the written requests past their deadline. With pipelining each
 * alone fails (its reply, when it comes, is read and dropped); without, or
 * for a probe, its reply would block the next one: the first such request
 * fails with the error that resets the connection, and the walk stops.
 * @returns that request and its error, when the connection must be reset
 */
export function expireWritten(
  written: RequestFifo,
  now: number,
  ordered: boolean,
  pipelining: boolean,
  settle: SettleRequest,
): { request: PendingRequest; reset: TimeoutError } | undefined {
  let found: { request: PendingRequest; reset: TimeoutError } | undefined;
  written.walk((request) => {
    if (request.settled) return true;
    if (request.deadline > now) return !ordered;
    if (pipelining && !request.probe) {
      settle(request, timeoutError(request.timeout, 'dropped'));
      return true;
    }
    const reset = timeoutError(request.timeout, request.probe ? 'probe' : 'reset');
    settle(request, reset);
    found = { request, reset };
    return false;
  });
  return found;
}

/** The earliest deadline of a live request, written or waiting (`Infinity` when none). */
export function earliestDeadline(written: RequestFifo, waiting: RequestFifo, ordered: boolean): number {
  let next = Infinity;
  const earliest = (request: PendingRequest): boolean => {
    if (request.settled) return true;
    if (request.deadline < next) next = request.deadline;
    return !ordered;
  };
  written.walk(earliest);
  if (next === Infinity || !ordered) waiting.walk(earliest);
  return next;
}

/** When a written request's silence means the stream has stalled: its time limit, at least the connection's. */
export function stallDeadline(request: PendingRequest, timeoutLimit: number): number {
  return request.writtenAt + Math.max(request.timeout, timeoutLimit);
}

/** The error that resets a connection whose oldest request on the wire has had no reply past {@link stallDeadline}. */
export function stalledError(oldest: PendingRequest, now: number): TimeoutError {
  return new TimeoutError(
    `no reply for ${Math.round(now - oldest.writtenAt)} ms to the oldest request on the wire; ` +
      'the connection is reset because its reply stream has stalled',
  );
}

/**
 * Forgets the settled requests at the head of the waiting queue, and their
 * bytes; when settled ones are still most of the queue past that, keeps
 * only the live ones (records and bytes). So a request that settles while
 * waiting (a timeout or an abort during an outage) holds no memory beyond
 * a bounded amount of work.
 * @param settledWaiting - how many waiting requests are settled
 * @returns how many are left settled in the queue
 */
export function forgetSettledWaiting(waiting: RequestFifo, unsent: UnsentBytes, pipelining: boolean, settledWaiting: number): number {
  let consumed = -1;
  for (let request = waiting.peek(); request?.settled === true; request = waiting.peek()) {
    waiting.shift();
    settledWaiting--;
    consumed = request.end;
  }
  if (pipelining && consumed >= 0) {
    unsent.collect();
    unsent.release(consumed, true);
  }
  if (settledWaiting > COMPACT_AFTER && settledWaiting * 2 > waiting.length) {
    waiting.retain((request) => !request.settled);
    settledWaiting = 0;
    if (pipelining) {
      const live: PendingRequest[] = [];
      waiting.walk((request) => live.push(request) > 0);
      unsent.compact(live);
    }
  }
  return settledWaiting;
}

/**
 * Encodes waiting requests again, in order, into `unsent` (fresh, for the
 * queue's new dialect) and queues them `into` the waiting queue; settled
 * ones are dropped. `pipelined`: the new send policy, with pipelining.
 * @returns the requests the new dialect refused, with why (the caller settles them)
 */
export function reencodeWaiting(
  requests: readonly PendingRequest[],
  into: RequestFifo,
  unsent: UnsentBytes,
  pipelined: PipelinedWrites | undefined,
): [PendingRequest, unknown][] {
  const refused: [PendingRequest, unknown][] = [];
  for (const request of requests) {
    if (request.settled) continue;
    const start = unsent.end;
    try {
      request.end = unsent.append(request.command as Command);
    } catch (error) {
      request.written = true; // in no queue any more: not counted as a skipped waiting request
      refused.push([request, error]);
      continue;
    }
    request.start = start;
    request.bytes = pipelined === undefined ? unsent.takeLast() : undefined;
    into.push(request);
    if (pipelined !== undefined) pipelined.queued(request.end - start);
  }
  return refused;
}
