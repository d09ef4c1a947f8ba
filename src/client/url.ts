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
    throw badPort(owner, text, shown) ?? new TypeError(`${owner}: ${shown} is not a valid URL; expected 'zcached://host:port' or 'zcacheds://host:port'`, { cause: error });
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
  readQuery(url, grammar, options);
  return options as UrlOptions;
}

/**
 * The error of a URL that `new URL` refused for its port: out of 1..65535
 * (a RangeError, as `port: 0` is) or not digits; `undefined` when the port
 * is not the problem.
 */
function badPort(owner: string, text: string, shown: string): Error | undefined {
  const authority = /^[a-z][a-z0-9+.-]*:\/\/(?:[^/?#@]*@)?(\[[^\]/?#@]*\]|[^:/?#@]*):([^/?#@]*)(?:[/?#]|$)/i.exec(text);
  const port = authority?.[2];
  if (port === undefined || port === '') return undefined;
  if (/^\d+$/.test(port)) {
    return Number(port) > 65535 ? new RangeError(`${owner}: the port of ${shown} must be in 1..65535, got ${port}`) : undefined;
  }
  return new TypeError(`${owner}: the port of ${shown} must be decimal digits (1..65535), got ${JSON.stringify(port)}`);
}

/**
 * The query as written, one `[key, value]` per `&`-separated part, each
 * with its raw text (before `+` and `%xx` are decoded) for messages.
 */
function queryEntries(url: URL): { key: string; value: string; raw: string }[] {
  const raw = url.search.slice(1).split('&').filter((part) => part !== '');
  // URLSearchParams yields one entry per non-empty part, in order.
  return [...url.searchParams].map(([key, value], i) => {
    const part = raw[i] ?? '';
    const equals = part.indexOf('=');
    return { key, value, raw: equals === -1 ? '' : part.slice(equals + 1) };
  });
}

function readQuery(url: URL, grammar: UrlGrammar, into: Record<string, unknown>): void {
  const { owner, query, objectOnly } = grammar;
  const aliases = grammar.aliases ?? {};
  const given = new Map<string, string>();
  for (const { key, value, raw } of queryEntries(url)) {
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
    into[name] = readValue(owner, key, value, raw, type);
  }
}

function readValue(owner: string, key: string, value: string, raw: string, type: QueryValueType): unknown {
  // The value as written in the URL, and what it decodes to when that differs (`+4` reads as ` 4`).
  const got = raw === value ? JSON.stringify(value) : `${JSON.stringify(raw)} (read as ${JSON.stringify(value)}${raw.includes('+') ? ": a '+' in a URL query is a space" : ''})`;
  const wrong = (expected: string) => new TypeError(`${owner}: URL option ${JSON.stringify(key)} must be ${expected}, got ${got}`);
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
      if (value === 'auto' || Object.hasOwn(DIALECTS, value)) return value;
      const names = ['auto', ...Object.keys(DIALECTS)];
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
