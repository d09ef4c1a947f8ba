/**
 * How the embedded test server writes a reply: the wire form of a
 * {@link WireValue}, with floats printed in plain decimal the way the real
 * server's `{d}` formatting does. No terminator: the framing of each server
 * generation adds its own.
 *
 * Self-contained on purpose (it does not reuse the client's request encoder):
 * what the server sends must not change when the client's encoder does.
 *
 * @module
 */

import type { WireValue } from '../protocol/values.js';

/**
 * Prints a float in plain decimal, the way the real server does: shortest
 * round-trip digits, never an exponent (`1e-7` → `0.0000001`, `1e300` → `1`
 * and 300 zeros), `inf`, `-inf`, `nan`, `-0`.
 */
export function formatPlainFloat(value: number): string {
  if (Number.isNaN(value)) return 'nan';
  if (value === Infinity) return 'inf';
  if (value === -Infinity) return '-inf';
  if (Object.is(value, -0)) return '-0';
  const text = String(value);
  const e = text.indexOf('e');
  if (e === -1) return text;
  const negative = text.startsWith('-');
  const mantissa = text.slice(negative ? 1 : 0, e);
  const exponent = Number(text.slice(e + 1));
  const dot = mantissa.indexOf('.');
  const digits = dot === -1 ? mantissa : mantissa.slice(0, dot) + mantissa.slice(dot + 1);
  // Position of the decimal point counted from the start of `digits`.
  const point = (dot === -1 ? mantissa.length : dot) + exponent;
  let plain: string;
  if (point <= 0) {
    plain = `0.${'0'.repeat(-point)}${digits}`;
  } else if (point >= digits.length) {
    plain = digits + '0'.repeat(point - digits.length);
  } else {
    plain = `${digits.slice(0, point)}.${digits.slice(point)}`;
  }
  return negative ? `-${plain}` : plain;
}

const CRLF = Buffer.from('\r\n');

/** A line `<prefix><text>\r\n`. */
function line(parts: Buffer[], prefix: string, text: string, encoding: BufferEncoding = 'latin1'): void {
  parts.push(Buffer.from(prefix + text, encoding), CRLF);
}

function append(parts: Buffer[], value: WireValue): void {
  switch (value.type) {
    case 'simple':
      line(parts, '+', value.value, 'utf8');
      return;
    case 'error':
      line(parts, '-', value.value, 'utf8');
      return;
    case 'bulk':
      parts.push(Buffer.from(`$${value.value.length}\r\n`, 'latin1'), value.value, CRLF);
      return;
    case 'integer':
      line(parts, ':', value.value.toString());
      return;
    case 'float':
      line(parts, ',', formatPlainFloat(value.value));
      return;
    case 'boolean':
      line(parts, '#', value.value ? 't' : 'f');
      return;
    case 'null':
      line(parts, '_', '');
      return;
    case 'array':
    case 'set':
      line(parts, value.type === 'array' ? '*' : '~', String(value.value.length));
      for (const item of value.value) append(parts, item);
      return;
    case 'map':
      line(parts, '%', String(value.value.length));
      for (const [key, item] of value.value) {
        append(parts, key);
        append(parts, item);
      }
      return;
  }
}

/** Encodes a reply as the server sends it (no terminator); floats in plain decimal. */
export function encodeReply(value: WireValue): Buffer {
  const parts: Buffer[] = [];
  append(parts, value);
  return Buffer.concat(parts);
}
