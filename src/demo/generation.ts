/**
 * What the demos say about the server generation: which one the client's
 * connect-time handshake found (each connection's `generation`), which one
 * an embedded server plays for a `--dialect`, and the per-run key prefix
 * that keeps one run's keys apart from an earlier run's on the same server.
 *
 * @module
 */

import { randomBytes } from 'node:crypto';
import type { Connection } from '../connection/connection.js';
import { DialectMismatchError } from '../errors.js';
import { GENERATION_LABELS, type DialectName, type ServerGeneration } from '../protocol/dialect.js';

/** A `--dialect`: a generation's name, or `'auto'` (each connection finds the server's at connect). */
export type DemoDialect = DialectName | 'auto';

/** The generation an embedded server plays for `dialect`: its own, or the current one for `'auto'`. */
export function embeddedGeneration(dialect: DemoDialect): ServerGeneration {
  return dialect === 'auto' ? 'etx' : dialect;
}

/**
 * A short id for one run of a demo (6 hex digits, random): every key the run
 * writes carries it, so a value left on the server by an earlier run is
 * never read back as this run's (nor counted as a wrong reply).
 */
export function newRunId(): string {
  return randomBytes(3).toString('hex');
}

/**
 * What the handshakes of `connections` found, in words: `a current zcached
 * server ('etx')` when they agree, `<id> a 2024 ... ; <id> a 2025 ...` when
 * they do not (a server upgraded in place between two connects), `not known
 * (...)` when none has finished one.
 */
export function describeGenerations(connections: readonly Pick<Connection, 'id' | 'generation'>[]): string {
  const found = connections.filter((c): c is typeof c & { generation: ServerGeneration } => c.generation !== undefined);
  const kinds = new Set(found.map((c) => c.generation));
  if (kinds.size === 0) return 'not known (no connection finished its handshake)';
  if (kinds.size === 1) return GENERATION_LABELS[found[0]!.generation];
  return found.map((c) => `${c.id} ${GENERATION_LABELS[c.generation]}`).join('; ');
}

/** The generations of `connections` (distinct, in order of first appearance). */
export function generationsOf(connections: readonly Pick<Connection, 'generation'>[]): ServerGeneration[] {
  return [...new Set(connections.flatMap((c) => (c.generation === undefined ? [] : [c.generation])))];
}

/**
 * The `DialectMismatchError` behind a failed `run()`, if that is why it
 * failed: preferably one seen by a connection in `preferred` (the ones that
 * reach the server directly, whose message names the server's own address),
 * else `error` itself or any connection's.
 */
export function findMismatch(
  error: unknown,
  preferred: readonly Pick<Connection, 'lastError'>[],
  all: readonly Pick<Connection, 'lastError'>[],
): DialectMismatchError | undefined {
  const direct = preferred.map((c) => c.lastError).find((e) => e instanceof DialectMismatchError);
  if (direct instanceof DialectMismatchError) return direct;
  if (error instanceof DialectMismatchError) return error;
  if (error instanceof Error && error.cause instanceof DialectMismatchError) return error.cause;
  const any = all.map((c) => c.lastError).find((e) => e instanceof DialectMismatchError);
  return any instanceof DialectMismatchError ? any : undefined;
}

/**
 * The lines a demo prints for a dialect mismatch: the error's message (it
 * names the server's generation and the option to use) and the same advice
 * as a command line.
 */
export function mismatchLines(error: DialectMismatchError, command: string): string[] {
  return [
    `error: ${error.message}`,
    `       (${command} --dialect ${error.detected}, or --dialect auto, the default: the client finds the generation itself)`,
  ];
}
