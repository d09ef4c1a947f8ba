/**
 * Host and port as people write them. `host:port` puts an IPv6 address in
 * brackets (`[::1]:7556`), so the port cannot be read as part of it; and a
 * `host` option that holds more than a host (a URL, a port, brackets) is
 * refused when the options are read, not at the first connect with
 * `getaddrinfo ENOTFOUND`.
 *
 * @module
 */

import { isIP, isIPv6 } from 'node:net';

/** `host:port`, with an IPv6 literal in brackets: `127.0.0.1:7556`, `cache.local:7556`, `[::1]:7556`. */
export function formatAddress(host: string, port: number): string {
  return isIPv6(host) ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * Refuses a `host` option that holds a URL (`zcached://h:7556`), a port
 * (`h:7556`, `[::1]:7556`) or an IPv6 address in brackets (`[::1]`), saying
 * what to write instead. IP addresses (`::1`, `fe80::1`, `10.0.0.1`) and
 * host names pass.
 * @throws TypeError naming the host and what to do
 */
export function assertPlainHost(host: string): void {
  if (isIP(host) !== 0) return;
  const shown = JSON.stringify(host);
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(host)) {
    throw new TypeError(`host ${shown} looks like a URL: pass it as new ZCached(url); the host option takes a host name or an IP address only`);
  }
  const withPort = /^(?:\[([^\]]*)\]|([^:[\]]*)):(\d+)$/.exec(host);
  if (withPort !== null) {
    const name = withPort[1] ?? withPort[2] ?? '';
    throw new TypeError(`host ${shown} holds a port: use { host: ${quote(name)}, port: ${Number(withPort[3])} }`);
  }
  if (host.startsWith('[') && host.endsWith(']') && isIPv6(host.slice(1, -1))) {
    throw new TypeError(`host ${shown}: give the IPv6 address without brackets: { host: ${quote(host.slice(1, -1))} }`);
  }
  if (host.includes(':')) {
    throw new TypeError(`host ${shown} is neither a host name nor an IP address (a ':' belongs only in an IPv6 address)`);
  }
}

function quote(text: string): string {
  return `'${text.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}
