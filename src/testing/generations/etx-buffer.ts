/**
 * Pieces shared by the two ETX generations' framers: cutting a socket chunk
 * into the real server's reads, and the buffer of a request still waiting for
 * its 0x03 (with the size limit: past it the request is answered with
 * `-ERR maximum payload size exceeded` and discarded up to its 0x03).
 *
 * @module
 */

import { SERVER_ERRORS } from '../server-errors.js';
import { READ_BYTES } from './types.js';

/**
 * The reads a server makes of one socket chunk: a faithful server reads at
 * most {@link READ_BYTES} at a time; otherwise the chunk is one read.
 */
export function readsOf(chunk: Buffer, faithful: boolean): Buffer[] {
  if (!faithful || chunk.length <= READ_BYTES) return [chunk];
  const reads: Buffer[] = [];
  for (let at = 0; at < chunk.length; at += READ_BYTES) reads.push(chunk.subarray(at, at + READ_BYTES));
  return reads;
}

/** A copy of at most `max` bytes, for crash records. */
export function sample(bytes: Buffer, max = 256): Buffer {
  return Buffer.from(bytes.subarray(0, max));
}

/** The bytes of the request being received, up to its 0x03. */
export class PendingRequest {
  #parts: Buffer[] = [];
  #length = 0;
  /** Discarding an oversized request up to its 0x03. */
  skipping = false;

  constructor(private readonly maxRequestBytes: number) {}

  /** Bytes held. */
  get length(): number {
    return this.#length;
  }

  /**
   * Holds a piece of the request (ignored while skipping).
   * @returns the error to answer when the request just passed the size limit
   */
  stash(piece: Buffer): string | undefined {
    if (piece.length === 0 || this.skipping) return undefined;
    this.#parts.push(piece);
    this.#length += piece.length;
    if (this.#length <= this.maxRequestBytes) return undefined;
    // Too large already: answer now and discard the rest of it, up to its 0x03.
    this.clear();
    this.skipping = true;
    return SERVER_ERRORS.payloadExceeded;
  }

  /** The whole request, `last` being its final piece; the buffer is emptied. */
  take(last: Buffer): Buffer {
    const bytes = this.#parts.length === 0 ? last : Buffer.concat([...this.#parts, last]);
    this.clear();
    return bytes;
  }

  clear(): void {
    this.#parts = [];
    this.#length = 0;
  }
}
