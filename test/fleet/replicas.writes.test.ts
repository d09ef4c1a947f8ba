/**
 * `replicaWrite` (src/fleet/replica-writes.ts) on its own, over a stand-in
 * context: what a write does when the placement changes while it waits
 * for a read repair of its bucket.
 */
import { describe, expect, it } from 'vitest';
import { ServerEjectedError } from '../../src/fleet/index.js';
import type { ReplicaContext } from '../../src/fleet/replica-reads.js';
import { replicaWrite } from '../../src/fleet/replica-writes.js';
import { WriteGuard } from '../../src/fleet/write-guard.js';

describe('a write that waited for a repair', () => {
  it('finding no live replica when placed afresh, rejects with the fleet\'s error (not with undefined), nothing sent', async () => {
    const guard = new WriteGuard();
    let release!: () => void;
    guard.hold(guard.bucket('k'), new Promise<void>((resolve) => (release = resolve)));
    const unavailable = new ServerEjectedError('s1', 100, { now: 0, everyServer: true });
    let sent = 0;
    const context = {
      guard,
      shell: { replicasFor: () => [] },
      failoverOnMiss: true,
      emit: () => undefined,
      now: () => 0,
      noServer: () => unavailable,
      unavailable: () => unavailable,
    } as unknown as ReplicaContext;
    // It was placed on a server before the wait; every server went out during it.
    const server = { client: {}, trackWrite: () => Promise.resolve('OK') };
    const write = replicaWrite(context, ['k'], [server as never], async () => {
      sent++;
      return 'OK';
    }, (values: string[]) => values[0]!);
    release();
    await expect(write).rejects.toBe(unavailable);
    expect(sent).toBe(0);
    // The guard is left as it was: a later write of the bucket goes ahead.
    expect(guard.quiet(guard.bucket('k'), guard.stamp(guard.bucket('k')))).toBe(true);
  });
});
