/**
 * One served client of the embedded test server: its byte stream goes
 * through the generation's framer (`generations/`), requests are run by the
 * command table (`server-commands.ts`), and replies go out in order, possibly
 * delayed, with the generation's terminator.
 *
 * @module
 */

import type * as net from 'node:net';
import { ETX } from '../protocol/dialect.js';
import { createFramer, type CrashReason, type FramerSettings, type RequestFramer } from './generations/index.js';
import { encodeReply, executeRequest, type CommandContext } from './server-commands.js';

const ETX_BYTE = Buffer.from([ETX]);

/** State shared by the server and its connections. */
export interface SharedState {
  readonly context: CommandContext;
  readonly framing: FramerSettings;
  delayMs: number;
  answering: boolean;
  requests: number;
  pipeliningViolations: number;
  bytesReceived: number;
  /** The server process "dies": called once per crash, with what triggered it. */
  crash(reason: CrashReason, bytes: Buffer): void;
}

/** One served client: framing of its byte stream, and its (possibly delayed) reply queue. */
export class ClientConnection {
  readonly #socket: net.Socket;
  readonly #state: SharedState;
  #framer: RequestFramer;
  readonly #queue: { at: number; bytes: Buffer }[] = [];
  #timer: NodeJS.Timeout | undefined;

  constructor(socket: net.Socket, state: SharedState) {
    this.#socket = socket;
    this.#state = state;
    this.#framer = createFramer(state.framing);
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      try {
        socket.cork();
        this.#onData(chunk);
      } catch {
        // Never let a bad request escape a socket handler.
        this.#framer = createFramer(state.framing);
      } finally {
        socket.uncork();
      }
    });
    socket.once('close', () => this.dispose());
  }

  /** Stops the reply timer and forgets unsent replies. */
  dispose(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#queue.length = 0;
  }

  /**
   * Frames one chunk and answers what it completes. Replies are held until the
   * whole chunk is read, as the real server writes only once it has drained
   * its socket: a crash anywhere in the chunk loses them all.
   */
  #onData(chunk: Buffer): void {
    const state = this.#state;
    state.bytesReceived += chunk.length;
    const replies: Buffer[] = [];
    for (const event of this.#framer.push(chunk)) {
      switch (event.kind) {
        case 'violation':
          state.pipeliningViolations++;
          break;
        case 'error':
          state.requests++;
          if (state.answering) replies.push(encodeReply({ type: 'error', value: event.text }));
          break;
        case 'request':
          // Half-open: requests read while not answering are swallowed, never run.
          state.requests++;
          if (state.answering) replies.push(encodeReply(executeRequest(event.value, state.context)));
          break;
        case 'crash':
          if (!state.answering) {
            // A silent server runs nothing, so it cannot die: its buffer starts afresh instead.
            this.#framer = createFramer(state.framing);
            break;
          }
          state.crash(event.reason, event.bytes);
          return;
      }
    }
    for (const reply of replies) this.#send(reply);
  }

  /** Queues one reply: adds the dialect's terminator and applies the reply delay, keeping order. */
  #send(reply: Buffer): void {
    const bytes = this.#state.context.dialect === 'etx' ? Buffer.concat([reply, ETX_BYTE]) : reply;
    const delay = this.#state.delayMs;
    if (delay === 0 && this.#queue.length === 0) {
      this.#write(bytes);
      return;
    }
    const last = this.#queue.at(-1)?.at ?? 0;
    this.#queue.push({ at: Math.max(Date.now() + delay, last), bytes });
    this.#schedule();
  }

  #schedule(): void {
    if (this.#timer !== undefined || this.#queue.length === 0) return;
    const next = this.#queue[0] as { at: number };
    this.#timer = setTimeout(
      () => {
        this.#timer = undefined;
        this.#flush();
      },
      Math.max(0, next.at - Date.now()),
    );
  }

  #flush(): void {
    const now = Date.now();
    while (this.#queue.length > 0 && (this.#queue[0] as { at: number }).at <= now) {
      this.#write((this.#queue.shift() as { bytes: Buffer }).bytes);
    }
    this.#schedule();
  }

  #write(bytes: Buffer): void {
    if (this.#socket.destroyed || !this.#socket.writable) return;
    this.#socket.write(bytes);
  }
}
