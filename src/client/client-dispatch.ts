/**
 * `CommandDispatch`: where a `ZCached` command goes once its arguments are
 * checked: the pool's connection for it, the reply's form (not-found as
 * `undefined`, bulk strings as bytes), the `keyPrefix` on its keys, and
 * the error of a command no connection can take (from `ClientRun`).
 *
 * It runs per request: without a prefix it adds nothing to the path of a
 * command but this one call.
 *
 * @module
 */

import { Connection, sendAs } from '../connection/connection.js';
import type { RequestOptions } from '../connection/requests.js';
import { PoolEmptyError } from '../errors.js';
import type { ConnectionPool } from '../pool/pool.js';
import { DIALECTS } from '../protocol/dialect.js';
import type { Command } from '../protocol/encoder.js';
import type { Reply } from '../protocol/values.js';
import type { ClientRun } from './client-run.js';
import { checkEncodable, nameArguments } from './commands.js';
import { answersWithKeys, commandName, prefixCommand, unprefixReply } from './key-prefix.js';

/** Sends a client's commands over its pool. */
export class CommandDispatch {
  readonly #pool: ConnectionPool<Connection>;
  readonly #lifecycle: ClientRun;
  /** The `keyPrefix` option; undefined: none. */
  readonly keyPrefix: string | undefined;

  constructor(pool: ConnectionPool<Connection>, lifecycle: ClientRun, keyPrefix: string | undefined) {
    this.#pool = pool;
    this.#lifecycle = lifecycle;
    this.keyPrefix = keyPrefix;
  }

  /**
   * Sends a command whose arguments the caller checked: with the prefix on
   * its keys, if any (and off the keys of its reply).
   * @param notFoundAsUndefined - the server's "key not found" reply resolves `undefined` (GET)
   * @param bytes - the reply's bulk strings come as `Buffer`s (`getBuffer`, `mgetBuffer`)
   * @throws TypeError / RangeError / DialectError for arguments that cannot be sent, naming them
   */
  send(command: Command, options: RequestOptions | undefined, notFoundAsUndefined = false, bytes = false): Promise<Reply> {
    const prefix = this.keyPrefix;
    if (prefix === undefined) return this.#send(command, options, notFoundAsUndefined, bytes);
    const name = commandName(command);
    const sent = this.#send(prefixCommand(prefix, command, name), options, notFoundAsUndefined, bytes);
    return answersWithKeys(name) ? sent.then((reply) => unprefixReply(prefix, name, reply)) : sent;
  }

  #send(command: Command, options: RequestOptions | undefined, notFoundAsUndefined: boolean, bytes: boolean): Promise<Reply> {
    try {
      // Connected, or else the connection that will be up soonest (it holds the request, at most its timeout).
      const connection = this.#pool.getConnectionForRequest(command);
      return notFoundAsUndefined || bytes
        ? (connection[sendAs](command, options, notFoundAsUndefined, bytes) as Promise<Reply>)
        : connection.send(command, options);
    } catch (error) {
      if (!(error instanceof PoolEmptyError)) throw nameArguments(error, command); // `value[1]`, not the encoder's `argument 2[1]`
      checkEncodable(command, this.#pool.connections[0]?.dialect ?? DIALECTS.etx); // invalid arguments throw as with a connection
      return Promise.reject(this.#lifecycle.unavailable(error));
    }
  }
}
