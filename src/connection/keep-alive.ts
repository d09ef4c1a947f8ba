/**
 * The keep-alive `PING` of a connected connection (`pingInterval`): after
 * that long without traffic, a `PING` goes out as a health probe; a missing
 * `PONG` breaks the connection through the probe's own timeout (see
 * `RequestQueue.enqueue`'s `probe`).
 *
 * @module
 */

import type { LifecycleHost } from './connection-lifecycle.js';

/**
 * Starts the keep-alive timer (checking every half interval, unref'd).
 * @param pingInterval - ms without traffic before a PING; 0: none (returns `undefined`)
 * @param timeoutLimit - the connection's request time limit, ms: the PING's is the smaller of both
 * @returns the timer, for {@link stopKeepAlive}
 */
export function startKeepAlive(host: LifecycleHost, pingInterval: number, timeoutLimit: number): NodeJS.Timeout | undefined {
  if (pingInterval <= 0) return undefined;
  host.touch();
  const timer = setInterval(() => {
    if (host.state() !== 'connected' || host.requests.onTheWire > 0) return;
    if (performance.now() - host.lastActivity() < pingInterval) return;
    const timeout = Math.min(timeoutLimit, Math.max(1, Math.round(pingInterval)));
    host.requests.enqueue(['PING'], { timeout }, true).catch(() => {
      // A missing PONG already broke the connection through the probe's timeout.
    });
    host.flushSoon();
  }, Math.max(1, Math.round(pingInterval / 2)));
  timer.unref();
  return timer;
}

/** Stops a timer {@link startKeepAlive} returned (`undefined`: nothing to stop). */
export function stopKeepAlive(timer: NodeJS.Timeout | undefined): void {
  if (timer !== undefined) clearInterval(timer);
}
