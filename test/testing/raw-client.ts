/**
 * A tiny raw client for the embedded server's tests: it writes hand-built
 * request bytes and cuts the reply bytes apart, nothing more.
 */
import * as net from 'node:net';
import { expect } from 'vitest';
import { decodeWire } from '../../src/protocol/decoder.js';
import type { DialectName } from '../../src/protocol/dialect.js';
import type { ZCachedServer } from '../../src/testing/server.js';
import { sleep } from '../support.js';

/** `$<n>\r\n<text>\r\n` with the true byte length. */
export const bulk = (text: string): string => `$${Buffer.byteLength(text)}\r\n${text}\r\n`;
/** `*<n>\r\n` followed by the elements. */
export const arr = (...elements: string[]): string => `*${elements.length}\r\n${elements.join('')}`;
/** A command made of bulk strings. */
export const cmd = (...args: string[]): string => arr(...args.map(bulk));

/** A raw socket that knows just enough framing to cut replies apart. */
export class RawClient {
  readonly socket: net.Socket;
  readonly dialect: DialectName;
  readonly closed: Promise<void>;
  #buf = Buffer.alloc(0);
  #wake: (() => void) | undefined;

  constructor(socket: net.Socket, dialect: DialectName) {
    this.socket = socket;
    this.dialect = dialect;
    socket.on('data', (chunk: Buffer) => {
      this.#buf = Buffer.concat([this.#buf, chunk]);
      this.#wake?.();
    });
    socket.on('error', () => undefined);
    this.closed = new Promise((resolve) =>
      socket.once('close', () => {
        this.#wake?.();
        resolve();
      }),
    );
  }

  static connect(server: ZCachedServer): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host: server.host, port: server.port }, () => {
        socket.off('error', reject);
        resolve(new RawClient(socket, server.dialect));
      });
      socket.once('error', reject);
    });
  }

  /** Bytes received and not yet taken as replies. */
  get pending(): Buffer {
    return this.#buf;
  }

  /** Writes raw bytes, nothing added. */
  write(data: string | Buffer): void {
    this.socket.write(data);
  }

  /** Writes one request, adding the 0x03 terminator when the dialect wants one. */
  send(request: string | Buffer): void {
    const bytes = Buffer.isBuffer(request) ? request : Buffer.from(request);
    this.write(this.dialect === 'legacy' ? bytes : Buffer.concat([bytes, Buffer.from([3])]));
  }

  /** Sends one request and returns its raw reply, final CRLF removed. */
  call(request: string | Buffer): Promise<string> {
    this.send(request);
    return this.reply();
  }

  /** Sends one request and returns its exact reply bytes (final CRLF and, in 'etx', the 0x03 included) as latin1. */
  async exchange(request: string | Buffer): Promise<string> {
    this.send(request);
    return (await this.rawReply()).toString('latin1');
  }

  /** Sends a command made of bulk strings. */
  command(...args: string[]): Promise<string> {
    return this.call(cmd(...args));
  }

  /** The next raw reply (final CRLF removed); checks and drops the 0x03 after it in 'etx'. */
  async reply(timeoutMs = 5000): Promise<string> {
    const raw = await this.rawReply(timeoutMs);
    const end = raw.length - (this.dialect === 'etx' ? 1 : 0) - 2;
    return raw.subarray(0, end).toString();
  }

  /** The next reply's exact bytes, its 0x03 included in 'etx' (checked to be there). */
  async rawReply(timeoutMs = 5000): Promise<Buffer> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const decoded = this.#buf.length === 0 ? undefined : decodeWire(this.#buf);
      const etx = this.dialect === 'etx';
      if (decoded !== undefined && (!etx || this.#buf.length > decoded.end)) {
        if (etx && this.#buf[decoded.end] !== 3) throw new Error('reply not followed by 0x03');
        const size = decoded.end + (etx ? 1 : 0);
        const raw = Buffer.from(this.#buf.subarray(0, size));
        this.#buf = this.#buf.subarray(size);
        return raw;
      }
      if (this.socket.destroyed) throw new Error(`socket closed before a reply; have ${JSON.stringify(this.#buf.toString('latin1'))}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no reply within ${timeoutMs} ms; have ${JSON.stringify(this.#buf.toString('latin1'))}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#wake = undefined;
    }
  }

  /** Asserts that nothing arrives for `ms` milliseconds. */
  async silence(ms: number): Promise<void> {
    await sleep(ms);
    expect(this.#buf.toString()).toBe('');
  }

  destroy(): void {
    this.socket.destroy();
  }
}
