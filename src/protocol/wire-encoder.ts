/**
 * Encoding of exact {@link WireValue}s (every wire type kept apart: simple vs
 * bulk strings, integers vs floats), for the embedded server, tools and
 * tests. The client's requests take the {@link RequestWriter} path instead.
 *
 * @module
 */

import type { WireValue } from './values.js';

/** Formats a float the way the wire expects it: `inf`, `-inf`, `nan` or a JS number literal. */
export function formatFloat(value: number): string {
  if (Number.isNaN(value)) return 'nan';
  if (value === Infinity) return 'inf';
  if (value === -Infinity) return '-inf';
  if (Object.is(value, -0)) return '-0';
  return String(value);
}

/** The writer primitives {@link writeWire} writes through. @internal */
export interface WireSink {
  /** Writes `<prefix><n>\r\n` for a non-negative integer n. */
  header(prefix: number, n: number): void;
  /** Writes `<prefix><text>\r\n`, the text as UTF-8. */
  line(prefix: number, text: string): void;
  /** Writes raw bytes. */
  bytes(bytes: Uint8Array): void;
}

const CRLF = Buffer.from('\r\n', 'latin1');

/** Writes one {@link WireValue} exactly as tagged (no terminator, no rule checked). @internal */
export function writeWire(sink: WireSink, value: WireValue): void {
  switch (value.type) {
    case 'simple':
      sink.line(0x2b /* + */, value.value);
      return;
    case 'error':
      sink.line(0x2d /* - */, value.value);
      return;
    case 'bulk':
      sink.header(0x24 /* $ */, value.value.length);
      sink.bytes(value.value);
      sink.bytes(CRLF);
      return;
    case 'integer':
      sink.line(0x3a /* : */, value.value.toString());
      return;
    case 'float':
      sink.line(0x2c /* , */, formatFloat(value.value));
      return;
    case 'boolean':
      sink.line(0x23 /* # */, value.value ? 't' : 'f');
      return;
    case 'null':
      sink.line(0x5f /* _ */, '');
      return;
    case 'array':
    case 'set':
      sink.header(value.type === 'array' ? 0x2a : 0x7e, value.value.length);
      for (const item of value.value) writeWire(sink, item);
      return;
    case 'map':
      sink.header(0x25 /* % */, value.value.length);
      for (const [key, item] of value.value) {
        writeWire(sink, key);
        writeWire(sink, item);
      }
      return;
  }
}
