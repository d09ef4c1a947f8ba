/**
 * The timeline of the replicas demo (`npm start -- --fleet 3 --replicas 2`):
 * one line per change of the fleet (a server ejected, fenced, probed,
 * returned, swept, warmed), and the events of single reads (`failover`,
 * `readRepaired`), which come by the hundred, folded into one line per
 * burst: the burst is printed before the next change, or at the end.
 *
 * @module
 */

import type { FleetEvent } from '../fleet/state.js';

/** A fleet event and when it came, in ms since the start of the run. */
export type TimedEvent = FleetEvent & { readonly atMs: number };

const count = (n: number): string => n.toLocaleString('en-US');

/** `[ 1234 ms]`: the timeline's time stamp. */
export function stamp(atMs: number): string {
  return `[${String(Math.round(atMs)).padStart(5)} ms]`;
}

/** One change of the fleet in words (not for `failover` and `readRepaired`, see {@link ReplicaTimeline}). */
export function describeEvent(event: FleetEvent): string {
  switch (event.type) {
    case 'serverEjected':
      return `serverEjected ${event.server} (${event.failures} failures${event.error === undefined ? '' : `, the last a ${event.error.name}`})`;
    case 'serverFenced':
      return `serverFenced ${event.server} (${event.key === undefined ? 'a write' : `a write of ${event.key}`} it could not confirm${event.error === undefined ? '' : `: ${event.error.name}`}; out until flushed)`;
    case 'probeFailed':
      return `probeFailed ${event.server}${event.error === undefined ? '' : ` (${event.error.name})`}`;
    case 'serverReturned':
      return `serverReturned ${event.server} (flushed; it was out for ${(event.ejectedFor / 1000).toFixed(1)} s)`;
    case 'serverSwept':
      return `serverSwept ${event.server} (deleted ${count(event.deleted)} copies of keys that are no longer its own)`;
    case 'serverWarmed':
      return `serverWarmed ${event.server} (${count(event.copied)} keys copied to it from their other replica)`;
    case 'serverAdded':
    case 'serverRemoved':
      return `${event.type} ${event.server}`;
    case 'weightChanged':
      return `weightChanged ${event.server} (${event.from} → ${event.to})`;
    case 'failover':
      return `failover ${event.key}: ${event.from} → ${event.to} (${event.reason})`;
    case 'readRepaired':
      return `readRepaired ${event.key}: ${event.from} → ${event.to.join(', ')}`;
  }
}

/** Counts by label, in order of first appearance. */
class Tally {
  readonly #counts = new Map<string, number>();
  #total = 0;
  add(label: string): void {
    this.#counts.set(label, (this.#counts.get(label) ?? 0) + 1);
    this.#total++;
  }
  get total(): number {
    return this.#total;
  }
  /** `after a miss on c:3`, or `30 after a miss on c:3, 1 after a ConnectionError on a:1` for several labels. */
  describe(prefix: string): string {
    return [...this.#counts].map(([label, n]) => (this.#counts.size === 1 ? `${prefix}${label}` : `${count(n)} ${prefix}${label}`)).join(', ');
  }
}

/**
 * Prints the timeline: `line` for the demo's own steps, `event` for the
 * fleet's events; `flush` at the end prints a burst still open.
 */
export class ReplicaTimeline {
  readonly #print: (line: string) => void;
  #burst: { firstMs: number; lastMs: number; failover: Tally; repaired: Tally } | undefined;

  constructor(print: (line: string) => void) {
    this.#print = print;
  }

  /** A step of the demo (`stopping server …`) at `atMs`. */
  line(atMs: number, text: string): void {
    this.flush();
    this.#print(`  ${stamp(atMs)} ${text}`);
  }

  /** A fleet event: a change gets its line; a read's `failover` or `readRepaired` joins the current burst. */
  event(event: TimedEvent): void {
    if (event.type === 'failover' || event.type === 'readRepaired') {
      const burst = (this.#burst ??= { firstMs: event.atMs, lastMs: event.atMs, failover: new Tally(), repaired: new Tally() });
      burst.lastMs = Math.max(burst.lastMs, event.atMs);
      if (event.type === 'failover') burst.failover.add(event.reason === 'miss' ? `a miss on ${event.from}` : `a ${event.error?.name ?? 'failure'} on ${event.from}`);
      else burst.repaired.add(`copied back to ${event.to.join(', ')}`);
      return;
    }
    this.line(event.atMs, describeEvent(event));
  }

  /** Prints the open burst of read events, if any. */
  flush(): void {
    const burst = this.#burst;
    if (burst === undefined) return;
    this.#burst = undefined;
    const parts: string[] = [];
    if (burst.failover.total > 0) parts.push(`failover ×${count(burst.failover.total)} (${burst.failover.describe('after ')}: read from the next replica)`);
    if (burst.repaired.total > 0) parts.push(`readRepaired ×${count(burst.repaired.total)} (${burst.repaired.describe('')})`);
    const until = Math.round(burst.lastMs) > Math.round(burst.firstMs) ? `, until ${Math.round(burst.lastMs)} ms` : '';
    this.#print(`  ${stamp(burst.firstMs)} ${parts.join('; ')}${until}`);
  }
}

/** The order of {@link summariseEvents}: the changes of a server's life, then the events of single reads. */
const SUMMARY_ORDER: readonly FleetEvent['type'][] = [
  'serverFenced',
  'serverEjected',
  'probeFailed',
  'serverReturned',
  'serverSwept',
  'serverWarmed',
  'failover',
  'readRepaired',
  'serverAdded',
  'serverRemoved',
  'weightChanged',
];

/** `1 serverEjected, 2 probeFailed, …`: the events of a run by type (see {@link SUMMARY_ORDER}). */
export function summariseEvents(events: readonly FleetEvent[]): string {
  const byType = new Map<string, number>();
  for (const event of events) byType.set(event.type, (byType.get(event.type) ?? 0) + 1);
  const types = SUMMARY_ORDER.filter((type) => byType.has(type));
  return types.length === 0 ? 'none' : types.map((type) => `${count(byType.get(type)!)} ${type}`).join(', ');
}
