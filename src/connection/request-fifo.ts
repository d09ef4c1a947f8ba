/**
 * The records of the request queue: one {@link PendingRequest} per request,
 * and the O(1) FIFO that holds them.
 *
 * @module
 */

import type { Command } from '../protocol/encoder.js';
import type { Reply } from '../protocol/values.js';

/** One request, from `enqueue` until its reply (or failure) settles it. */
export class PendingRequest {
  /** Without pipelining: the encoded request, until it is written. */
  bytes: Buffer | undefined;
  /** The command, until it is written: encoded again should the connection's dialect change first. */
  command: Command | undefined = undefined;
  /** True once the caller's promise has settled; the record may still wait for its reply. */
  settled = false;
  /** True once its bytes went to the socket. */
  written = false;
  /** Set when the caller gave an AbortSignal (one listener per signal fans out to its requests). */
  signal: AbortSignal | undefined = undefined;
  /** When its bytes went to the socket (`performance.now()` time, ms). */
  writtenAt = 0;
  /** A health probe (keep-alive PING): its timeout on the wire resets the connection in every dialect. */
  probe = false;
  /** The server's "key not found" error reply resolves it with `undefined` (GET for the client: no promise added to turn it into a value). */
  notFoundAsUndefined = false;
  /** Its reply's bulk strings decode as `Buffer`s (`getBuffer`): the decoder is switched while it heads the wire. */
  asBytes = false;

  constructor(
    bytes: Buffer | undefined,
    /** With pipelining: where its bytes start and end in the stream of encoded requests (absolute offsets). */
    public start: number,
    public end: number,
    /**
     * When the request has waited too long (`performance.now()` time, ms);
     * `Infinity` until the connection stamps it, at the end of the
     * synchronous code that made it (see `RequestQueue.enqueue`).
     */
    public deadline: number,
    /** Its time limit in ms, for the error message. */
    readonly timeout: number,
    readonly resolve: (reply: Reply) => void,
    readonly reject: (error: Error) => void,
  ) {
    this.bytes = bytes;
  }
}

/** A FIFO of requests with O(1) push and shift. */
export class RequestFifo {
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

  /** Keeps only the requests for which `keep` is true, in order. */
  retain(keep: (request: PendingRequest) => boolean): void {
    const kept: (PendingRequest | undefined)[] = [];
    for (let i = this.#head; i < this.#items.length; i++) {
      const request = this.#items[i] as PendingRequest;
      if (keep(request)) kept.push(request);
    }
    this.#items = kept;
    this.#head = 0;
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
