/**
 * The binary-safe request path, used when faithfulness is off
 * (`startServer({ faithful: false })`): requests are decoded by the client's
 * own decoder (declared lengths honoured, any byte allowed in a bulk string,
 * empty strings and maps accepted, `$-1` and `*-1` read as null), then checked
 * for what each generation refuses whatever its parser (line feeds in bulk
 * strings on the two older generations, sets on the 2024 one, non-string map
 * keys, integers outside signed 64-bit). Malformed bytes get the error text
 * of the generation's column in the protocol reference's odd-request table.
 *
 * @module
 */

import { ProtocolError } from '../../errors.js';
import { decodeWire, type DecoderLimits } from '../../protocol/decoder.js';
import { DEFAULT_MAX_REQUEST_BYTES, type DialectName } from '../../protocol/dialect.js';
import type { WireValue } from '../../protocol/values.js';
import { SERVER_ERRORS as E } from '../server-errors.js';
import type { ParseOutcome } from './parser.js';

const MIN_INT64 = -(2n ** 63n);
const MAX_INT64 = 2n ** 63n - 1n;

/**
 * The checks a generation makes whatever its parser: line feeds in bulk
 * strings (2024 and 2025 servers), sets (2024 servers), non-string map keys,
 * integers outside signed 64-bit.
 * @returns the error text, or `undefined` when the request is acceptable
 */
export function validateRequest(request: WireValue, dialect: DialectName): string | undefined {
  const older = dialect !== 'etx';
  let failure: string | undefined;
  const visit = (value: WireValue): void => {
    if (failure !== undefined) return;
    switch (value.type) {
      case 'bulk':
        if (older && value.value.includes(0x0a)) failure = E.badRequest;
        return;
      case 'integer':
        if (value.value < MIN_INT64 || value.value > MAX_INT64) failure = older ? E.notInteger : E.invalidType;
        return;
      case 'set':
        if (dialect === 'legacy') {
          failure = E.badRequest;
          return;
        }
        value.value.forEach(visit);
        return;
      case 'array':
        value.value.forEach(visit);
        return;
      case 'map':
        for (const [key, item] of value.value) {
          if (key.type !== 'bulk' && key.type !== 'simple') {
            failure = older ? E.unexpected : E.keyMustBeString;
            return;
          }
          visit(key);
          visit(item);
        }
        return;
      default:
        return;
    }
  };
  visit(request);
  return failure;
}

/** The error text for bytes the decoder rejected, in the generation's words. */
export function protocolErrorReply(error: ProtocolError, dialect: DialectName): string {
  const current = dialect === 'etx';
  switch (error.reason) {
    case 'integer':
      return current ? E.invalidType : E.notInteger;
    case 'boolean':
      return current ? E.invalidType : E.notBoolean;
    case 'float':
      return current ? E.invalidType : E.unexpected;
    case 'length':
      return current ? E.invalidLength : dialect === 'etx-request' ? E.errInvalidLength : E.unexpected;
    case 'limit':
      return dialect === 'legacy' ? E.badRequest : E.payloadExceeded;
    case 'type':
    case 'framing':
      return current ? E.unprocessable : E.badRequest;
  }
}

/** The error text for a request that ends (at its 0x03) inside a value: an array declaring more elements than sent. */
export function truncatedRequestError(dialect: DialectName): string {
  return dialect === 'etx' ? E.unexpected : E.badRequest;
}

/**
 * Decodes one request binary-safely and checks it.
 * @returns the outcome, or `undefined` when the bytes end inside the value
 */
export function decodeBinarySafe(bytes: Buffer, dialect: DialectName, limits: Partial<DecoderLimits>): ParseOutcome | undefined {
  let decoded: { value: WireValue; end: number } | undefined;
  try {
    decoded = decodeWire(bytes, limits);
  } catch (error) {
    const text = error instanceof ProtocolError ? protocolErrorReply(error, dialect) : truncatedRequestError(dialect);
    return { ok: false, error: text };
  }
  if (decoded === undefined) return undefined;
  const invalid = validateRequest(decoded.value, dialect);
  return invalid === undefined ? { ok: true, value: decoded.value, end: decoded.end } : { ok: false, error: invalid };
}

/**
 * The most bytes (and so elements) a request of a server taking requests up to
 * `maxRequestBytes` may claim: at least the real server's 10 MB. A declared
 * aggregate count past it is treated as the allocation failure it would be.
 */
export function requestBound(maxRequestBytes: number): number {
  return Math.max(maxRequestBytes, DEFAULT_MAX_REQUEST_BYTES);
}

/** Decoder limits for a server taking requests up to `maxRequestBytes`: generous, sizes are checked by the framing. */
export function binarySafeLimits(maxRequestBytes: number): Partial<DecoderLimits> {
  const bound = requestBound(maxRequestBytes);
  return { maxBulkBytes: bound, maxBufferedBytes: bound + 1024, maxDepth: 512 };
}
