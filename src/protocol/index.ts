/**
 * The wire protocol: values, dialects, encoder and streaming decoders.
 *
 * @module
 */
export { Float, float, type Value, type Reply, type DecodedReply, type WireValue, type WireType } from './values.js';
export {
  ETX,
  DIALECTS,
  AUTO_DIALECT,
  GENERATION_LABELS,
  DEFAULT_MAX_REQUEST_BYTES,
  SEGMENT_BYTES,
  SERVER_READ_BYTES,
  resolveDialect,
  type Dialect,
  type DialectInput,
  type DialectName,
  type DialectOptions,
  type ServerGeneration,
} from './dialect.js';
export { RequestWriter, encodeRequest, encodeValue, encodeWire, formatFloat, type Command } from './encoder.js';
export { formatPath, withArgumentName } from './value-rules.js';
export {
  ReplyDecoder,
  WireDecoder,
  decodeWire,
  decodeReplies,
  DEFAULT_DECODER_LIMITS,
  type DecoderLimits,
  type ReplyDecoderOptions,
  type ReplyTerminator,
  type WireDecoderOptions,
} from './decoder.js';
