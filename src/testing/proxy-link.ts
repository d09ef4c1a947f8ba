/**
 * One direction of one proxied connection, for the fault proxy
 * (`proxy.ts`): bytes queued, delayed, throttled, held or resegmented as the
 * direction's settings say, and delivered in order.
 *
 * @module
 */

import type * as net from 'node:net';
import type { CutMode } from './proxy.js';

/** A link holding this many bytes pauses the socket it reads from. */
const HIGH_WATER_BYTES = 1024 * 1024;
/** ... and resumes it below this many. */
const LOW_WATER_BYTES = 256 * 1024;
/** With a bandwidth limit, bytes leave in slices of at most this many milliseconds' worth. */
const SLICE_MS = 10;
/**
 * A reset that reaches the peer before it has read the bytes just written
 * is reported there (on Linux) as end-of-stream, not `ECONNRESET`: a link
 * sends its reset this long after its last write.
 */
const RESET_AFTER_WRITE_MS = 5;

/** The fault settings of one direction, shared by every link of that direction. */
export interface DirectionSettings {
  latencyMs: number;
  bytesPerSecond: number | undefined;
  held: boolean;
  /** {@link FaultProxy.resegment}: the largest piece, and the cut points' random source. */
  segmentBytes: number | undefined;
  random: () => number;
}

/** Something a link delivers in order: bytes, or the end of the stream. */
export type LinkItem =
  | { readonly kind: 'data'; bytes: Buffer; readonly readyAt: number; readonly piece?: boolean }
  | { readonly kind: 'end'; readonly mode: CutMode; readonly readyAt: number };

/**
 * One direction of one proxied connection: bytes read from `source` are
 * queued, delayed, throttled or held as the direction's settings say, and
 * written to `sink` in order.
 */
export class Link {
  readonly #source: net.Socket;
  readonly #sink: net.Socket;
  readonly #settings: DirectionSettings;
  readonly #onForwarded: (bytes: number) => void;
  readonly #queue: LinkItem[] = [];
  #queuedBytes = 0;
  #timer: NodeJS.Timeout | undefined;
  /** The turn-by-turn wait for a delay shorter than a timer can keep (under 1 ms). */
  #spin: NodeJS.Immediate | undefined;
  /** Resegmenting: the next piece leaves on the next event-loop turn. */
  #immediate: NodeJS.Immediate | undefined;
  /** `performance.now()` time the (throttled) link is free again. */
  #freeAt = 0;
  /** Nothing more is accepted or delivered. */
  #dead = false;
  /** `performance.now()` time of the last write to the sink. */
  #lastWriteAt = -Infinity;

  constructor(source: net.Socket, sink: net.Socket, settings: DirectionSettings, onForwarded: (bytes: number) => void) {
    this.#source = source;
    this.#sink = sink;
    this.#settings = settings;
    this.#onForwarded = onForwarded;
    sink.on('drain', () => this.pump());
  }

  /** Queues bytes read from the source (in random pieces, when resegmenting). */
  push(bytes: Buffer): void {
    if (this.#dead || bytes.length === 0) return;
    const { segmentBytes, random } = this.#settings;
    const readyAt = this.#readyAt();
    if (segmentBytes === undefined || bytes.length <= segmentBytes) {
      this.#queue.push({ kind: 'data', bytes, readyAt });
    } else {
      for (let at = 0; at < bytes.length; ) {
        const piece = 1 + Math.floor(random() * segmentBytes);
        this.#queue.push({ kind: 'data', bytes: bytes.subarray(at, at + piece), readyAt, piece: true });
        at += piece;
      }
    }
    this.#queuedBytes += bytes.length;
    this.pump();
  }

  /** Queues the end of the stream: the sink is ended (or reset) once every queued byte is out. */
  end(mode: CutMode): void {
    if (this.#dead) return;
    this.#queue.push({ kind: 'end', mode, readyAt: this.#readyAt() });
    this.pump();
  }

  /** Drops whatever is queued and delivers nothing more. */
  kill(): void {
    this.#dead = true;
    this.#queue.length = 0;
    this.#queuedBytes = 0;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#spin !== undefined) clearImmediate(this.#spin);
    this.#spin = undefined;
    if (this.#immediate !== undefined) clearImmediate(this.#immediate);
    this.#immediate = undefined;
    // Keep reading (and discarding), so the source still sees its peer's end.
    if (this.#source.isPaused()) this.#source.resume();
  }

  /** When bytes read now may leave: after the latency, and never before what was read earlier. */
  #readyAt(): number {
    const at = performance.now() + this.#settings.latencyMs;
    const last = this.#queue.at(-1);
    return last === undefined ? at : Math.max(at, last.readyAt);
  }

  /** Delivers what the settings allow now, and schedules the rest. Call again whenever a setting changes. */
  pump(): void {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    if (this.#spin !== undefined) {
      clearImmediate(this.#spin);
      this.#spin = undefined;
    }
    if (this.#dead) return;
    if (this.#settings.held) {
      this.#applyBackpressure();
      return;
    }
    for (;;) {
      const item = this.#queue[0];
      if (item === undefined) break;
      if (this.#sink.destroyed) {
        this.kill();
        return;
      }
      const now = performance.now();
      const wait = this.#earliest(item) - now;
      if (wait > 0) {
        this.#schedule(wait);
        break;
      }
      if (item.kind === 'end') {
        this.#queue.shift();
        this.#dead = true;
        if (item.mode === 'rst') resetSocket(this.#sink);
        else this.#sink.end();
        return;
      }
      if (this.#sink.writableNeedDrain) break; // 'drain' pumps again
      this.#write(item, now);
      if (item.piece === true && this.#queue[0]?.kind === 'data' && this.#immediate === undefined) {
        // One piece per turn, so that the receiver can read between them.
        this.#immediate = setImmediate(() => {
          this.#immediate = undefined;
          this.pump();
        });
        break;
      }
    }
    this.#applyBackpressure();
  }

  /** When `item` may leave: after its latency, once a throttled link is free, and a reset not right behind data. */
  #earliest(item: LinkItem): number {
    let at = item.readyAt;
    if (this.#settings.bytesPerSecond !== undefined) at = Math.max(at, this.#freeAt);
    if (item.kind === 'end' && item.mode === 'rst') at = Math.max(at, this.#lastWriteAt + RESET_AFTER_WRITE_MS);
    return at;
  }

  /** Pauses the source while the link holds too much, as a full TCP window would; resumes it once drained. */
  #applyBackpressure(): void {
    if (this.#queuedBytes >= HIGH_WATER_BYTES) this.#source.pause();
    else if (this.#queuedBytes < LOW_WATER_BYTES && this.#source.isPaused()) this.#source.resume();
  }

  /** Writes the head item, or a slice of it when the link is throttled. */
  #write(item: LinkItem & { kind: 'data' }, now: number): void {
    const rate = this.#settings.bytesPerSecond;
    let bytes = item.bytes;
    if (rate === undefined) {
      this.#queue.shift();
    } else {
      const slice = Math.max(1, Math.floor((rate * SLICE_MS) / 1000));
      if (bytes.length > slice) {
        item.bytes = bytes.subarray(slice);
        bytes = bytes.subarray(0, slice);
      } else {
        this.#queue.shift();
      }
      this.#freeAt = Math.max(now, this.#freeAt) + (bytes.length * 1000) / rate;
    }
    this.#queuedBytes -= bytes.length;
    this.#onForwarded(bytes.length);
    this.#lastWriteAt = now;
    this.#sink.write(bytes);
  }

  /**
   * Pumps again in `ms` (> 0). Timers count whole milliseconds and fire late
   * rather than early, so a timer covers the whole milliseconds and the rest
   * (under 1 ms: a 0.25 ms latency) is waited out turn by turn with
   * `setImmediate`, which keeps the process busy for that fraction.
   * Without this a 0.25 ms latency took 1 ms or more.
   */
  #schedule(ms: number): void {
    if (ms >= 1) {
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        this.pump();
      }, Math.floor(ms));
    } else {
      this.#spin = setImmediate(() => {
        this.#spin = undefined;
        this.pump();
      });
    }
  }
}

/**
 * Resets a socket, or destroys it when it cannot be reset (already closed,
 * not a TCP socket, or its `end()` still in flight: Node's reset then fails
 * with EINVAL, the socket never emits 'close' and its handle is never freed,
 * so a proxy waiting for it would never close; its FIN is on its way anyway).
 */
export function resetSocket(socket: net.Socket): void {
  if (socket.destroyed) return;
  if (socket.writableEnded && !socket.writableFinished) {
    socket.destroy();
    return;
  }
  try {
    socket.resetAndDestroy();
  } catch {
    socket.destroy();
  }
}
