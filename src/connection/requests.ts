/**
 * The per-request hot path of a connection, in plain code: the queue of
 * requests not yet written, the FIFO of requests on the wire, one coarse
 * timer for every request deadline, and promise settlement.
 *
 * Nothing here touches XState or the pool: a request costs a record, a
 * promise, and its share of one socket write per event-loop turn.
 *
 * @module
 */

import { AbortError, QueueFullError, ServerError, TimeoutError } from '../errors.js';
import type { Dialect } from '../protocol/dialect.js';
import { RequestWriter, type Command } from '../protocol/encoder.js';
import type { DecodedReply, Reply } from '../protocol/values.js';

/** Where written bytes go: the socket, behind a small interface. */
export interface RequestSink {
  /** Writes bytes; several calls between `cork` and `uncork` leave as one write. */
  write(bytes: Buffer): void;
  cork(): void;
  uncork(): void;
}

/** One request, from `enqueue` until its reply (or failure) settles it. */
class PendingRequest {
  /** Without pipelining: the encoded request, until it is written. */
  bytes: Buffer | undefined;
  /** True once the caller's promise has settled; the record may still wait for its reply. */
  settled = false;
  /** True once its bytes went to the socket. */
  written = false;
  /** Set when the caller gave an AbortSignal. */
  signal: AbortSignal | undefined = undefined;
  onAbort: (() => void) | undefined = undefined;

  constructor(
    bytes: Buffer | undefined,
    /** With pipelining: where its bytes start and end in the writer's unsent bytes. */
    readonly start: number,
    readonly end: number,
    /** When the request has waited too long (`performance.now()` time, ms). */
    readonly deadline: number,
    /** Its time limit in ms, for the error message. */
    readonly timeout: number,
    readonly resolve: (reply: Reply) => void,
    readonly reject: (error: Error) => void,
  ) {
    this.bytes = bytes;
  }
}

/** A FIFO of requests with O(1) push and shift. */
class RequestFifo {
  #items: (PendingRequest | undefined)[] = [];
  #head = 0;

  get length(): number {
    return this.#items.length - this.#head;
  }

  push(request: PendingRequest): void {
    this.#items.push(request);
  }

  peek(): PendingRequest | undefined {
    return this.#items[this.#head];
  }

  shift(): PendingRequest | undefined {
    const item = this.#items[this.#head];
    if (item === undefined) return undefined;
    this.#items[this.#head++] = undefined;
    if (this.#head === this.#items.length) {
      this.#items.length = 0;
      this.#head = 0;
    } else if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    return item;
  }

  /** Removes and returns every request, oldest first. */
  drain(): PendingRequest[] {
    const out = this.#items.slice(this.#head) as PendingRequest[];
    this.#items = [];
    this.#head = 0;
    return out;
  }

  /**
   * Visits requests oldest first while `visit` returns true. Safe when a
   * visit drains the FIFO (the walk then ends).
   */
  walk(visit: (request: PendingRequest) => boolean): void {
    for (let i = this.#head; i < this.#items.length; i++) {
      if (!visit(this.#items[i] as PendingRequest)) return;
    }
  }
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
}

/** Options of one request. */
export interface RequestOptions {
  /** Abort the request; it then rejects with an {@link AbortError}. */
  readonly signal?: AbortSignal | undefined;
  /** Time limit in ms for this request, instead of the connection's `timeoutLimit`. */
  readonly timeout?: number | undefined;
}

/**
 * The requests of one connection: written or waiting, each settled exactly
 * once. Deadlines share one timer per connection, armed for the earliest
 * deadline and re-armed only when it fires (or when a request with a
 * shorter time limit arrives): never a `setTimeout` per request.
 */
export class RequestQueue {
  readonly #options: RequestQueueOptions;
  /** Requests not written yet, in order (some may already be settled by abort or timeout). */
  readonly #waiting = new RequestFifo();
  /** Requests written, awaiting their reply in order (some may be settled: their reply is still consumed). */
  readonly #written = new RequestFifo();
  /** Pipelining: the unsent requests, encoded back to back; one `take()` per flush. */
  readonly #writer: RequestWriter;
  readonly #pipelining: boolean;
  /** Waiting requests settled (aborted, timed out) before they were written: their bytes are skipped. */
  #settledWaiting = 0;
  #pending = 0;
  #timer: NodeJS.Timeout | undefined;
  /** The deadline `#timer` fires for. */
  #timerAt = 0;
  /** True while the live requests' deadlines rise in request order (as with one time limit for all). */
  #ordered = true;
  #lastDeadline = -Infinity;

  constructor(options: RequestQueueOptions) {
    this.#options = options;
    this.#writer = new RequestWriter(options.dialect);
    this.#pipelining = options.dialect.pipelining;
  }

  /** Requests whose callers are still waiting (queued or on the wire). */
  get pending(): number {
    return this.#pending;
  }

  /** Written requests whose replies have not arrived (settled or not). */
  get onTheWire(): number {
    return this.#written.length;
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
   * @throws TypeError / RangeError / DialectError synchronously for a command
   *   that cannot be sent; nothing is queued
   */
  enqueue(command: Command, options?: RequestOptions): Promise<Reply> {
    const writer = this.#writer;
    const start = writer.length;
    writer.append(command);
    const signal = options?.signal;
    if (signal?.aborted === true || this.#pending >= this.#options.maxPending) {
      writer.truncate(start);
      return Promise.reject(
        signal?.aborted === true
          ? new AbortError(undefined, { cause: signal.reason })
          : new QueueFullError(`the connection already has ${this.#pending} pending requests (maxPending)`),
      );
    }
    const bytes = this.#pipelining ? undefined : writer.take();
    const end = writer.length;
    const timeout = options?.timeout ?? this.#options.timeoutLimit;
    const deadline = performance.now() + timeout;
    let request!: PendingRequest;
    const promise = new Promise<Reply>((resolve, reject) => {
      request = new PendingRequest(bytes, start, end, deadline, timeout, resolve, reject);
    });
    if (signal !== undefined) {
      request.signal = signal;
      request.onAbort = () => this.#settle(request, new AbortError(undefined, { cause: signal.reason }));
      signal.addEventListener('abort', request.onAbort, { once: true });
    }
    this.#waiting.push(request);
    this.#pending++;
    if (deadline < this.#lastDeadline) this.#ordered = false;
    this.#lastDeadline = deadline;
    if (this.#timer === undefined || deadline < this.#timerAt) this.#arm(deadline);
    return promise;
  }

  /**
   * Writes what the dialect allows: every waiting request when pipelining (in
   * one write, leaving out requests settled before they went out), otherwise
   * the next one when nothing is on the wire.
   */
  flush(sink: RequestSink): void {
    if (!this.#pipelining) {
      if (this.#written.length > 0) return;
      let request = this.#waiting.shift();
      while (request?.settled === true) request = this.#waiting.shift();
      if (request === undefined) return;
      request.written = true;
      sink.write(request.bytes as Buffer);
      request.bytes = undefined;
      this.#written.push(request);
      return;
    }
    if (this.#waiting.length === 0) return;
    const unsent = this.#writer.take();
    if (this.#settledWaiting === 0) {
      for (let request = this.#waiting.shift(); request !== undefined; request = this.#waiting.shift()) {
        request.written = true;
        this.#written.push(request);
      }
      sink.write(unsent);
      return;
    }
    // Some requests were settled before they went out: write the others' bytes, in runs.
    this.#settledWaiting = 0;
    sink.cork();
    let runStart = -1;
    let runEnd = -1;
    for (let request = this.#waiting.shift(); request !== undefined; request = this.#waiting.shift()) {
      if (request.settled) continue;
      request.written = true;
      this.#written.push(request);
      if (request.start === runEnd) {
        runEnd = request.end;
      } else {
        if (runStart >= 0) sink.write(unsent.subarray(runStart, runEnd));
        runStart = request.start;
        runEnd = request.end;
      }
    }
    if (runStart >= 0) sink.write(unsent.subarray(runStart, runEnd));
    sink.uncork();
  }

  /**
   * Matches a reply to the oldest written request.
   * @returns false when no request was waiting for it (the stream is out of step)
   */
  deliver(reply: DecodedReply): boolean {
    const request = this.#written.shift();
    if (request === undefined) return false;
    if (!request.settled) {
      if (reply instanceof ServerError) this.#settle(request, reply);
      else this.#settle(request, undefined, reply);
    }
    return true;
  }

  /** Rejects every written request (their replies will never come) with `error`. */
  failWritten(error: Error): void {
    for (const request of this.#written.drain()) this.#settle(request, error);
  }

  /** Rejects every request, written or waiting, with `error`, and drops the unsent bytes. */
  failAll(error: Error): void {
    this.failWritten(error);
    // Drop the unsent bytes before settling anything: a callback may enqueue a new request.
    const waiting = this.#waiting.drain();
    this.#writer.take();
    for (const request of waiting) request.written = true; // their bytes are gone: not "skipped" either
    this.#settledWaiting = 0;
    for (const request of waiting) this.#settle(request, error);
  }

  /** Stops the deadline timer (the connection is closed). Requests must be failed first. */
  dispose(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #settle(request: PendingRequest, error: Error | undefined, reply?: Reply): void {
    if (request.settled) return;
    request.settled = true;
    if (!request.written && this.#pipelining) this.#settledWaiting++;
    request.bytes = undefined;
    if (request.onAbort !== undefined) {
      request.signal?.removeEventListener('abort', request.onAbort);
      request.onAbort = undefined;
      request.signal = undefined;
    }
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
    // With deadlines in request order (one time limit for all), the walks stop at the first
    // live request that is not due: a timer costs what it expires, not what is pending.
    const ordered = this.#ordered;
    // Requests not written yet just fail; nothing on the wire is affected (flush skips them).
    this.#waiting.walk((request) => {
      if (request.settled) return true;
      if (request.deadline > now) return !ordered;
      this.#settle(request, timeoutError(request.timeout, false));
      return true;
    });
    // A written request that timed out leaves the reply stream untrustworthy.
    let due: PendingRequest | undefined;
    this.#written.walk((request) => {
      if (request.settled) return true;
      if (request.deadline > now) return !ordered;
      due = request;
      return false;
    });
    if (due !== undefined) {
      const error = timeoutError(due.timeout, true);
      this.#settle(due, error);
      this.#options.onStreamTimeout(error);
    }
    let next = Infinity;
    const earliest = (request: PendingRequest): boolean => {
      if (request.settled) return true;
      if (request.deadline < next) next = request.deadline;
      return !ordered;
    };
    this.#written.walk(earliest);
    if (next === Infinity || !ordered) this.#waiting.walk(earliest);
    if (next !== Infinity && (this.#timer === undefined || next < this.#timerAt)) this.#arm(next);
  };
}

function timeoutError(timeout: number, written: boolean): TimeoutError {
  return new TimeoutError(
    written
      ? `no reply within ${timeout} ms; the connection is reset because its reply stream can no longer be trusted`
      : `the request waited ${timeout} ms for a connection and was never sent`,
  );
}
