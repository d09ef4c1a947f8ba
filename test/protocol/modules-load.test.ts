/**
 * Every module of src/protocol/ loads on its own, inside a test. A change that
 * makes a module throw while it is imported (a broken module-level constant)
 * then fails a test, not only the loading of the files that import it at
 * their top, which a mutation run does not count as a failed test.
 */
import { describe, expect, it } from 'vitest';

const modules: [string, () => Promise<Record<string, unknown>>][] = [
  ['decoder', () => import('../../src/protocol/decoder.js')],
  ['decoder-limits', () => import('../../src/protocol/decoder-limits.js')],
  ['reply-parser', () => import('../../src/protocol/reply-parser.js')],
  ['dialect', () => import('../../src/protocol/dialect.js')],
  ['encoder', () => import('../../src/protocol/encoder.js')],
  ['value-rules', () => import('../../src/protocol/value-rules.js')],
  ['values', () => import('../../src/protocol/values.js')],
  ['wire-encoder', () => import('../../src/protocol/wire-encoder.js')],
  ['index', () => import('../../src/protocol/index.js')],
];

describe('src/protocol/ modules', () => {
  it.each(modules)('%s loads', async (_, load) => {
    expect(Object.keys(await load()).length).toBeGreaterThan(0);
  });
});
