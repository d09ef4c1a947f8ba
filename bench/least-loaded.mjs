// Cost of ConnectionPool.getLeastLoadedConnection(), the choice made on every
// request, with 1, 8 and 64 connected connections carrying varied pending counts.
//
//   npm run build && node bench/least-loaded.mjs   (no flags; --help)
//
// A measurement, not a test: nothing here asserts a time.

import { ConnectionPool } from '../dist/pool/index.js';
import { FakeConnection } from '../dist/testing/fake-connection.js';
import { LEAST_LOADED_USAGE, cli, parseNoArgs } from './args.mjs';

cli('least-loaded', LEAST_LOADED_USAGE, parseNoArgs);

const WARM_UP_CALLS = 1_000_000;
const MEASURED_CALLS = 5_000_000;
const ROUNDS = 5;

/** A pool of `size` connected fakes; every connection has at least one pending request, so each call scans them all. */
async function connectedPool(size) {
  const connections = Array.from({ length: size }, () => new FakeConnection({ state: 'connected' }));
  connections.forEach((connection, index) => connection.addPending(1 + ((index * 7) % 13)));
  const pool = new ConnectionPool(size, () => new FakeConnection());
  await pool.extendPoolByConnections(connections);
  return pool;
}

/** Nanoseconds per call: the best of a few rounds, after a warm-up. */
function measure(pool) {
  let sink = 0;
  for (let call = 0; call < WARM_UP_CALLS; call++) sink += pool.getLeastLoadedConnection().pendingRequests;
  let best = Infinity;
  for (let round = 0; round < ROUNDS; round++) {
    const start = process.hrtime.bigint();
    for (let call = 0; call < MEASURED_CALLS; call++) sink += pool.getLeastLoadedConnection().pendingRequests;
    const elapsed = Number(process.hrtime.bigint() - start);
    best = Math.min(best, elapsed / MEASURED_CALLS);
  }
  if (sink === -1) console.log('unreachable');
  return best;
}

const rows = [];
for (const size of [1, 8, 64]) {
  const pool = await connectedPool(size);
  rows.push({ connections: size, 'ns/call': measure(pool).toFixed(1) });
  await pool.close();
}
console.log(`getLeastLoadedConnection(), ${MEASURED_CALLS.toLocaleString('en')} calls per round, best of ${ROUNDS} (node ${process.version})`);
console.table(rows);
