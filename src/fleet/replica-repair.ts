/**
 * Read repair (`replicas` > 1): a read that found a key on a later replica
 * copies it back to the replicas that missed it, so a server that returned
 * empty warms up from its peers. Guarded by `WriteGuard`: never over a write.
 *
 * @module
 */

import type { ReplicaContext } from './replica-reads.js';
import type { FleetServer } from './server.js';

/**
 * Copies `key` from `from` to the replicas in `to` that missed it, in the
 * background, when no write of its bucket ran since the read began; writes
 * of the bucket wait for it. A copy a replica cannot confirm fences it.
 */
export function repair(context: ReplicaContext, key: string, from: FleetServer, to: readonly FleetServer[], bucket: number, stamp: number): void {
  const { guard, shell } = context;
  if (!guard.quiet(bucket, stamp) || guard.repairing(bucket) !== undefined) return;
  const work = (async (): Promise<void> => {
    // The bytes as stored (the read may have decoded them), read again now that no write is running.
    const stored = await from.track(from.client.getBuffer(key));
    if (stored === undefined || !guard.quiet(bucket, stamp)) return;
    // Still replicas of the key, still trusted, up: checked as the copies are sent, in the same turn (a sweep waits for them).
    const replicas = shell.replicasFor(key);
    const targets = to.filter((server) => server.health === 'up' && replicas.includes(server) && shell.trusted(server, key));
    if (targets.length === 0) return;
    const copies = targets.map((server) =>
      server.trackWrite(server.client.set(key, stored)).then(
        () => server.id,
        (error: unknown) => {
          shell.report({ type: 'fence', id: server.id, at: context.now(), key, error: error instanceof Error ? error : new Error(String(error)) });
          return undefined;
        },
      ),
    );
    const done = (await Promise.all(copies)).filter((id): id is string => id !== undefined);
    if (done.length > 0) context.emit({ type: 'readRepaired', key, from: from.id, to: done });
  })().catch(() => undefined);
  guard.hold(bucket, work);
}
