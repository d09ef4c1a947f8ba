/**
 * The send policy of a pipelining connection: which waiting requests go out
 * in which socket writes, given the dialect's limits (protocol reference,
 * "Crash on a split request"; README "Server compatibility").
 *
 * - every write is made of whole requests and holds at most `maxWriteBytes`;
 * - the bytes of written requests whose replies have not arrived stay within
 *   `maxUnansweredBytes`;
 * - a request larger than `maxWriteBytes` goes alone: once nothing else is
 *   unanswered, and nothing is written after it until its reply.
 *
 * Without limits (custom dialects) everything waiting leaves in one write.
 *
 * It also tells the pool when small requests would queue behind a large one
 * ({@link PipelinedWrites.blocked}).
 *
 * @module
 */

import type { Dialect } from '../protocol/dialect.js';
import type { PendingRequest, RequestFifo } from './request-fifo.js';
import type { RequestSink } from './requests.js';
import type { UnsentBytes } from './unsent-bytes.js';

/**
 * After a large request's reply, the connection stays {@link PipelinedWrites.blocked}
 * (kept for large requests) this many of that request's round trips...
 */
export const KEEP_FOR_LARGE_RTTS = 4;
/** ... and at most this long, in ms. */
const KEEP_FOR_LARGE_MAX_MS = 1000;

/** The writes of one pipelining connection, and what its send policy holds back. */
export class PipelinedWrites {
  readonly #unsent: UnsentBytes;
  readonly #maxWriteBytes: number;
  readonly #maxUnansweredBytes: number;
  /** Bytes of written requests whose replies have not arrived. */
  #unanswered = 0;
  /** A request larger than `maxWriteBytes` is on the wire: nothing else is written until its reply. */
  #alone = false;
  /** The last flush left live requests waiting because of the policy. */
  #held = false;
  /** Live requests larger than `maxWriteBytes` waiting to be written. */
  #largeWaiting = 0;
  /** After a large request's reply: until when (`performance.now()`) the connection stays kept for large ones; 0 when not. */
  #keptUntil = 0;
  /** When the current stretch of held requests began (`performance.now()`), -1 when none. */
  #heldSince = -1;
  /** Time requests were held back by the policy, in ms, stretches ended. */
  #heldMs = 0;

  constructor(unsent: UnsentBytes, dialect: Dialect) {
    this.#unsent = unsent;
    this.#maxWriteBytes = dialect.maxWriteBytes;
    this.#maxUnansweredBytes = dialect.maxUnansweredBytes;
  }

  /** Bytes of written requests whose replies have not arrived. */
  get unansweredBytes(): number {
    return this.#unanswered;
  }

  /** True when the last flush held live requests back: flush again once replies have arrived. */
  get held(): boolean {
    return this.#held;
  }

  /**
   * True while a request larger than `maxWriteBytes` holds the connection
   * (alone on the wire, or queued: it waits for the wire to empty), so that
   * a request given now would wait behind it for a round trip or more; and
   * for {@link KEEP_FOR_LARGE_RTTS} of its round trips after the last one's
   * reply, so that the next large request finds the connection without
   * small ones to wait for.
   */
  get blocked(): boolean {
    if (this.#alone || this.#largeWaiting > 0) return true;
    if (this.#keptUntil === 0) return false;
    if (performance.now() < this.#keptUntil) return true;
    this.#keptUntil = 0;
    return false;
  }

  /** A request of `bytes` was queued (encoded, not written). */
  queued(bytes: number): void {
    if (bytes > this.#maxWriteBytes) this.#largeWaiting++;
  }

  /** A waiting request settled before it was written (timeout, abort, refused): it will never be written. */
  dropped(request: PendingRequest): void {
    if (request.end - request.start > this.#maxWriteBytes) this.#largeWaiting--;
  }

  /** Every waiting request is gone (failed with the connection). */
  waitingCleared(): void {
    this.#largeWaiting = 0;
  }

  /** Total time live requests waited because of the policy (window full, or a large request alone), in ms. */
  get heldMs(): number {
    return this.#heldMs + (this.#heldSince < 0 ? 0 : performance.now() - this.#heldSince);
  }

  /** Notes the end of a flush: starts or ends a stretch of held requests. */
  #noteHeld(): void {
    if (this.#held === this.#heldSince >= 0) return;
    const now = performance.now();
    if (this.#held) this.#heldSince = now;
    else {
      this.#heldMs += now - this.#heldSince;
      this.#heldSince = -1;
    }
  }

  /**
   * Moves what the policy allows from `waiting` to `written`, writing their
   * bytes to `sink`; settled waiting requests are skipped (their bytes too).
   * @param settledWaiting - how many requests in `waiting` are settled
   * @returns how many settled requests it skipped (and removed from `waiting`)
   */
  flush(waiting: RequestFifo, written: RequestFifo, sink: RequestSink, settledWaiting: number): number {
    let skipped = 0;
    this.#held = false;
    if (waiting.length === 0 || this.#alone) {
      this.#held = this.#alone && waiting.length > settledWaiting;
      this.#noteHeld();
      return 0;
    }
    const unsent = this.#unsent;
    unsent.collect();
    const now = performance.now();
    const maxWrite = this.#maxWriteBytes;
    const limited = maxWrite !== Infinity;
    // Several runs of one write go out corked (no limit) or copied into one buffer (limited).
    const corked = !limited && settledWaiting > 0;
    if (corked) sink.cork();
    let runs: Buffer[] = [];
    let writeBytes = 0;
    let runStart = -1;
    let runEnd = -1;
    let consumed = -1;
    const endRun = (): void => {
      if (runStart < 0) return;
      const bytes = unsent.slice(runStart, runEnd);
      if (limited) runs.push(bytes);
      else sink.write(bytes);
      runStart = -1;
      runEnd = -1;
    };
    const endWrite = (): void => {
      endRun();
      if (runs.length > 0) sink.write(runs.length === 1 ? (runs[0] as Buffer) : Buffer.concat(runs, writeBytes));
      runs = [];
      writeBytes = 0;
    };
    for (let request = waiting.peek(); request !== undefined; request = waiting.peek()) {
      if (request.settled) {
        waiting.shift();
        skipped++;
        consumed = request.end;
        continue;
      }
      const size = request.end - request.start;
      if (size > maxWrite) {
        // Too large for one segment: alone on the wire, or not yet.
        if (writeBytes > 0 || runStart >= 0 || written.length > 0) {
          this.#held = true;
          break;
        }
        this.#alone = true;
        this.#largeWaiting--;
      } else if (this.#unanswered + size > this.#maxUnansweredBytes) {
        this.#held = true;
        break;
      } else if (writeBytes + size > maxWrite) {
        endWrite();
      }
      waiting.shift();
      request.written = true;
      request.command = undefined;
      request.writtenAt = now;
      written.push(request);
      this.#unanswered += size;
      writeBytes += size;
      consumed = request.end;
      if (request.start !== runEnd) {
        endRun();
        runStart = request.start;
      }
      runEnd = request.end;
      if (this.#alone) break;
    }
    endWrite();
    if (corked) sink.uncork();
    if (consumed >= 0) unsent.release(consumed);
    if (this.#alone && waiting.length > settledWaiting - skipped) this.#held = true;
    this.#noteHeld();
    return skipped;
  }

  /** A written request's reply arrived; `wireEmpty` when nothing else is on the wire. */
  answered(request: PendingRequest, wireEmpty: boolean): void {
    this.#unanswered -= request.end - request.start;
    if (wireEmpty && this.#alone) {
      this.#alone = false;
      const now = performance.now();
      this.#keptUntil = now + Math.min(KEEP_FOR_LARGE_MAX_MS, KEEP_FOR_LARGE_RTTS * (now - request.writtenAt));
    }
  }

  /** The stream is gone (the written requests failed, or everything was dropped): nothing is unanswered. */
  streamLost(): void {
    this.#unanswered = 0;
    this.#alone = false;
    this.#held = false;
    this.#keptUntil = 0;
    this.#noteHeld();
  }
}
