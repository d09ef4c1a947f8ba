/**
 * The shapes around the request queue (its options, a request's options,
 * where its bytes go) and the wording of its timeouts.
 *
 * @module
 */

import { TimeoutError } from '../errors.js';
import type { Dialect } from '../protocol/dialect.js';

/** Where written bytes go: the socket, behind a small interface. */
export interface RequestSink {
  /** Writes bytes; several calls between `cork` and `uncork` leave as one write. */
  write(bytes: Buffer): void;
  cork(): void;
  uncork(): void;
}

/** Options of a {@link RequestQueue}. */
export interface RequestQueueOptions {
  /** The framing: how requests are encoded, and whether many may be on the wire at once. */
  readonly dialect: Dialect;
  /** Most unsettled requests; past it `enqueue` fails fast. */
  readonly maxPending: number;
  /** Default time limit of a request, in ms. */
  readonly timeoutLimit: number;
  /** Called when a written request times out: the reply stream can no longer be trusted. */
  readonly onStreamTimeout: (error: TimeoutError) => void;
  /** Called whenever the last unsettled request settles (for graceful close). */
  readonly onDrained: () => void;
  /** For a request that times out unsent (called only then): what the connection is doing, and the failure behind it as `cause`. */
  readonly whyWaiting?: () => WaitingReason;
  /**
   * Called when the form of the next reply changes: true when the request
   * at the head of the wire asked for bytes (`enqueue`'s `asBytes`), false
   * when it did not. Called only around such requests.
   */
  readonly replyBytes?: (bytes: boolean) => void;
}

/** What {@link RequestQueueOptions.whyWaiting} tells: `connection 127.0.0.1:7556#3 is waiting to retry ...`, and its last error. */
export type WaitingReason = { readonly reason: string; readonly cause?: Error | undefined };

/** Options of one request. */
export interface RequestOptions {
  /** Abort the request; it then rejects with an {@link AbortError}. */
  readonly signal?: AbortSignal | undefined;
  /** Time limit in ms for this request, instead of the connection's `timeoutLimit`. */
  readonly timeout?: number | undefined;
}

export function timeoutError(timeout: number, fate: 'waiting' | 'dropped' | 'reset' | 'probe', why?: WaitingReason): TimeoutError {
  switch (fate) {
    case 'waiting':
      return new TimeoutError(`the request waited ${timeout} ms for a connection and was never sent${why?.reason ? `: ${why.reason}` : ''}`, { cause: why?.cause });
    case 'dropped':
      return new TimeoutError(`no reply within ${timeout} ms; the request was abandoned (its late reply will be discarded) and the connection kept`);
    case 'reset':
      return new TimeoutError(
        `no reply within ${timeout} ms; the connection is reset because this dialect has one request on the wire at a time and the late reply would answer the next`,
      );
    case 'probe':
      return new TimeoutError(`no reply to the keep-alive PING within ${timeout} ms; the connection is reset as half-open`);
  }
}
