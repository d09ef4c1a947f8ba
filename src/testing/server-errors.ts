/**
 * Every error text the embedded test server sends, by cause, for the three
 * server generations (protocol reference, "Error strings seen" and "What
 * real servers answer to odd requests").
 *
 * @module
 */

/** Every error reply the test server can send, by cause (text without the leading `-`). */
export const SERVER_ERRORS = Object.freeze({
  /** Older servers (2024, 2025): a request they cannot parse, a bulk string holding LF or a wrong declared length, an oversized plain request. */
  badRequest: 'ERR bad request',
  /** Wrong arity, odd MSET, a value that cannot be stored; older servers: a bad float, a bad aggregate length, a non-string map key; current: a non-string key, a request cut short. */
  unexpected: 'ERR unexpected',
  /** The request is not an array, or its first element is not a string. */
  unknownCommand: 'ERR unknown command',
  /** Older servers: a key argument that is not a string. */
  keyNotString: 'TYPERR key not string',
  /** Older servers: an integer that is malformed or outside signed 64-bit. */
  notInteger: 'TYPERR not integer',
  /** Older servers: a one-letter boolean other than `t`, `f`, `T`, `F`. */
  notBoolean: 'TYPERR not boolean',
  /** SAVE of an empty database on the older servers (2024, 2025). */
  noDataToSave: 'ERR there is no data to save',
  /** SAVE of an empty database on the current servers. */
  saveFailure: 'NOSAVE error while saving data',
  /** COPY onto an existing key without REPLACE. */
  busyKey: 'BUSYKEY key already exists',
  /** Newer servers: a request over the size limit; current servers: a huge aggregate length. */
  payloadExceeded: 'ERR maximum payload size exceeded',
  /** Current servers: input their parser refuses (unknown type byte, missing line end, empty string, empty map, `$-1`). */
  unprocessable: 'ERR unprocessable',
  /** Current servers: a scalar that does not parse as its type (integer, float, boolean). */
  invalidType: 'TYPERR invalid type',
  /** Current servers: a length that is not a number (`$x`, `*x`, `*-1`). */
  invalidLength: 'INVAL invalid length',
  /** 2025 servers: an aggregate length that is not a number (`*x`, `*-1`). */
  errInvalidLength: 'ERR invalid length',
  /** Current servers: a map key that is not a string. */
  keyMustBeString: 'ERR key must be a string',
});
