/**
 * Encoding: JavaScript values and commands to wire bytes. The {@link Command}
 * type and the one-shot encoders, each into a fresh buffer; they, and the
 * per-request path, write through a {@link RequestWriter}
 * (request-writer.ts).
 *
 * @module
 */

import type { Dialect } from './dialect.js';
import { RequestWriter, type Command } from './request-writer.js';
import type { Value, WireValue } from './values.js';

export { RequestWriter, type Command } from './request-writer.js';
export { formatFloat } from './wire-encoder.js';

/**
 * Encodes one request for a dialect into a fresh buffer.
 * @throws TypeError / RangeError / DialectError as {@link RequestWriter.append}
 */
export function encodeRequest(dialect: Dialect, command: Command): Buffer {
  const writer = new RequestWriter(dialect, 256);
  writer.append(command);
  return writer.take();
}

/** Encodes one JavaScript value (no terminator). */
export function encodeValue(value: Value): Buffer {
  const writer = new RequestWriter(undefined, 256);
  writer.appendValue(value);
  return writer.take();
}

/** Encodes one {@link WireValue} exactly as tagged (no terminator). */
export function encodeWire(value: WireValue): Buffer {
  const writer = new RequestWriter(undefined, 256);
  writer.appendWire(value);
  return writer.take();
}
