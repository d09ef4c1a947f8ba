/**
 * Framing of the 2025 servers (`'etx-request'`): every request ends with one
 * 0x03 byte, replies carry no terminator, and there is no pipelining.
 *
 * The server reads at most 4096 bytes at a time and appends them to a buffer;
 * once the buffer holds a 0x03 it parses the request at its start, answers
 * it, and empties the buffer: whatever else that read brought is dropped.
 * So two requests in one write get a reply for the first and nothing for the
 * second, or, when a read ends inside the second, an error for its tail
 * (protocol reference, "Framing", generation 2: "+OK for the first and
 * -ERR bad request or nothing for the rest").
 *
 * Faithful (the default): 4096-byte reads and the 2025 parser (`parser.ts`).
 * Otherwise: each socket chunk is one read and requests are decoded
 * binary-safely (`binary-safe.ts`). In both modes a lone 0x03 (an empty
 * request) gets `-ERR bad request`, as from the real server.
 *
 * @module
 */

import { ETX } from '../../protocol/dialect.js';
import { SERVER_ERRORS } from '../server-errors.js';
import { binarySafeLimits, decodeBinarySafe, requestBound, truncatedRequestError } from './binary-safe.js';
import { PendingRequest, readsOf } from './etx-buffer.js';
import { parseRequest, type ParseOutcome } from './parser.js';
import type { FrameEvent, FramerSettings, RequestFramer } from './types.js';

/** Decodes one whole ETX-framed request (0x03 excluded) for either ETX generation. */
export function decodeEtxRequest(request: Buffer, settings: FramerSettings): ParseOutcome {
  const { dialect, faithful, maxRequestBytes } = settings;
  if (request.length > maxRequestBytes) return { ok: false, error: SERVER_ERRORS.payloadExceeded };
  if (faithful) return parseRequest(request, dialect, requestBound(maxRequestBytes));
  return decodeBinarySafe(request, dialect, binarySafeLimits(maxRequestBytes)) ?? { ok: false, error: truncatedRequestError(dialect) };
}

/** One outcome as a frame event. */
export function toEvent(outcome: ParseOutcome): FrameEvent {
  return outcome.ok ? { kind: 'request', value: outcome.value } : { kind: 'error', text: outcome.error };
}

/** The framer of a 2025 (`'etx-request'`) server connection. */
export class EtxRequestFramer implements RequestFramer {
  readonly #settings: FramerSettings;
  readonly #pending: PendingRequest;

  constructor(settings: FramerSettings) {
    this.#settings = settings;
    this.#pending = new PendingRequest(settings.maxRequestBytes);
  }

  push(chunk: Buffer): FrameEvent[] {
    const events: FrameEvent[] = [];
    for (const read of readsOf(chunk, this.#settings.faithful)) this.#read(read, events);
    return events;
  }

  #read(read: Buffer, events: FrameEvent[]): void {
    const pending = this.#pending;
    let start = 0;
    for (;;) {
      const end = read.indexOf(ETX, start);
      if (end === -1) {
        const error = pending.stash(read.subarray(start));
        if (error !== undefined) events.push({ kind: 'error', text: error });
        return;
      }
      const piece = read.subarray(start, end);
      start = end + 1;
      if (pending.skipping) {
        // The 0x03 that ends an oversized request; what follows is a fresh start.
        pending.skipping = false;
        continue;
      }
      const request = pending.take(piece);
      // A lone 0x03 is an empty request, refused (`-ERR bad request`) in both modes, as the real
      // server does: the client's generation handshake tells a 2025 server by that answer.
      events.push(toEvent(request.length === 0 ? { ok: false, error: SERVER_ERRORS.badRequest } : decodeEtxRequest(request, this.#settings)));
      // One request per read: the rest of this read is dropped.
      if (start < read.length) events.push({ kind: 'violation' });
      return;
    }
  }
}
