/**
 * Connection URLs: `zcached://host:port?option=value&...` and
 * `zcacheds://...` for TLS, read into an options object. Pure; throws a
 * `TypeError` on anything it cannot read, naming what is wrong.
 *
 * The grammar (shared by `new ZCached(url)` and the fleet's server specs):
 * - scheme `zcached://` (plain TCP) or `zcacheds://` (TLS with Node's
 *   defaults, i.e. `tls: true`), case-insensitive; any other is refused;
 * - host: a name, an IPv4 address or an IPv6 address in brackets
 *   (`[::1]`); none (`zcached://`) means the default host;
 * - port: optional, default 7556;
 * - no user name or password (zcached has no authentication: a URL with
 *   credentials is refused rather than connecting without them), no path
 *   other than `/`, no `#fragment`;
 * - query: option names as keys (case-sensitive, each at most once), read
 *   by type: integers in decimal digits, booleans `true`/`false`/`1`/`0`,
 *   dialect names, strings; an unknown key is refused with the option it
 *   most likely meant. Options that are objects or functions (`tls` options,
 *   `backoff`, ...) cannot be given in a URL.
 *
 * @module
 */

import { closestName, unknownOptionMessage } from '../connection/option-keys.js';
import { DIALECTS } from '../protocol/dialect.js';

/** How a query value is read. */
export type QueryValueType = 'integer' | 'number' | 'boolean' | 'dialect' | 'string';

/** What a URL may say, for one kind of URL. */
export interface UrlGrammar {
  /** Who reads it, for messages (`'ZCached'`, `'servers[0]'`). */
  readonly owner: string;
  /** The query keys and how each is read. */
  readonly query: Readonly<Record<string, QueryValueType>>;
  /** Other names for query keys (`timeout` → `timeoutLimit`). */
  readonly aliases?: Readonly<Record<string, string>>;
  /** Options that exist but cannot be given in a URL, with what to do instead. */
  readonly objectOnly: Readonly<Record<string, string>>;
}

/** What a URL says: `host`/`port` when it gives them, `tls: true` for `zcacheds://`, and the query's options. */
export type UrlOptions = Record<string, unknown> & { readonly host?: string; readonly port?: number; readonly tls?: true };

/** The schemes understood, with the TLS setting each implies. */
const SCHEMES: Readonly<Record<string, boolean>> = { 'zcached:': false, 'zcacheds:': true };

/** The URL as it may be shown in a message: any credentials are masked. */
export function redactUrl(text: string): string {
  return text.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/?#@]*@/i, '$1***@');
}

/**
 * Reads a connection URL (a string, or a `URL`).
 * @throws TypeError for what is not a zcached URL, credentials, a path, a
 *   fragment, an unknown or repeated query key, or a value of the wrong type
 */
export function parseConnectionUrl(input: string | URL, grammar: UrlGrammar): UrlOptions {
  const text = typeof input === 'string' ? input : input.href;
  const shown = JSON.stringify(redactUrl(text));
  const owner = grammar.owner;
  let url: URL;
  try {
    url = new URL(text);
  } catch (error) {
    throw new TypeError(`${owner}: ${shown} is not a valid URL; expected 'zcached://host:port' or 'zcacheds://host:port'`, { cause: error });
  }
  const secure = SCHEMES[url.protocol];
  if (secure === undefined) {
    throw new TypeError(`${owner}: unknown scheme ${JSON.stringify(url.protocol)} in ${shown}; expected zcached:// or zcacheds:// (TLS)`);
  }
  if (url.username !== '' || url.password !== '') {
    throw new TypeError(
      `${owner}: ${shown} holds a user name or password, but zcached has no authentication; remove them from the URL (they would not be sent)`,
    );
  }
  if (!text.slice(url.protocol.length).startsWith('//')) {
    throw new TypeError(`${owner}: ${shown} has no '//' after the scheme; expected 'zcached://host:port'`);
  }
  if (url.pathname !== '' && url.pathname !== '/') {
    throw new TypeError(`${owner}: ${shown} has a path (${JSON.stringify(url.pathname)}); zcached has no databases: give only host, port and query`);
  }
  if (url.hash !== '') throw new TypeError(`${owner}: ${shown} has a fragment (${JSON.stringify(url.hash)}); remove it`);
  const options: Record<string, unknown> = {};
  const hostname = url.hostname.startsWith('[') && url.hostname.endsWith(']') ? url.hostname.slice(1, -1) : url.hostname;
  if (hostname !== '') options.host = hostname;
  if (url.port !== '') options.port = Number(url.port);
  if (secure) options.tls = true;
  readQuery(url.searchParams, grammar, options);
  return options as UrlOptions;
}

function readQuery(params: URLSearchParams, grammar: UrlGrammar, into: Record<string, unknown>): void {
  const { owner, query, objectOnly } = grammar;
  const aliases = grammar.aliases ?? {};
  const given = new Map<string, string>();
  for (const [key, value] of params) {
    if (Object.hasOwn(objectOnly, key)) throw new TypeError(`${owner}: option ${JSON.stringify(key)} cannot be given in a URL: ${objectOnly[key]}`);
    const name = Object.hasOwn(aliases, key) ? aliases[key]! : key;
    const type = Object.hasOwn(query, name) ? query[name] : undefined;
    if (type === undefined) throw new TypeError(unknownOptionMessage(`${owner} URL`, key, [...Object.keys(query), ...Object.keys(aliases)]));
    const previous = given.get(name);
    if (previous !== undefined) {
      throw new TypeError(
        `${owner}: option ${JSON.stringify(name)} is given twice in the URL${previous === key ? '' : ` (as ${JSON.stringify(previous)} and ${JSON.stringify(key)})`}`,
      );
    }
    given.set(name, key);
    into[name] = readValue(owner, key, value, type);
  }
}

function readValue(owner: string, key: string, value: string, type: QueryValueType): unknown {
  const wrong = (expected: string) => new TypeError(`${owner}: URL option ${JSON.stringify(key)} must be ${expected}, got ${JSON.stringify(value)}`);
  switch (type) {
    case 'integer':
      if (!/^\d+$/.test(value)) throw wrong('an integer (decimal digits)');
      return Number(value);
    case 'number':
      if (!/^\d+(\.\d+)?$/.test(value)) throw wrong('a decimal number');
      return Number(value);
    case 'boolean': {
      const lower = value.toLowerCase();
      if (lower === 'true' || value === '1') return true;
      if (lower === 'false' || value === '0') return false;
      throw wrong('true, false, 1 or 0');
    }
    case 'dialect': {
      if (Object.hasOwn(DIALECTS, value)) return value;
      const names = Object.keys(DIALECTS);
      const suggestion = closestName(value, names);
      throw new TypeError(
        `${owner}: URL option ${JSON.stringify(key)}: unknown dialect ${JSON.stringify(value)}; ` +
          (suggestion === undefined ? `expected one of ${names.join(', ')}` : `did you mean ${suggestion}?`),
      );
    }
    case 'string':
      if (value === '') throw wrong('a non-empty string');
      return value;
  }
}
