/**
 * What the fleet's public calls take and give: the specs of their run-time
 * argument checks (src/client/call-arguments.ts) for the client's commands,
 * the fleet's own methods and `byServer`'s commands; how `sendCommand`
 * finds the key that chooses the server; the types of its options and of
 * `servers`.
 *
 * @module
 */

import type { CommandOptions } from '../client/client.js';
import { callSpecs, COMMAND_SHAPES } from '../client/call-arguments.js';
import { checkEncodable } from '../client/commands.js';

export { checkEncodable };
import type { Connection } from '../connection/connection.js';
import type { ConnectionPool } from '../pool/pool.js';
import type { Command } from '../protocol/encoder.js';
import type { FleetServerState } from './state.js';

/** Per-call options of `ZCachedFleet.sendCommand`: the client's, plus the key that chooses the server. */
export interface FleetCommandOptions extends CommandOptions {
  /** Route by this key instead of the command's first argument. */
  readonly key?: string;
}

/** A server of the fleet as `ZCachedFleet.servers` shows it: the state, plus its pool. */
export interface FleetServerInfo extends FleetServerState {
  /** The server's connection pool (read it; the fleet owns it). */
  readonly pool: ConnectionPool<Connection>;
}

/** The specs of `ZCachedFleet`'s methods (`ZCachedFleet.get`, ...). */
export const FLEET_CALLS = callSpecs('ZCachedFleet', {
  ...COMMAND_SHAPES,
  sendCommand: { ...COMMAND_SHAPES.sendCommand, options: ['key', 'signal', 'timeout'] },
  run: { takes: '()', max: 0 },
  close: { takes: '()', max: 0, hint: "it takes no options: each server's pool lets pending requests finish for closeTimeout" },
  serverFor: { takes: '(key)', max: 1, names: ['key'] },
  placement: { takes: '(key)', max: 1, names: ['key'] },
  subscribe: { takes: '(listener)', max: 1 },
  addServer: { takes: '(spec)', max: 1 },
  removeServer: { takes: '(id)', max: 1, names: ['id'] },
  setWeight: { takes: '(id, weight)', max: 2, names: ['id'] },
});

/** The specs of `ZCachedFleet.byServer`'s commands (`ZCachedFleet.byServer.ping`, ...). */
export const BY_SERVER_CALLS = callSpecs('ZCachedFleet.byServer', {
  ping: COMMAND_SHAPES.ping,
  keys: COMMAND_SHAPES.keys,
  dbsize: COMMAND_SHAPES.dbsize,
  flush: COMMAND_SHAPES.flush,
  save: COMMAND_SHAPES.save,
  lastsave: COMMAND_SHAPES.lastsave,
  sendCommand: COMMAND_SHAPES.sendCommand,
});

/** Commands that have no key of their own: `sendCommand` needs `{ key }` for them. */
const WITHOUT_KEY = new Set(['PING', 'FLUSH', 'DBSIZE', 'KEYS', 'SAVE', 'LASTSAVE', 'MGET', 'MSET']);

/**
 * The key that chooses the server of `sendCommand`: `key`, else the
 * command's first argument (commands without a key have none).
 * @throws TypeError when there is none, pointing to `{ key }` and `byServer.sendCommand`
 */
export function commandKey(command: Command, key: string | undefined): string {
  const name = typeof command[0] === 'string' ? command[0].toUpperCase() : '';
  const found = key ?? (WITHOUT_KEY.has(name) ? undefined : command[1]);
  if (typeof found !== 'string') {
    throw new TypeError(
      `ZCachedFleet.sendCommand sends a command to the server of its key, and ${name === '' ? 'this command' : name} has none: pass { key }, or use byServer.sendCommand() for every server`,
    );
  }
  return found;
}

