/**
 * An in-memory {@link OpenTransport} for connection tests: no sockets, no
 * timers. The test plays the server: it decides what every connect attempt
 * does, reads what the client wrote (raw and decoded), pushes reply bytes,
 * and drops the socket.
 *
 * ```ts
 * const fake = new FakeTransport({ replyTerminator: true });
 * const connection = new Connection({ host: 'fake', port: 1, openTransport: fake.open });
 * await connection.connect();
 * const reply = connection.send(['ECHO', 'a']);
 * await new Promise((resolve) => setImmediate(resolve)); // let the client flush
 * fake.answer();                                          // or fake.reply('$1\r\na\r\n\x03')
 * expect(await reply).toBe('a');
 * ```
 */

import type { OpenTransport, Transport, TransportEvents, TransportOptions } from '../../src/connection/transport.js';
import { ConnectionError } from '../../src/errors.js';
import { WireDecoder } from '../../src/protocol/decoder.js';
import { ETX, type ServerGeneration } from '../../src/protocol/dialect.js';
import { HANDSHAKE_ANSWERS } from '../handshake-responder.js';
import { encodeWire } from '../../src/protocol/encoder.js';
import type { WireValue } from '../../src/protocol/values.js';

/** What one connect attempt does: open at once, fail at once, or wait for the test. */
export type ConnectOutcome = 'succeed' | 'fail' | 'hang';

/** Options of a {@link FakeTransport}. */
export interface FakeTransportOptions {
  /** Append 0x03 after every reply sent by {@link FakeTransport.answer} (as 'etx' servers do). Default true. */
  readonly replyTerminator?: boolean;
  /** What attempts do once {@link FakeTransport.outcomes} is used up. Default `'succeed'`. */
  readonly connectOutcome?: ConnectOutcome;
  /** Outcomes of the first attempts, one per attempt. */
  readonly outcomes?: Iterable<ConnectOutcome>;
  /** The reply {@link FakeTransport.answer} sends for a request. Default {@link defaultRespond}. */
  readonly respond?: (request: WireValue) => WireValue;
  /**
   * The server generation whose answers to the connect-time generation
   * handshake each socket gives by itself (its bytes are not recorded in
   * `writes`, `segments` or `requests`); `false`: the test answers it.
   * Default `'etx'` with `replyTerminator`, else `'etx-request'`.
   */
  readonly generation?: ServerGeneration | false;
}


/** One request as the fake server read it. */
export interface ReceivedRequest {
  /** The decoded request. */
  readonly value: WireValue;
  /** Its bulk-string parts as text, e.g. `['ECHO', 'r1']`. */
  readonly words: readonly string[];
  /** Index (in {@link FakeSocket.writes}) of the write call that completed it. */
  readonly writeIndex: number;
  /** Global sequence number of that write (see {@link FakeTransport.sequence}). */
  readonly sequence: number;
}

/** A bulk or simple string as text; anything else as a short tag. */
export function wireText(value: WireValue): string {
  switch (value.type) {
    case 'bulk':
      return value.value.toString('utf8');
    case 'simple':
    case 'error':
      return value.value;
    case 'integer':
      return String(value.value);
    default:
      return `<${value.type}>`;
  }
}

/**
 * The default fake server: `ECHO x` → bulk `x`; `PING` → `+PONG`;
 * `BOOM x` → `-ERR boom x`; anything else → `-ERR unknown command`.
 */
export function defaultRespond(request: WireValue): WireValue {
  const words = request.type === 'array' ? request.value.map(wireText) : [wireText(request)];
  const name = (words[0] ?? '').toUpperCase();
  if (name === 'ECHO' && words.length === 2) return { type: 'bulk', value: Buffer.from(words[1] as string, 'utf8') };
  if (name === 'PING') return { type: 'simple', value: 'PONG' };
  if (name === 'BOOM') return { type: 'error', value: `ERR boom ${words.slice(1).join(' ')}` };
  return { type: 'error', value: 'ERR unknown command' };
}

/** One connect attempt, as the fake saw it. */
export interface ConnectAttempt {
  /** 0-based number of the attempt. */
  readonly index: number;
  readonly options: TransportOptions;
  readonly signal: AbortSignal;
  /** `pending` while a `'hang'` attempt waits for the test. */
  state: 'pending' | 'opened' | 'failed' | 'aborted';
  /** The socket it opened. */
  socket: FakeSocket | undefined;
  /** Settle a pending attempt (used by {@link FakeTransport.completeConnect} / {@link FakeTransport.failConnect}). */
  settle: ((error?: Error) => void) | undefined;
}

/** The server side of one fake socket. */
export class FakeSocket {
  /** Every `write` call's bytes (copied), in order. */
  readonly writes: Buffer[] = [];
  /** What would leave as one TCP write: writes between `cork` and the matching `uncork` joined. */
  readonly segments: Buffer[] = [];
  /** Requests read from the client, in order. */
  readonly requests: ReceivedRequest[] = [];
  /** Replies sent to the client (whole values). */
  replies = 0;
  /** Most requests ever received and not yet answered at once (checked at every write). */
  maxOutstanding = 0;
  /** Write calls after the client destroyed the socket or the server dropped it (should stay 0). */
  writesAfterClose = 0;
  /** `open`; `destroyed` by the client; `dropped` by the server ({@link FakeTransport.drop}). */
  state: 'open' | 'destroyed' | 'dropped' = 'open';
  /** The transport handed to the client. */
  readonly transport: Transport;

  readonly #requestDecoder = new WireDecoder();
  readonly #replyDecoder = new WireDecoder();
  /** The handshake steps this socket still answers by itself. */
  #handshake: (readonly [request: Buffer, reply: string])[];
  #handshakeBytes = Buffer.alloc(0);
  #corked = 0;
  #corkedBytes: Buffer[] = [];

  constructor(
    readonly index: number,
    readonly events: TransportEvents,
    private readonly fake: FakeTransport,
  ) {
    this.#handshake = fake.generation === false ? [] : [...HANDSHAKE_ANSWERS[fake.generation]];
    this.transport = {
      write: (bytes) => this.#onWrite(bytes),
      cork: () => {
        this.#corked++;
      },
      uncork: () => {
        if (this.#corked === 0) return;
        if (--this.#corked === 0 && this.#corkedBytes.length > 0) {
          this.segments.push(Buffer.concat(this.#corkedBytes));
          this.#corkedBytes = [];
        }
      },
      destroy: () => {
        if (this.state === 'open') this.state = 'destroyed';
      },
    };
  }

  /** True while neither side has closed it. */
  get isOpen(): boolean {
    return this.state === 'open';
  }

  /** Requests received and not answered yet. */
  get outstanding(): number {
    return this.requests.length - this.replies;
  }

  #onWrite(bytes: Buffer): void {
    if (this.state !== 'open') {
      this.writesAfterClose++;
      return;
    }
    const step = this.#handshake[0];
    if (step !== undefined) {
      this.#handshakeBytes = Buffer.concat([this.#handshakeBytes, bytes]);
      if (this.#handshakeBytes.length < step[0].length) return;
      if (!this.#handshakeBytes.equals(step[0])) throw new Error(`fake: unexpected handshake bytes ${JSON.stringify(this.#handshakeBytes.toString('latin1'))}`);
      this.#handshake.shift();
      this.#handshakeBytes = Buffer.alloc(0);
      this.events.onData(Buffer.from(step[1], 'latin1'));
      return;
    }
    const copy = Buffer.from(bytes);
    const writeIndex = this.writes.length;
    this.writes.push(copy);
    const sequence = this.fake.nextSequence();
    if (this.#corked > 0) this.#corkedBytes.push(copy);
    else this.segments.push(copy);
    this.#requestDecoder.push(copy, (value) => {
      const words = value.type === 'array' ? value.value.map(wireText) : [wireText(value)];
      this.requests.push({ value, words, writeIndex, sequence });
    });
    this.maxOutstanding = Math.max(this.maxOutstanding, this.outstanding);
  }

  /** Sends bytes to the client as they are (split into `chunkSize` pieces when given). */
  reply(bytes: string | Buffer, chunkSize?: number): void {
    const buffer = typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes;
    try {
      this.#replyDecoder.push(buffer, () => {
        this.replies++;
      });
    } catch {
      // Garbage on purpose: it counts as no reply; start afresh after it.
      this.#replyDecoder.reset();
    }
    this.#deliver(buffer, chunkSize);
  }

  /**
   * Answers the `count` oldest unanswered requests with `respond` (the
   * fake's default when not given), in one chunk or in `chunkSize` pieces.
   * @returns how many requests were answered
   */
  answer(count = Number.POSITIVE_INFINITY, options: { readonly chunkSize?: number; readonly respond?: (request: WireValue) => WireValue } = {}): number {
    if (this.state !== 'open') return 0;
    const todo = this.requests.slice(this.replies, this.replies + Math.min(count, this.outstanding));
    if (todo.length === 0) return 0;
    const respond = options.respond ?? this.fake.respond;
    const parts: Buffer[] = [];
    for (const request of todo) {
      parts.push(encodeWire(respond(request.value)));
      if (this.fake.replyTerminator) parts.push(Buffer.from([ETX]));
    }
    // Count them before the client sees them: it may write again while reading them.
    this.replies += todo.length;
    this.#deliver(Buffer.concat(parts), options.chunkSize);
    return todo.length;
  }

  /** The server side closes the socket: the client's `onClose` runs with `error`. */
  drop(error: Error = new ConnectionError('fake: the server dropped the connection')): void {
    if (this.state !== 'open') return;
    this.state = 'dropped';
    this.events.onClose(error);
  }

  #deliver(buffer: Buffer, chunkSize: number | undefined): void {
    const size = chunkSize === undefined || chunkSize <= 0 ? buffer.length : chunkSize;
    for (let at = 0; at < buffer.length; at += size) {
      // A real socket delivers nothing after it was destroyed.
      if (this.state !== 'open') return;
      this.events.onData(buffer.subarray(at, at + size));
    }
  }
}

/** An in-memory transport factory; pass {@link FakeTransport.open} as `openTransport`. */
export class FakeTransport {
  /** Every socket opened, oldest first. */
  readonly sockets: FakeSocket[] = [];
  /** Every connect attempt, oldest first. */
  readonly attempts: ConnectAttempt[] = [];
  /** Outcomes of the next attempts, one used per attempt; then {@link connectOutcome}. */
  readonly outcomes: ConnectOutcome[];
  /** What attempts do once {@link outcomes} is used up. */
  connectOutcome: ConnectOutcome;
  /** Append 0x03 after every reply of {@link answer}. */
  replyTerminator: boolean;
  /** The reply to a request, for {@link answer}. */
  respond: (request: WireValue) => WireValue;
  /** The generation whose handshake answers each socket gives by itself; `false`: none. */
  generation: ServerGeneration | false;

  #sequence = 0;

  constructor(options: FakeTransportOptions = {}) {
    this.replyTerminator = options.replyTerminator ?? true;
    this.connectOutcome = options.connectOutcome ?? 'succeed';
    this.outcomes = [...(options.outcomes ?? [])];
    this.respond = options.respond ?? defaultRespond;
    this.generation = options.generation ?? (this.replyTerminator ? 'etx' : 'etx-request');
  }

  /** A counter shared by every socket write and by {@link nextSequence} callers (tests stamp events with it). */
  get sequence(): number {
    return this.#sequence;
  }

  /** Takes the next global sequence number. */
  nextSequence(): number {
    return ++this.#sequence;
  }

  /** The `OpenTransport` to give the connection. */
  readonly open: OpenTransport = (options, events, signal) => {
    const attempt: ConnectAttempt = {
      index: this.attempts.length,
      options,
      signal,
      state: 'pending',
      socket: undefined,
      settle: undefined,
    };
    this.attempts.push(attempt);
    return new Promise<Transport>((resolve, reject) => {
      const onAbort = (): void => {
        if (attempt.state !== 'pending') return;
        attempt.state = 'aborted';
        attempt.settle = undefined;
        reject(new ConnectionError('fake: connect aborted', { cause: signal.reason }));
      };
      attempt.settle = (error) => {
        if (attempt.state !== 'pending') return;
        signal.removeEventListener('abort', onAbort);
        attempt.settle = undefined;
        if (error !== undefined) {
          attempt.state = 'failed';
          reject(error);
          return;
        }
        attempt.state = 'opened';
        const socket = new FakeSocket(this.sockets.length, events, this);
        this.sockets.push(socket);
        attempt.socket = socket;
        resolve(socket.transport);
      };
      if (signal.aborted) {
        onAbort();
        return;
      }
      signal.addEventListener('abort', onAbort, { once: true });
      const outcome = this.outcomes.shift() ?? this.connectOutcome;
      if (outcome === 'succeed') attempt.settle();
      else if (outcome === 'fail') attempt.settle(new ConnectionError(`fake: cannot connect to ${options.host}:${options.port}`));
    });
  };

  /** The newest socket, when it is still open. */
  get socket(): FakeSocket | undefined {
    const last = this.sockets.at(-1);
    return last?.isOpen === true ? last : undefined;
  }

  /** Attempts still waiting for {@link completeConnect} / {@link failConnect}. */
  get hanging(): ConnectAttempt[] {
    return this.attempts.filter((attempt) => attempt.state === 'pending');
  }

  /** Opens the oldest hanging attempt; false when none hangs. */
  completeConnect(): boolean {
    const attempt = this.hanging[0];
    if (attempt?.settle === undefined) return false;
    attempt.settle();
    return true;
  }

  /** Fails the oldest hanging attempt; false when none hangs. */
  failConnect(error: Error = new ConnectionError('fake: connection refused')): boolean {
    const attempt = this.hanging[0];
    if (attempt?.settle === undefined) return false;
    attempt.settle(error);
    return true;
  }

  /** Sends raw bytes on the current socket (no-op without one). */
  reply(bytes: string | Buffer, chunkSize?: number): void {
    this.socket?.reply(bytes, chunkSize);
  }

  /** {@link FakeSocket.answer} on the current socket; 0 without one. */
  answer(count?: number, options?: Parameters<FakeSocket['answer']>[1]): number {
    return this.socket?.answer(count, options) ?? 0;
  }

  /** Drops the current socket (no-op without one). */
  drop(error?: Error): void {
    this.socket?.drop(error);
  }

  /** Every request received on any socket, in order. */
  get requests(): ReceivedRequest[] {
    return this.sockets.flatMap((socket) => socket.requests);
  }
}
