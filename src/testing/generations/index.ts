/**
 * The request framing and parsing of each zcached server generation, for the
 * embedded test server: pick one with {@link createFramer}.
 *
 * @module
 */

import { EtxFramer } from './etx.js';
import { EtxRequestFramer } from './etx-request.js';
import { LegacyFramer } from './legacy.js';
import type { FramerSettings, RequestFramer } from './types.js';

export { LEGACY_MAX_REQUEST_BYTES } from './legacy.js';
export { READ_BYTES, type CrashReason, type FrameEvent, type FramerSettings, type RequestFramer } from './types.js';
export { parseRequest, type ParseOutcome } from './parser.js';
export { decodeBinarySafe, protocolErrorReply, validateRequest } from './binary-safe.js';

/** A new framer for one connection to a server of `settings.dialect`. */
export function createFramer(settings: FramerSettings): RequestFramer {
  switch (settings.dialect) {
    case 'legacy':
      return new LegacyFramer(settings);
    case 'etx-request':
      return new EtxRequestFramer(settings);
    case 'etx':
      return new EtxFramer(settings);
  }
}
