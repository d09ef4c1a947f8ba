/**
 * The connect-time handshake that finds which generation of zcached server
 * a socket reached, before any user request is written (protocol
 * reference, "Telling the generations apart").
 *
 * Every step is a request that every generation still in question answers,
 * written only after the previous reply has arrived, so the outcome does
 * not depend on timing (a slow server is never taken for another one), and
 * each verdict is confirmed by a framing fact only that generation has:
 *
 * 1. `ECHO <token>` + 0x03. A 2024 server has no ECHO: it answers
 *    `-ERR unknown command 'ECHO'` (and drops the 0x03 that followed in the
 *    same read). The 2025 and current servers echo the token.
 * 2. 2024 branch: `PING` WITHOUT 0x03. Only a 2024 server answers a request
 *    with no 0x03 (`+PONG`): this confirms it. Should a 0x03 of step 1 have
 *    reached it in a read of its own, it waits in the server's buffer and
 *    this PING gets `-ERR bad request` (which empties it): the PING is then
 *    sent once more, and must get `+PONG`.
 * 3. Otherwise: `PING` + 0x03. The byte after the echoed token tells: 0x03
 *    is a current server (its replies end with 0x03; the `+PONG` must end so
 *    too). A `+PONG` with no 0x03 before it is a 2025 server, or a 2024
 *    build that knows ECHO: a lone 0x03 then settles it, as only a 2025
 *    server answers it (`-ERR bad request`, an empty request); a 2024 server
 *    would keep it and answer nothing, and the attempt times out (it is
 *    never taken for a 2025 one).
 *
 * No request is malformed (the current server dies on some malformed
 * requests); the current server sees only ECHO and PING.
 *
 * Anything else — another reply, an extra byte, bytes that are no RESP —
 * is a {@link ServerGenerationError} naming what came back.
 *
 * {@link GenerationProbe} is pure (bytes in, bytes out), so tests can feed
 * it any split of any reply stream; `connection-lifecycle.ts` runs it on
 * each new socket.
 *
 * @module
 */

import { ProtocolError, ServerGenerationError } from '../errors.js';
import { decodeWire } from '../protocol/decoder.js';
import { ETX, type ServerGeneration } from '../protocol/dialect.js';
import type { WireValue } from '../protocol/values.js';

/** The token the handshake's ECHO sends (and every newer server echoes). */
export const PROBE_TOKEN = 'zcached-generation-probe';

const ECHO_REQUEST = Buffer.from(`*2\r\n$4\r\nECHO\r\n$${PROBE_TOKEN.length}\r\n${PROBE_TOKEN}\r\n\x03`, 'latin1');
const PING_PLAIN = Buffer.from('*1\r\n$4\r\nPING\r\n', 'latin1');
const PING_ETX = Buffer.from('*1\r\n$4\r\nPING\r\n\x03', 'latin1');
const LONE_ETX = Buffer.from([ETX]);

/** The bytes of the handshake's requests, in the order they may be written (for tests and fakes). */
export const PROBE_REQUESTS = Object.freeze({ echo: ECHO_REQUEST, pingPlain: PING_PLAIN, pingEtx: PING_ETX, loneEtx: LONE_ETX });

/** How many received bytes an error message shows. */
const SHOWN_BYTES = 120;

/**
 * What the handshake waits for:
 * - `echo`: the reply to ECHO;
 * - `newer-pong`: after the echoed token, 0x03 (current) or `+PONG` (2025);
 * - `current-pong`: a current server's `+PONG`, then its 0x03;
 * - `current-etx`: the 0x03 after it;
 * - `empty-request`: a 2025 server's `-ERR bad request` to the lone 0x03;
 * - `plain-pong`, `plain-pong-again`: a 2024 server's `+PONG` to PING without 0x03.
 */
type Stage = 'echo' | 'newer-pong' | 'current-pong' | 'current-etx' | 'empty-request' | 'plain-pong' | 'plain-pong-again' | 'done';

/** What one step of the handshake asks of the connection. */
export type ProbeStep =
  /** Write these bytes, then feed the replies. */
  | { readonly write: Buffer }
  /** Wait for more bytes. */
  | { readonly wait: true }
  /** The server's generation, confirmed; nothing of the handshake is left unanswered. */
  | { readonly generation: ServerGeneration };

/** The handshake of one socket, as a pure state machine over the bytes it reads. */
export class GenerationProbe {
  #stage: Stage = 'echo';
  #buf: Buffer = Buffer.alloc(0);
  /** Everything received, up to {@link SHOWN_BYTES}, for messages. */
  #received: Buffer[] = [];
  #receivedLength = 0;
  /** The server's address, for messages. */
  readonly #address: string;

  constructor(address: string) {
    this.#address = address;
  }

  /** The first bytes to write. */
  start(): Buffer {
    return ECHO_REQUEST;
  }

  /** What the handshake is waiting for, in words (for a timeout's message). */
  get waitingFor(): string {
    switch (this.#stage) {
      case 'echo':
        return 'the reply to ECHO';
      case 'newer-pong':
      case 'current-pong':
      case 'plain-pong':
      case 'plain-pong-again':
        return 'the reply to PING';
      case 'current-etx':
        return 'the 0x03 after +PONG';
      case 'empty-request':
        return 'the reply to a lone 0x03';
      case 'done':
        return 'nothing';
    }
  }

  /** The bytes received so far, escaped (`+PONG\r\n\x03`). */
  get received(): string {
    return escapeBytes(Buffer.concat(this.#received, this.#receivedLength));
  }

  /**
   * Feeds bytes the server sent.
   * @returns what to do next: write, wait, or the generation found
   * @throws ServerGenerationError when the bytes fit no generation
   */
  push(chunk: Buffer): ProbeStep {
    if (this.#stage === 'done') throw this.#unexpected('sent bytes after the handshake ended');
    if (this.#receivedLength < SHOWN_BYTES) {
      this.#received.push(chunk.subarray(0, SHOWN_BYTES - this.#receivedLength));
      this.#receivedLength = Math.min(SHOWN_BYTES, this.#receivedLength + chunk.length);
    }
    this.#buf = this.#buf.length === 0 ? chunk : Buffer.concat([this.#buf, chunk]);
    return this.#advance();
  }

  #advance(): ProbeStep {
    switch (this.#stage) {
      case 'echo': {
        const reply = this.#reply();
        if (reply === undefined) return WAIT;
        if (reply.type === 'bulk' && reply.value.toString('latin1') === PROBE_TOKEN) {
          this.#stage = 'newer-pong';
          return { write: PING_ETX };
        }
        if (reply.type === 'error' && reply.value === "ERR unknown command 'ECHO'") {
          this.#expectNothingMore('after its reply to ECHO');
          this.#stage = 'plain-pong';
          return { write: PING_PLAIN };
        }
        if (reply.type === 'error' && reply.value === 'ERR bad request') {
          throw this.#unexpected(
            'answered ECHO with the error "-ERR bad request", as a 2024 server does when a request reaches it in pieces (does something on the path split small writes?)',
          );
        }
        throw this.#unexpected(`answered ECHO with ${describe(reply)}`);
      }
      case 'newer-pong': {
        if (this.#buf.length === 0) return WAIT;
        if (this.#buf[0] === ETX) {
          this.#buf = this.#buf.subarray(1);
          this.#stage = 'current-pong';
          return this.#advance();
        }
        const reply = this.#reply();
        if (reply === undefined) return WAIT;
        if (!isPong(reply)) throw this.#unexpected(`answered PING with ${describe(reply)}`);
        this.#expectNothingMore('after its reply to PING');
        this.#stage = 'empty-request';
        return { write: LONE_ETX };
      }
      case 'current-pong': {
        const reply = this.#reply();
        if (reply === undefined) return WAIT;
        if (!isPong(reply)) throw this.#unexpected(`answered PING with ${describe(reply)}`);
        this.#stage = 'current-etx';
        return this.#advance();
      }
      case 'current-etx':
        if (this.#buf.length === 0) return WAIT;
        if (this.#buf[0] !== ETX) throw this.#unexpected('ended its reply to ECHO with 0x03 but not its reply to PING');
        this.#buf = this.#buf.subarray(1);
        return this.#found('etx');
      case 'empty-request': {
        const reply = this.#reply();
        if (reply === undefined) return WAIT;
        if (reply.type !== 'error' || reply.value !== 'ERR bad request') throw this.#unexpected(`answered a lone 0x03 with ${describe(reply)}`);
        return this.#found('etx-request');
      }
      case 'plain-pong':
      case 'plain-pong-again': {
        const reply = this.#reply();
        if (reply === undefined) return WAIT;
        if (isPong(reply)) return this.#found('legacy');
        if (this.#stage === 'plain-pong' && reply.type === 'error' && reply.value === 'ERR bad request') {
          // The 0x03 after ECHO reached the server alone and waited in its buffer; that reply emptied it.
          this.#expectNothingMore('after its reply to PING');
          this.#stage = 'plain-pong-again';
          return { write: PING_PLAIN };
        }
        throw this.#unexpected(`answered PING (without 0x03) with ${describe(reply)}`);
      }
      case 'done':
        throw this.#unexpected('sent bytes after the handshake ended');
    }
  }

  #found(generation: ServerGeneration): ProbeStep {
    this.#expectNothingMore('after the handshake');
    this.#stage = 'done';
    return { generation };
  }

  /** Takes one whole reply off the buffer, or `undefined` until it has arrived. */
  #reply(): WireValue | undefined {
    let decoded: ReturnType<typeof decodeWire>;
    try {
      decoded = decodeWire(this.#buf);
    } catch (error) {
      // The decoder's words go into the message; no cause, so that this error is the root cause shown.
      throw this.#unexpected(`answered the handshake with bytes that are no zcached reply (${error instanceof ProtocolError ? error.message : String(error)})`);
    }
    if (decoded === undefined) return undefined;
    this.#buf = this.#buf.subarray(decoded.end);
    return decoded.value;
  }

  #expectNothingMore(when: string): void {
    if (this.#buf.length > 0) throw this.#unexpected(`sent more than one reply ${when}`);
  }

  #unexpected(what: string): ServerGenerationError {
    const received = this.received;
    return new ServerGenerationError(
      `the server at ${this.#address} ${what}, which no zcached generation does: is it a zcached server? (received: ${received === '' ? 'nothing' : received})`,
      { received },
    );
  }
}

const WAIT: ProbeStep = Object.freeze({ wait: true as const });

function isPong(reply: WireValue): boolean {
  return reply.type === 'simple' && reply.value === 'PONG';
}

function describe(reply: WireValue): string {
  switch (reply.type) {
    case 'error':
      return `the error ${JSON.stringify(`-${reply.value}`)}`;
    case 'simple':
      return `${JSON.stringify(`+${reply.value}`)}`;
    case 'bulk':
      return `the string ${JSON.stringify(reply.value.toString('utf8').slice(0, 40))}`;
    default:
      return `a reply of type ${reply.type}`;
  }
}

/** Bytes as text with CR, LF, 0x03 and other control or non-ASCII bytes escaped. */
export function escapeBytes(bytes: Buffer): string {
  let text = '';
  for (const byte of bytes) {
    if (byte === 0x0d) text += '\\r';
    else if (byte === 0x0a) text += '\\n';
    else if (byte === 0x5c) text += '\\\\';
    else if (byte >= 0x20 && byte < 0x7f) text += String.fromCharCode(byte);
    else text += `\\x${byte.toString(16).padStart(2, '0')}`;
  }
  return text;
}
