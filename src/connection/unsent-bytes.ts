/**
 * The encoded bytes of pipelined requests that are not written yet, as one
 * stream with absolute offsets: a request is `[start, end)` in it from
 * `append` until it is written or skipped, whatever was taken in between.
 *
 * Requests are encoded back to back into one {@link RequestWriter}; a flush
 * takes the writer's bytes once into a chunk, then slices the requests it
 * writes out of the chunks. A send policy that writes only part of the
 * stream leaves the rest in its chunk for the next flush, with no copy.
 *
 * @module
 */

import type { Dialect } from '../protocol/dialect.js';
import { RequestWriter, type Command } from '../protocol/request-writer.js';

interface Chunk {
  readonly bytes: Buffer;
  /** Absolute offset of `bytes[0]`. */
  readonly base: number;
}

/** A byte stream of encoded requests, addressed by absolute offsets. */
export class UnsentBytes {
  readonly #writer: RequestWriter;
  /** Taken from the writer, not yet released, oldest first. */
  #chunks: Chunk[] = [];
  /** Absolute offset of the writer's first byte (every byte taken before it). */
  #taken = 0;

  constructor(dialect: Dialect) {
    this.#writer = new RequestWriter(dialect);
  }

  /** The absolute offset where the next request starts. */
  get end(): number {
    return this.#taken + this.#writer.length;
  }

  /**
   * Encodes one request at the end of the stream.
   * @returns the absolute offset where it ends (it starts at the `end` read before)
   * @throws TypeError / RangeError / DialectError as {@link RequestWriter.append}; nothing is added
   */
  append(command: Command): number {
    this.#writer.append(command);
    return this.end;
  }

  /** Drops the bytes after absolute offset `end` (a request refused after encoding). Only the unflushed tail can go. */
  truncate(end: number): void {
    this.#writer.truncate(end - this.#taken);
  }

  /** Moves the writer's bytes into the chunks; call once per flush before slicing. */
  collect(): void {
    const length = this.#writer.length;
    if (length === 0) return;
    this.#chunks.push({ bytes: this.#writer.take(), base: this.#taken });
    this.#taken += length;
  }

  /**
   * The bytes `[start, end)` of collected requests: a view when they lie in
   * one chunk, a copy when they span two or more.
   */
  slice(start: number, end: number): Buffer {
    const chunks = this.#chunks;
    let i = 0;
    while ((chunks[i] as Chunk).base + (chunks[i] as Chunk).bytes.length <= start) i++;
    const first = chunks[i] as Chunk;
    if (end <= first.base + first.bytes.length) return first.bytes.subarray(start - first.base, end - first.base);
    const parts: Buffer[] = [];
    for (let at = start; at < end; i++) {
      const chunk = chunks[i] as Chunk;
      const stop = Math.min(end, chunk.base + chunk.bytes.length);
      parts.push(chunk.bytes.subarray(at - chunk.base, stop - chunk.base));
      at = stop;
    }
    return Buffer.concat(parts, end - start);
  }

  /**
   * Forgets the bytes before absolute offset `offset` (written or skipped):
   * the chunks that end there, and with `trim`, the dead front of the chunk
   * it falls in, copying the rest out once the dead part is the larger
   * (so that the old buffer can go).
   */
  release(offset: number, trim = false): void {
    const chunks = this.#chunks;
    let drop = 0;
    while (drop < chunks.length && (chunks[drop] as Chunk).base + (chunks[drop] as Chunk).bytes.length <= offset) drop++;
    if (drop === chunks.length) this.#chunks = [];
    else if (drop > 0) this.#chunks = chunks.slice(drop);
    const first = this.#chunks[0];
    if (!trim || first === undefined || first.base >= offset) return;
    const dead = offset - first.base;
    const live = first.bytes.length - dead;
    if (dead < live) return;
    this.#chunks[0] = { bytes: Buffer.from(first.bytes.subarray(dead)), base: offset };
  }

  /**
   * Copies the bytes of `kept` (requests in stream order, each with its
   * `start` and `end`) into one fresh chunk and drops every other unsent
   * byte; each kept request gets its new offsets. Costs the kept bytes.
   */
  compact(kept: readonly { start: number; end: number }[]): void {
    this.collect();
    let length = 0;
    for (const range of kept) length += range.end - range.start;
    const bytes = Buffer.allocUnsafe(length);
    let at = 0;
    for (const range of kept) {
      at += this.slice(range.start, range.end).copy(bytes, at);
    }
    this.#chunks = length === 0 ? [] : [{ bytes, base: this.#taken }];
    at = this.#taken;
    for (const range of kept) {
      const size = range.end - range.start;
      range.start = at;
      range.end = at + size;
      at += size;
    }
    this.#taken = at;
  }

  /** Drops every byte, collected or not (the requests failed). */
  clear(): void {
    this.collect();
    this.#chunks = [];
  }

  /** Without pipelining: takes the last appended request's bytes alone. */
  takeLast(): Buffer {
    const length = this.#writer.length;
    const bytes = this.#writer.take();
    this.#taken += length;
    return bytes;
  }
}
