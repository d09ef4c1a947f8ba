/**
 * Framing of the current servers (`'etx'`): requests and replies each end
 * with 0x03, and the server answers every request of its buffer in order, so
 * pipelining works, faults included (protocol reference, "Framing",
 * generation 3; the server's main branch as of August 2026).
 *
 * Faithful (the default), as the real server:
 * - it reads at most 4096 bytes per `read()` (a socket chunk is what the
 *   kernel had: the real server reads it 4096 bytes at a time), appends them
 *   to its buffer, and, when the buffer holds a 0x03, answers every complete
 *   request in it;
 * - when that pass leaves an incomplete request at the end of the buffer after
 *   one or more complete ones, the process dies (`'split-request'`). An
 *   incomplete request at the start of the buffer (nothing complete before it
 *   in the pass) just waits for more bytes;
 * - a request whose command name is a simple string dies too
 *   (`'simple-string-command'`), as does (from the server's source) an empty
 *   array request or one whose first element is neither kind of string
 *   (`'malformed-command'`);
 * - requests are parsed by the current parser (`parser.ts`): bulk strings are
 *   lines, cut at the first LF; a stray 0x03 (empty request) is answered
 *   `-ERR unexpected`.
 *
 * With faithfulness off: each socket chunk is one read, requests are decoded
 * binary-safely, a stray 0x03 is ignored, nothing crashes (a request split
 * anywhere is reassembled; a simple-string command name gets
 * `-ERR unknown command`).
 *
 * @module
 */

import { ETX } from '../../protocol/dialect.js';
import type { WireValue } from '../../protocol/values.js';
import { PendingRequest, readsOf, sample } from './etx-buffer.js';
import { decodeEtxRequest, toEvent } from './etx-request.js';
import type { CrashReason, FrameEvent, FramerSettings, RequestFramer } from './types.js';

/** Why a parsed request kills a faithful current server, if it does. */
export function commandCrash(request: WireValue): CrashReason | undefined {
  if (request.type !== 'array') return undefined; // answered `-ERR unknown command`
  const head = request.value[0];
  if (head === undefined) return 'malformed-command';
  if (head.type === 'simple') return 'simple-string-command';
  return head.type === 'bulk' ? undefined : 'malformed-command';
}

/** The framer of a current (`'etx'`) server connection. */
export class EtxFramer implements RequestFramer {
  readonly #settings: FramerSettings;
  readonly #pending: PendingRequest;
  #dead = false;

  constructor(settings: FramerSettings) {
    this.#settings = settings;
    this.#pending = new PendingRequest(settings.maxRequestBytes);
  }

  push(chunk: Buffer): FrameEvent[] {
    const events: FrameEvent[] = [];
    if (this.#dead) return events;
    for (const read of readsOf(chunk, this.#settings.faithful)) {
      if (!this.#pass(read, events)) {
        this.#dead = true;
        break;
      }
    }
    return events;
  }

  /**
   * One read: answers every request it completes.
   * @returns false when the server dies in this pass (the last event is the crash)
   */
  #pass(read: Buffer, events: FrameEvent[]): boolean {
    const pending = this.#pending;
    const faithful = this.#settings.faithful;
    let start = 0;
    let completed = 0;
    for (;;) {
      const end = read.indexOf(ETX, start);
      if (end === -1) break;
      const piece = read.subarray(start, end);
      start = end + 1;
      completed++;
      if (pending.skipping) {
        // The 0x03 that ends an oversized request; what follows is a fresh start.
        pending.skipping = false;
        continue;
      }
      const request = pending.take(piece);
      if (request.length === 0 && !faithful) continue; // a stray 0x03
      const outcome = decodeEtxRequest(request, this.#settings);
      const crash = faithful && outcome.ok ? commandCrash(outcome.value) : undefined;
      if (crash !== undefined) {
        events.push({ kind: 'crash', reason: crash, bytes: sample(request) });
        return false;
      }
      events.push(toEvent(outcome));
    }
    const rest = read.subarray(start);
    if (faithful && completed > 0 && rest.length > 0) {
      events.push({ kind: 'crash', reason: 'split-request', bytes: sample(rest) });
      return false;
    }
    const error = pending.stash(rest);
    if (error !== undefined) events.push({ kind: 'error', text: error });
    return true;
  }
}
