/**
 * Bounds on what one decoded value may claim or hold, shared by the parser
 * and the streaming decoders.
 *
 * @module
 */

/** Bounds on what one decoded value may claim or hold. */
export interface DecoderLimits {
  /** Largest bulk string, simple string or error line, in bytes. Default 64 MiB. */
  readonly maxBulkBytes: number;
  /** Most elements in one array or set, or pairs in one map. Default 16 Mi. */
  readonly maxAggregateLength: number;
  /** Deepest nesting of arrays, maps and sets. Default 128. */
  readonly maxDepth: number;
  /**
   * Most bytes one value may take: its bytes on the wire, plus an estimate of
   * what its decoded elements cost in memory. Default 256 MiB.
   */
  readonly maxBufferedBytes: number;
}

/** The limits used when none are given. */
export const DEFAULT_DECODER_LIMITS: DecoderLimits = Object.freeze({
  maxBulkBytes: 64 * 1024 * 1024,
  maxAggregateLength: 16 * 1024 * 1024,
  maxDepth: 128,
  maxBufferedBytes: 256 * 1024 * 1024,
});

export function resolveLimits(limits: Partial<DecoderLimits> | undefined): DecoderLimits {
  const resolved = { ...DEFAULT_DECODER_LIMITS, ...limits };
  for (const [name, value] of Object.entries(resolved)) {
    if (!Number.isSafeInteger(value) || value <= 0) {
      throw new RangeError(`decoder limit ${name} must be a positive integer, got ${String(value)}`);
    }
  }
  return resolved;
}
