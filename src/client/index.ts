/**
 * The client: `ZCached`, its command helpers, and its fp-ts view.
 *
 * @module
 */
export { ZCached, type ZCachedOptions, type CommandOptions } from './client.js';
export { type CopyOptions, type MsetEntries } from './commands.js';
export { FP_COMMANDS, fpView, toZCachedError, type FpCommand, type ZCachedFp } from './fp.js';
export {
  type ValueCodec,
  type CodecOption,
  type CodecEntries,
  type DecodedValue,
  type EncodableValue,
  type EntriesFor,
  type MgetValue,
} from './codec.js';
export { type ZCachedEvents, type ConnectEvent, type ReadyEvent, type ReconnectingEvent } from './client-events.js';
