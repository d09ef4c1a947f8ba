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
 * @module
 */

import type { Dialect } from '../protocol/dialect.js';
import type { PendingRequest, RequestFifo } from './request-fifo.js';
import type { RequestSink } from './requests.js';
import type { UnsentBytes } from './unsent-bytes.js';

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
  /** A large request is alone on the wire, or waits for the wire to empty: new requests would queue behind it. */
  #blocked = false;
  /** When the current stretch of held requests began (`performance.now()`), 0 when none. */
  #heldSince = 0;
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
   * (alone on the wire, or waiting for it to empty): a request given now
   * would wait behind it for at least a round trip.
   */
  get blocked(): boolean {
    return this.#blocked;
  }

  /** Total time live requests waited because of the policy (window full, or a large request alone), in ms. */
  get heldMs(): number {
    return this.#heldMs + (this.#heldSince === 0 ? 0 : performance.now() - this.#heldSince);
  }

  /** Notes the end of a flush: starts or ends a stretch of held requests. */
  #noteHeld(): void {
    if (this.#held === (this.#heldSince !== 0)) return;
    const now = performance.now();
    if (this.#held) this.#heldSince = now;
    else {
      this.#heldMs += now - this.#heldSince;
      this.#heldSince = 0;
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
    this.#blocked = this.#alone;
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
          this.#blocked = true;
          break;
        }
        this.#alone = true;
        this.#blocked = true;
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
    if (wireEmpty) this.#alone = false;
  }

  /** The stream is gone (the written requests failed, or everything was dropped): nothing is unanswered. */
  streamLost(): void {
    this.#unanswered = 0;
    this.#alone = false;
    this.#held = false;
    this.#blocked = false;
    this.#noteHeld();
  }
}
