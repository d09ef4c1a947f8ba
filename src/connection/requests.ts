/**
 * The per-request hot path of a connection, in plain code: the queue of
 * requests not yet written, the FIFO of requests on the wire, one coarse
 * timer for every request deadline, and promise settlement.
 *
 * Nothing here touches XState or the pool: a request costs a record, a
 * promise, and its share of one socket write per event-loop turn. What the
 * deadline timer does when it fires, and the other rare paths (forgetting
 * requests settled while waiting, re-encoding for a new dialect), live in
 * request-sweep.ts.
 *
 * @module
 */

import { AbortError, QueueFullError, ServerError } from '../errors.js';
import type { Dialect } from '../protocol/dialect.js';
import type { Command } from '../protocol/encoder.js';
import type { DecodedReply, Reply } from '../protocol/values.js';
import { AbortWatch } from './abort-watch.js';
import { isNotFound } from './not-found.js';
import { PendingRequest, RequestFifo } from './request-fifo.js';
import { earliestDeadline, expireWaiting, expireWritten, forgetSettledWaiting, reencodeWaiting, stallDeadline, stalledError } from './request-sweep.js';
import type { RequestOptions, RequestQueueOptions, RequestSink } from './request-types.js';
import { PipelinedWrites } from './send-policy.js';
import { UnsentBytes } from './unsent-bytes.js';

export type { RequestOptions, RequestQueueOptions, RequestSink, WaitingReason } from './request-types.js';

/**
 * The requests of one connection: written or waiting, each settled exactly
 * once. Deadlines share one timer per connection, armed for the earliest
 * deadline and re-armed only when it fires (or when a request with a
 * shorter time limit arrives): never a `setTimeout` per request.
 *
 * With pipelining, writes follow the dialect's send policy
 * ({@link Dialect.maxWriteBytes}, {@link Dialect.maxUnansweredBytes}): each
 * write is made of whole requests; requests past the limits wait for
 * replies ({@link RequestQueue.held}).
 */
export class RequestQueue {
  readonly #options: RequestQueueOptions;
  /** Requests not written yet, in order (some may already be settled by abort or timeout). */
  readonly #waiting = new RequestFifo();
  /** Requests written, awaiting their reply in order (some may be settled: their reply is still consumed). */
  readonly #written = new RequestFifo();
  /** The framing requests are encoded for. */
  #dialect: Dialect;
  /** The encoded requests not written yet, back to back; without pipelining, one request at a time. */
  #unsent: UnsentBytes;
  #pipelining: boolean;
  /** With pipelining: the writes and the send policy. */
  #pipelined: PipelinedWrites;
  /** Waiting requests settled (aborted, timed out) before they were written: their bytes are skipped. */
  #settledWaiting = 0;
  #pending = 0;
  #timer: NodeJS.Timeout | undefined;
  /** The deadline `#timer` fires for. */
  #timerAt = 0;
  /** True while the live requests' deadlines rise in request order (as with one time limit for all). */
  #ordered = true;
  #lastDeadline = -Infinity;
  /** Requests made since the last {@link #stamp}: their deadlines are still `Infinity`. */
  readonly #unstamped: PendingRequest[] = [];
  /** Unsettled requests that asked for bytes: while there are none (nor {@link #bytesMode}), replies cost no check of their form. */
  #bytesPending = 0;
  /** The decoder was told to decode bulk strings as bytes (the head of the wire asked for them). */
  #bytesMode = false;
  /** The oldest written request when the stream was last reported stalled (reported once each). */
  #stalledOn: PendingRequest | undefined;
  /** One 'abort' listener per signal, fanning out to the requests that share it. */
  readonly #signals = new AbortWatch((requests, error) => {
    for (const member of requests) this.#settle(member, error);
    this.#forgetSettledWaiting();
  });

  constructor(options: RequestQueueOptions) {
    this.#options = options;
    this.#dialect = options.dialect;
    this.#unsent = new UnsentBytes(options.dialect);
    this.#pipelining = options.dialect.pipelining;
    this.#pipelined = new PipelinedWrites(this.#unsent, options.dialect);
  }

  /** The framing requests are encoded for. */
  get dialect(): Dialect {
    return this.#dialect;
  }

  /**
   * Encodes the waiting requests again for another dialect (a connection
   * with `dialect: 'auto'` that learned, or re-learned, its server's
   * generation). Call it only with nothing on the wire (between sockets).
   * A waiting request the new dialect refuses rejects with that
   * {@link DialectError}: nothing of it is written.
   */
  setDialect(dialect: Dialect): void {
    if (dialect === this.#dialect) return;
    this.#dialect = dialect;
    const waiting = this.#waiting.drain();
    this.#unsent = new UnsentBytes(dialect);
    this.#pipelining = dialect.pipelining;
    this.#pipelined = new PipelinedWrites(this.#unsent, dialect);
    this.#settledWaiting = 0;
    const refused = reencodeWaiting(waiting, this.#waiting, this.#unsent, this.#pipelining ? this.#pipelined : undefined);
    for (const [request, error] of refused) this.#settle(request, error instanceof Error ? error : new Error(String(error)));
  }

  /** Requests whose callers are still waiting (queued or on the wire). */
  get pending(): number {
    return this.#pending;
  }

  /** Written requests whose replies have not arrived (settled or not). */
  get onTheWire(): number {
    return this.#written.length;
  }

  /** Bytes of written requests whose replies have not arrived (the send policy's unanswered bytes). */
  get unansweredBytes(): number {
    return this.#pipelined.unansweredBytes;
  }

  /**
   * True when the send policy held back requests at the last flush: flush
   * again once replies have arrived.
   */
  get held(): boolean {
    return this.#pipelined.held;
  }

  /** With pipelining: a request larger than one write holds the connection (see `PipelinedWrites.blocked`). */
  get blocked(): boolean {
    return this.#pipelining && this.#pipelined.blocked;
  }

  /** With pipelining: total time requests were held back by the send policy, in ms (kept across a change of dialect: 0 after). */
  get heldMs(): number {
    return this.#pipelined.heldMs;
  }

  /** True when a request waits to be written. */
  get hasWaiting(): boolean {
    let live = false;
    this.#waiting.walk((request) => {
      live = !request.settled;
      return !live;
    });
    return live;
  }

  /**
   * Encodes a request and queues it; it is written by the next {@link flush}.
   * Resolves with the reply; rejects with a ServerError, a TimeoutError, an
   * AbortError, a QueueFullError, or whatever the connection fails it with.
   *
   * @param probe - a health probe (keep-alive PING): when it times out on
   *   the wire the connection is reset, with or without pipelining
   * @param notFoundAsUndefined - the server's "key not found" error reply
   *   resolves the request with `undefined` instead of rejecting it
   * @param asBytes - the reply's bulk strings decode as `Buffer`s (the
   *   queue tells the decoder through `replyBytes` while it heads the wire)
   * @throws TypeError / RangeError / DialectError synchronously for a command
   *   that cannot be sent; nothing is queued
   */
  enqueue(command: Command, options?: RequestOptions, probe = false, notFoundAsUndefined = false, asBytes = false): Promise<Reply> {
    const unsent = this.#unsent;
    const start = unsent.end;
    const end = unsent.append(command);
    const signal = options?.signal;
    if (signal?.aborted === true || this.#pending >= this.#options.maxPending) {
      unsent.truncate(start);
      return Promise.reject(
        signal?.aborted === true
          ? new AbortError(undefined, { cause: signal.reason })
          : new QueueFullError(`the connection already has ${this.#pending} pending requests (maxPending)`),
      );
    }
    const bytes = this.#pipelining ? undefined : unsent.takeLast();
    const timeout = options?.timeout ?? this.#options.timeoutLimit;
    const promise = new Promise<Reply>(captureSettlers);
    const request = new PendingRequest(bytes, start, end, Infinity, timeout, capturedResolve, capturedReject);
    request.probe = probe;
    request.notFoundAsUndefined = notFoundAsUndefined;
    if (asBytes) {
      request.asBytes = true;
      this.#bytesPending++;
    }
    request.command = command;
    if (signal !== undefined) this.#signals.watch(request, signal);
    this.#waiting.push(request);
    if (this.#pipelining) this.#pipelined.queued(end - start);
    this.#pending++;
    if (this.#unstamped.push(request) === 1) queueMicrotask(this.#stamp);
    return promise;
  }

  /**
   * Gives the requests made since the last stamp their deadlines: one clock
   * read per stretch of synchronous code instead of one per request (a
   * `performance.now()` is ~50 ns, ~6 % of a pipelined GET). It runs as a
   * microtask, so before any timer can fire: a deadline counts from the end
   * of the synchronous code that made the request, never from before the
   * call (time the caller held the event loop could not have timed anything
   * out anyway).
   */
  readonly #stamp = (): void => {
    const unstamped = this.#unstamped;
    const now = performance.now();
    let earliest = Infinity;
    for (let i = 0; i < unstamped.length; i++) {
      // Settled ones too: one aborted while on the wire still times a stalled reply stream.
      const request = unstamped[i] as PendingRequest;
      const deadline = now + request.timeout;
      request.deadline = deadline;
      if (deadline < this.#lastDeadline) this.#ordered = false;
      this.#lastDeadline = deadline;
      if (deadline < earliest) earliest = deadline;
    }
    unstamped.length = 0;
    if (earliest !== Infinity && (this.#timer === undefined || earliest < this.#timerAt)) this.#arm(earliest);
  };

  /**
   * Writes what the dialect allows. Without pipelining: the next request,
   * when nothing is on the wire. With pipelining: the waiting requests in
   * order, leaving out those settled before they went out, as few writes as
   * the send policy allows (one when it sets no limit), each made of whole
   * requests and at most `maxWriteBytes`, while the unanswered bytes stay
   * within `maxUnansweredBytes`; a request larger than `maxWriteBytes` goes
   * alone, once nothing else is unanswered.
   */
  flush(sink: RequestSink): void {
    if (!this.#pipelining) {
      if (this.#written.length > 0) return;
      let request = this.#waiting.shift();
      while (request?.settled === true) request = this.#waiting.shift();
      if (request === undefined) return;
      request.written = true;
      request.writtenAt = performance.now();
      sink.write(request.bytes as Buffer);
      request.bytes = undefined;
      request.command = undefined;
      this.#written.push(request);
      if (this.#bytesPending !== 0 || this.#bytesMode) this.#syncReplyForm();
      return;
    }
    this.#settledWaiting -= this.#pipelined.flush(this.#waiting, this.#written, sink, this.#settledWaiting);
    if (this.#bytesPending !== 0 || this.#bytesMode) this.#syncReplyForm();
  }

  /**
   * Tells the decoder the form of the next reply when it changes: bytes
   * while the request heading the wire asked for them. The head changes
   * only when a reply is delivered, a write starts an empty wire, or the
   * wire is lost; never inside a reply.
   */
  #syncReplyForm(): void {
    const head = this.#written.peek();
    const bytes = head !== undefined && head.asBytes && !head.settled;
    if (bytes === this.#bytesMode) return;
    this.#bytesMode = bytes;
    this.#options.replyBytes?.(bytes);
  }

  /**
   * Matches a reply to the oldest written request.
   * @returns false when no request was waiting for it (the stream is out of step)
   */
  deliver(reply: DecodedReply): boolean {
    const request = this.#written.shift();
    if (request === undefined) return false;
    if (this.#pipelining) this.#pipelined.answered(request, this.#written.length === 0);
    // Only around requests that asked for bytes: plain replies skip it.
    if (this.#bytesPending !== 0 || this.#bytesMode) this.#syncReplyForm();
    if (!request.settled) {
      // Strings and numbers first: ServerError's instanceof (error-brand.ts) is a function call.
      if (typeof reply !== 'object' || reply === null || !(reply instanceof ServerError)) this.#settle(request, undefined, reply);
      else if (request.notFoundAsUndefined && isNotFound(reply)) this.#settle(request, undefined, undefined);
      else this.#settle(request, reply);
    }
    return true;
  }

  /** Rejects every written request (their replies will never come) with `error`. */
  failWritten(error: Error): void {
    this.#pipelined.streamLost();
    for (const request of this.#written.drain()) this.#settle(request, error);
    if (this.#bytesMode) this.#syncReplyForm();
  }

  /** Rejects every request, written or waiting, with `error`, and drops the unsent bytes. */
  failAll(error: Error): void {
    this.failWritten(error);
    // Drop the unsent bytes before settling anything: a callback may enqueue a new request.
    const waiting = this.#waiting.drain();
    this.#unsent.clear();
    this.#pipelined.streamLost();
    this.#pipelined.waitingCleared();
    for (const request of waiting) request.written = true; // their bytes are gone: not "skipped" either
    this.#settledWaiting = 0;
    for (const request of waiting) this.#settle(request, error);
  }

  /** Stops the deadline timer (the connection is closed). Requests must be failed first. */
  dispose(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#unstamped.length = 0; // nor is one armed for requests not stamped yet
  }

  #settle(request: PendingRequest, error: Error | undefined, reply?: Reply | undefined): void {
    if (request.settled) return;
    request.settled = true;
    if (request.asBytes) this.#bytesPending--;
    if (!request.written) {
      this.#settledWaiting++;
      if (this.#pipelining) this.#pipelined.dropped(request);
    }
    request.bytes = undefined;
    request.command = undefined;
    if (request.signal !== undefined) this.#signals.unwatch(request, request.signal);
    if (error === undefined) request.resolve(reply as Reply);
    else request.reject(error);
    if (--this.#pending === 0) {
      this.#ordered = true;
      this.#lastDeadline = -Infinity;
      this.#options.onDrained();
    }
  }

  /**
   * Arms the one timer for `deadline`. It is unref'd: a pending request
   * always has a socket or a reconnect timer keeping the process alive, and
   * an idle connection must not.
   */
  #arm(deadline: number): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timerAt = deadline;
    this.#timer = setTimeout(this.#onTimer, Math.max(0, deadline - performance.now()) + 1);
    this.#timer.unref();
  }

  readonly #onTimer = (): void => {
    this.#timer = undefined;
    const now = performance.now();
    // Deadlines in request order (one time limit for all): the walks stop at the first live request not due.
    const ordered = this.#ordered;
    const settle = (request: PendingRequest, error: Error): void => this.#settle(request, error);
    expireWaiting(this.#waiting, now, ordered, settle, this.#options.whyWaiting);
    this.#forgetSettledWaiting();
    const expired = expireWritten(this.#written, now, ordered, this.#pipelining, settle);
    let reset = expired?.reset;
    if (expired !== undefined) this.#stalledOn = expired.request;
    // The oldest request on the wire unanswered past its limit: the reply stream has stalled.
    const oldest = this.#written.peek();
    const limit = this.#options.timeoutLimit;
    if (reset === undefined && oldest !== undefined && oldest !== this.#stalledOn && stallDeadline(oldest, limit) <= now) {
      this.#stalledOn = oldest;
      reset = stalledError(oldest, now);
    }
    if (reset !== undefined) this.#options.onStreamTimeout(reset);
    let next = earliestDeadline(this.#written, this.#waiting, ordered);
    const head = this.#written.peek();
    if (head !== undefined && head !== this.#stalledOn) next = Math.min(next, stallDeadline(head, limit));
    if (next !== Infinity && (this.#timer === undefined || next < this.#timerAt)) this.#arm(next);
  };

  /** Forgets the settled requests at the head of the waiting queue, and their bytes (request-sweep.ts). */
  #forgetSettledWaiting(): void {
    this.#settledWaiting = forgetSettledWaiting(this.#waiting, this.#unsent, this.#pipelining, this.#settledWaiting);
  }
}

/**
 * The one promise executor of every request: it leaves the settle functions
 * of the promise being made here, so that a request costs no closure.
 */
let capturedResolve: (reply: Reply) => void = () => {};
let capturedReject: (error: Error) => void = () => {};
function captureSettlers(resolve: (reply: Reply) => void, reject: (error: Error) => void): void {
  capturedResolve = resolve;
  capturedReject = reject;
}

