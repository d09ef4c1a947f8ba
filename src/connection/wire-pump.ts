/**
 * The bytes of one connection, both ways, in plain code on the hot path:
 * when the waiting requests are written (one write per turn), and how the
 * reply stream is read and decoded
 * (a large read in two turns, read-split.ts). `Connection` owns one and
 * wires it to its lifecycle; nothing here knows about states or the
 * machine beyond "connected" and "broken".
 *
 * @module
 */

import { ProtocolError, ZCachedError } from '../errors.js';
import type { ReplyDecoder } from '../protocol/decoder.js';
import type { DecodedReply } from '../protocol/values.js';
import { ReadSplit } from './read-split.js';
import type { RequestQueue } from './requests.js';
import type { Transport } from './transport.js';

/** What the pump asks of its connection. */
export interface PumpHost {
  /** True while the connection is `connected`. */
  connected(): boolean;
  /** True when the dialect in use pipelines. */
  pipelining(): boolean;
  /** The reply stream can no longer be trusted: break the connection. */
  broken(error: Error): void;
}

/** Writes and reads of one connection (see the module comment). */
export class WirePump {
  /** The socket in use while connected. */
  transport: Transport | undefined;
  /** `performance.now()` of the last write or read. */
  lastActivity = 0;
  readonly #requests: RequestQueue;
  readonly #decoder: ReplyDecoder;
  readonly #host: PumpHost;
  /** A flush is scheduled for this turn (as an immediate, or as a microtask on an idle connection). */
  #flushScheduled = false;
  #flushImmediate: NodeJS.Immediate | undefined;
  /** A large read is decoded in two turns, so that the client and the server overlap. */
  readonly #split = new ReadSplit(() => this.#onSecondPart());

  constructor(requests: RequestQueue, decoder: ReplyDecoder, host: PumpHost) {
    this.#requests = requests;
    this.#decoder = decoder;
    this.#host = host;
  }

  /**
   * Schedules a flush, one socket write per turn. An idle connection
   * flushes at the end of the current task (a microtask), so a lone request
   * leaves at once; a busy one waits for the end of the event-loop turn (an
   * immediate), so that every request issued in reaction to a batch of
   * replies shares one write.
   */
  flushSoon(): void {
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    if (this.#requests.onTheWire === 0) queueMicrotask(this.#flushNow);
    else this.#flushImmediate = setImmediate(this.#flushNow);
  }

  /** Drops a scheduled flush (the socket is gone). */
  cancelFlush(): void {
    if (this.#flushImmediate !== undefined) clearImmediate(this.#flushImmediate);
    this.#flushImmediate = undefined;
    this.#flushScheduled = false;
  }

  /** A new socket is in use: the reply stream starts afresh. */
  attach(transport: Transport): void {
    this.#decoder.reset();
    this.transport = transport;
  }

  /**
   * The socket is gone (destroyed here). Replies read from it and not
   * decoded yet (the second part of a split read) settle their requests
   * first: they arrived before the socket went.
   */
  detach(): void {
    this.settleRead();
    const transport = this.transport;
    this.transport = undefined;
    transport?.destroy();
    this.#split.clear();
    this.#decoder.reset();
  }

  /** Decodes what was read and not decoded yet (the second part of a split read): call before the connection breaks. */
  settleRead(): void {
    if (this.#split.deferred !== undefined) this.#decode(this.#split.take());
  }

  /** Bytes read from transport `from` (ignored unless it is the one in use). */
  readonly onData = (from: Transport, chunk: Buffer): void => {
    if (from !== this.transport) return;
    this.lastActivity = performance.now();
    if (this.#split.deferred !== undefined) this.#decode(this.#split.take());
    this.#decode(this.#split.firstPart(chunk, this.#requests.onTheWire));
  };

  readonly #flushNow = (): void => {
    if (!this.#flushScheduled) return;
    this.#flushScheduled = false;
    this.#flushImmediate = undefined;
    const transport = this.transport;
    if (transport === undefined || !this.#host.connected()) return;
    this.lastActivity = performance.now();
    this.#requests.flush(transport);
  };

  /** Decodes bytes of the reply stream, settling the requests they answer. */
  #decode(chunk: Buffer): void {
    try {
      this.#decoder.push(chunk, this.#onReply);
    } catch (error) {
      const cause = error instanceof ZCachedError ? error : new ProtocolError('cannot decode the reply stream', { cause: error });
      this.#split.clear(); // the stream is out of step: nothing after this is decoded
      this.#host.broken(cause);
      return;
    }
    // The send policy held requests back until replies freed room: write them now.
    if (this.#requests.held && this.transport !== undefined && this.#host.connected()) this.#requests.flush(this.transport);
  }

  /** The second part of a split read, one turn later: first the requests the first part's replies gave rise to go out. */
  #onSecondPart(): void {
    if (this.#flushScheduled) {
      if (this.#flushImmediate !== undefined) clearImmediate(this.#flushImmediate);
      this.#flushNow();
    }
    this.settleRead();
  }

  readonly #onReply = (reply: DecodedReply): void => {
    if (!this.#requests.deliver(reply)) {
      throw new ProtocolError('the server sent a reply nobody asked for; the stream is out of step');
    }
    if (!this.#host.pipelining() && this.transport !== undefined) this.#requests.flush(this.transport);
  };
}
