/**
 * `zcached info [url]`: what the server is. Its generation (as the client's
 * connect-time handshake found it), the round-trip time of a PING, the
 * number of keys, the last save, and whether the connection uses TLS.
 *
 * @module
 */

import { performance } from 'node:perf_hooks';
import { GENERATION_LABELS } from '../protocol/dialect.js';
import type { CliSettings } from './args.js';
import { createCliClient, generationOf } from './connect.js';
import { reportFailure } from './one-shot.js';
import type { CliIo } from './io.js';

/** PINGs timed for the round trip; the median is shown. */
export const INFO_PINGS = 5;

/** What `zcached info` reports (also its `--json` output). */
export interface ServerInfo {
  /** `host:port`. */
  readonly address: string;
  /** `'legacy'`, `'etx-request'` or `'etx'`; null when unknown. */
  readonly generation: string | null;
  readonly tls: boolean;
  /** The median round trip of {@link INFO_PINGS} PINGs, in milliseconds. */
  readonly roundTripMs: number;
  /** The number of keys. */
  readonly dbsize: number;
  /** Unix seconds of the last save (the server's start before any). */
  readonly lastsave: number;
}

/** The info as `name  value` lines. */
export function formatInfo(info: ServerInfo): string {
  const generation = info.generation === null ? 'not known' : (GENERATION_LABELS[info.generation as keyof typeof GENERATION_LABELS] ?? info.generation);
  const saved = new Date(info.lastsave * 1000);
  const rows: [string, string][] = [
    ['server', info.address],
    ['generation', generation],
    ['tls', info.tls ? 'on' : 'off'],
    ['round trip', `${info.roundTripMs.toFixed(3)} ms (median of ${INFO_PINGS} PINGs)`],
    ['dbsize', String(info.dbsize)],
    ['lastsave', `${info.lastsave}${Number.isNaN(saved.getTime()) ? '' : ` (${saved.toISOString()})`}`],
  ];
  return rows.map(([name, value]) => `${name.padEnd(11)} ${value}`).join('\n');
}

/**
 * Connects (one attempt), gathers the {@link ServerInfo} and prints it.
 * @returns the exit code: 0, 1 when the server answered a command with an error, 2 no connection or bad usage
 */
export async function runInfo(settings: CliSettings, io: CliIo): Promise<number> {
  let cli;
  try {
    cli = createCliClient(settings, false);
    const { client } = cli;
    await client.run();
    const times: number[] = [];
    for (let i = 0; i < INFO_PINGS; i++) {
      const start = performance.now();
      await client.ping();
      times.push(performance.now() - start);
    }
    times.sort((a, b) => a - b);
    const info: ServerInfo = {
      address: cli.address,
      generation: generationOf(client) ?? null,
      tls: cli.tls,
      roundTripMs: Math.round(times[Math.floor(times.length / 2)]! * 1000) / 1000,
      dbsize: await client.dbsize(),
      lastsave: await client.lastsave(),
    };
    io.stdout.write(`${settings.output === 'json' ? JSON.stringify(info) : formatInfo(info)}\n`);
    return 0;
  } catch (error) {
    return reportFailure(error, settings, io, cli?.address);
  } finally {
    await cli?.client.close({ force: true });
  }
}
