/**
 * Framing of the plain 2024 servers (`'legacy'`): no terminator, no
 * pipelining, requests of at most 4096 bytes (protocol reference, "Framing",
 * generation 1).
 *
 * Faithful (the default), as the real server: it reads at most 4096 bytes at
 * a time, and each read that contains `\n` ends a request: the bytes gathered
 * since the previous one are parsed as ONE request by the 2024 parser
 * (`parser.ts`). So several requests in one write get one reply (the rest is
 * dropped, counted as a pipelining violation); a request split across reads
 * after a line feed is answered `-ERR bad request` for its first part and
 * again for its tail; a request over 4096 bytes therefore gets two
 * `-ERR bad request` (when its tail ends with a line feed, as every request
 * does) and is not stored.
 *
 * With faithfulness off: bytes are gathered until they decode (binary-safely)
 * as a whole request, so a request split anywhere is reassembled; one over
 * 4096 bytes still gets two `-ERR bad request` and is discarded to its end.
 *
 * @module
 */

import { WireDecoder } from '../../protocol/decoder.js';
import { SERVER_ERRORS } from '../server-errors.js';
import { binarySafeLimits, decodeBinarySafe, requestBound } from './binary-safe.js';
import { readsOf } from './etx-buffer.js';
import { parseRequest, type ParseOutcome } from './parser.js';
import { READ_BYTES, type FrameEvent, type FramerSettings, type RequestFramer } from './types.js';

/** The largest request a plain ('legacy') server takes: it reads into a 4096-byte buffer. */
export const LEGACY_MAX_REQUEST_BYTES = READ_BYTES;

const LF = 0x0a;
const ETX = 0x03;

function onlyEtx(bytes: Buffer, from: number): boolean {
  for (let i = from; i < bytes.length; i++) if (bytes[i] !== ETX) return false;
  return true;
}
const BAD_REQUEST: FrameEvent = { kind: 'error', text: SERVER_ERRORS.badRequest };

/** The framer of a 2024 (`'legacy'`) server connection. */
export class LegacyFramer implements RequestFramer {
  readonly #settings: FramerSettings;
  /** Reads since the last request ended. */
  #parts: Buffer[] = [];
  #length = 0;
  /** Kind mode: follows an oversized request to its end, to discard it. */
  #skipper: WireDecoder | undefined;

  constructor(settings: FramerSettings) {
    this.#settings = settings;
  }

  push(chunk: Buffer): FrameEvent[] {
    const events: FrameEvent[] = [];
    if (this.#settings.faithful) {
      for (const read of readsOf(chunk, true)) this.#faithfulRead(read, events);
    } else {
      this.#kindRead(chunk, events);
    }
    return events;
  }

  #take(): Buffer {
    const bytes = this.#parts.length === 1 ? (this.#parts[0] as Buffer) : Buffer.concat(this.#parts);
    this.#parts = [];
    this.#length = 0;
    return bytes;
  }

  #answer(request: Buffer, outcome: ParseOutcome, events: FrameEvent[]): void {
    if (!outcome.ok) {
      events.push({ kind: 'error', text: outcome.error });
      return;
    }
    // Bytes after the request are dropped; only another request there is a pipelining violation
    // (a lone 0x03, as the generation handshake leaves, is dropped as the real server drops it).
    if (outcome.end < request.length && !onlyEtx(request, outcome.end)) events.push({ kind: 'violation' });
    events.push({ kind: 'request', value: outcome.value });
  }

  #faithfulRead(read: Buffer, events: FrameEvent[]): void {
    this.#parts.push(read);
    this.#length += read.length;
    if (!read.includes(LF)) return; // the real server waits for a read with a line feed
    const request = this.#take();
    const bound = requestBound(this.#settings.maxRequestBytes);
    this.#answer(request, parseRequest(request, 'legacy', bound), events);
  }

  #kindRead(chunk: Buffer, events: FrameEvent[]): void {
    if (this.#skipper !== undefined) {
      if (this.#follow(this.#skipper, chunk)) this.#skipper = undefined;
      return;
    }
    this.#parts.push(chunk);
    this.#length += chunk.length;
    const oversized = this.#length > LEGACY_MAX_REQUEST_BYTES;
    if (!oversized && !chunk.includes(LF)) return;
    const pending = this.#take();
    const limits = binarySafeLimits(this.#settings.maxRequestBytes);
    const outcome = decodeBinarySafe(pending, 'legacy', limits);
    if (outcome === undefined) {
      if (!oversized) {
        // Keep waiting for the rest of the request.
        this.#parts = [pending];
        this.#length = pending.length;
        return;
      }
      events.push(BAD_REQUEST, BAD_REQUEST);
      // Follow the rest of the oversized request, to discard it whole.
      const skipper = new WireDecoder({ limits });
      if (!this.#follow(skipper, pending)) this.#skipper = skipper;
      return;
    }
    if (outcome.ok ? outcome.end > LEGACY_MAX_REQUEST_BYTES : oversized) {
      events.push(BAD_REQUEST, BAD_REQUEST);
      return;
    }
    this.#answer(pending, outcome, events);
  }

  /** @returns true once the followed request is complete (or broken) */
  #follow(skipper: WireDecoder, bytes: Buffer): boolean {
    let done = false;
    try {
      skipper.push(bytes, () => {
        done = true;
      });
    } catch {
      done = true;
    }
    return done;
  }
}
