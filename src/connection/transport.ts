/**
 * The effect layer under a connection: opens a TCP or TLS socket and hands
 * its bytes and its end to plain callbacks. Nothing else in the library
 * touches `net` or `tls`.
 *
 * @module
 */

import * as net from 'node:net';
import * as tls from 'node:tls';
import { ConnectionError } from '../errors.js';
import type { RequestSink } from './requests.js';
import { rootCauseText } from './root-cause.js';
import { formatAddress } from './address.js';

/** TLS settings: `true` for defaults, or Node's `tls.connect` options. */
export type TlsSetting = boolean | tls.ConnectionOptions;

/** Where and how to open a socket. */
export interface TransportOptions {
  readonly host: string;
  readonly port: number;
  readonly tls?: TlsSetting | undefined;
  /** Interval of TCP keep-alive probes, in ms. */
  readonly keepAliveDelay?: number | undefined;
}

/** What a transport reports back. */
export interface TransportEvents {
  /** Bytes arrived. */
  readonly onData: (chunk: Buffer) => void;
  /** The socket is gone; `error` says why when it did not end cleanly. Called once. */
  readonly onClose: (error: Error) => void;
  /**
   * TLS only: the TCP connection is up and the TLS handshake starts. Lets
   * a connect timeout say which of the two stalled. Optional: a replacement transport need not call it.
   */
  readonly onTlsHandshake?: (() => void) | undefined;
}

/** An open socket, as the connection sees it. */
export interface Transport extends RequestSink {
  /** Destroys the socket at once. `onClose` is not called after this. */
  destroy(): void;
}

/** The signature of {@link openTransport}, for a replacement (another stream, or an in-memory fake). */
export type OpenTransport = (options: TransportOptions, events: TransportEvents, signal: AbortSignal) => Promise<Transport>;

/**
 * Opens a socket and resolves once it is connected (for TLS: once the
 * handshake is done). Aborting `signal` destroys it and rejects.
 */
export function openTransport(options: TransportOptions, events: TransportEvents, signal: AbortSignal): Promise<Transport> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(new ConnectionError('connect aborted', { cause: signal.reason }));
      return;
    }
    const secure = options.tls !== undefined && options.tls !== false;
    const socket: net.Socket = secure
      ? tls.connect({
          host: options.host,
          port: options.port,
          servername: net.isIP(options.host) === 0 ? options.host : undefined,
          ...(options.tls === true ? {} : (options.tls as tls.ConnectionOptions)),
        })
      : net.connect({ host: options.host, port: options.port });
    let open = false;
    let destroyed = false;
    let lastError: Error | undefined;

    const onAbort = () => {
      destroyed = true;
      socket.destroy();
      reject(new ConnectionError('connect aborted', { cause: signal.reason }));
    };
    signal.addEventListener('abort', onAbort, { once: true });

    socket.on('error', (error) => {
      lastError = error;
    });
    socket.on('close', () => {
      signal.removeEventListener('abort', onAbort);
      if (destroyed) return;
      destroyed = true;
      const error = new ConnectionError(
        (open ? `the connection to ${formatAddress(options.host, options.port)} closed` : `cannot connect to ${formatAddress(options.host, options.port)}`) +
          (lastError === undefined ? '' : `: ${rootCauseText(lastError)}`),
        lastError === undefined ? undefined : { cause: lastError },
      );
      if (open) events.onClose(error);
      else reject(error);
    });
    socket.on('data', (chunk: Buffer) => events.onData(chunk));
    if (secure) {
      socket.once('connect', () => {
        if (!destroyed) events.onTlsHandshake?.();
      });
    }
    socket.once(secure ? 'secureConnect' : 'connect', () => {
      signal.removeEventListener('abort', onAbort);
      if (destroyed) return;
      open = true;
      socket.setNoDelay(true);
      socket.setKeepAlive(true, options.keepAliveDelay ?? 30_000);
      resolve({
        write: (bytes) => {
          socket.write(bytes);
        },
        cork: () => socket.cork(),
        uncork: () => socket.uncork(),
        destroy: () => {
          destroyed = true;
          socket.destroy();
        },
      });
    });
  });
}
