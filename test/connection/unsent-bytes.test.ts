/**
 * UnsentBytes on its own: absolute offsets through append, truncate,
 * collect, slice (a view within one chunk, a copy across chunks), release
 * (with and without trimming the chunk it falls in), compact, clear and
 * takeLast.
 */
import { describe, expect, it } from 'vitest';
import { UnsentBytes } from '../../src/connection/unsent-bytes.js';
import { DIALECTS, resolveDialect } from '../../src/protocol/dialect.js';
import { encodeRequest, type Command } from '../../src/protocol/encoder.js';

const DIALECT = resolveDialect({ base: 'etx', maxWriteBytes: Infinity, maxUnansweredBytes: Infinity });
const bytesOf = (command: Command): Buffer => encodeRequest(DIALECT, command);
const text = (b: Buffer): string => b.toString('latin1');

/** Appends commands; returns each one's [start, end). */
function appendAll(unsent: UnsentBytes, ...commands: Command[]): { start: number; end: number }[] {
  return commands.map((command) => {
    const start = unsent.end;
    const end = unsent.append(command);
    expect(end - start).toBe(bytesOf(command).length);
    return { start, end };
  });
}

describe('UnsentBytes', () => {
  it('addresses requests by absolute offsets, from 0', () => {
    const unsent = new UnsentBytes(DIALECT);
    expect(unsent.end).toBe(0);
    const [a, b] = appendAll(unsent, ['PING'], ['GET', 'k']);
    expect(a).toEqual({ start: 0, end: bytesOf(['PING']).length });
    expect(b?.start).toBe(a?.end);
    expect(unsent.end).toBe(b?.end);
  });

  it('refuses a command without adding a byte', () => {
    const unsent = new UnsentBytes(DIALECT);
    appendAll(unsent, ['PING']);
    const end = unsent.end;
    expect(() => unsent.append(['SET', 'k', 'a\x03'])).toThrow();
    expect(unsent.end).toBe(end);
  });

  it('truncate drops a request refused after encoding, also after earlier collects', () => {
    const unsent = new UnsentBytes(DIALECT);
    const [a] = appendAll(unsent, ['PING']);
    unsent.collect();
    const [b, c] = appendAll(unsent, ['GET', 'b'], ['GET', 'c']);
    unsent.truncate(c!.start);
    expect(unsent.end).toBe(b!.end);
    const [d] = appendAll(unsent, ['GET', 'd']);
    expect(d!.start).toBe(b!.end);
    unsent.collect();
    expect(text(unsent.slice(a!.start, d!.end))).toBe(text(Buffer.concat([bytesOf(['PING']), bytesOf(['GET', 'b']), bytesOf(['GET', 'd'])])));
  });

  it('slice is a view within one chunk, a copy across chunks, at any offsets', () => {
    const unsent = new UnsentBytes(DIALECT);
    const commands: Command[] = [['GET', 'a'], ['GET', 'bb'], ['GET', 'ccc'], ['GET', 'dddd'], ['GET', 'eeeee']];
    const ranges = appendAll(unsent, commands[0]!, commands[1]!);
    unsent.collect();
    ranges.push(...appendAll(unsent, commands[2]!));
    unsent.collect();
    unsent.collect(); // nothing new: no empty chunk
    ranges.push(...appendAll(unsent, commands[3]!, commands[4]!));
    unsent.collect();
    const all = Buffer.concat(commands.map(bytesOf));
    for (let i = 0; i < commands.length; i++) {
      for (let j = i; j < commands.length; j++) {
        const start = ranges[i]!.start;
        const end = ranges[j]!.end;
        expect(text(unsent.slice(start, end)), `${i}..${j}`).toBe(text(all.subarray(start, end)));
      }
    }
    // Within one chunk: a view of the same memory; across chunks: fresh memory.
    const first = unsent.slice(ranges[0]!.start, ranges[0]!.end);
    const second = unsent.slice(ranges[1]!.start, ranges[1]!.end);
    expect(second.buffer).toBe(first.buffer);
    const across = unsent.slice(ranges[1]!.start, ranges[2]!.end);
    expect(across.buffer).not.toBe(first.buffer);
    expect(across.length).toBe(ranges[2]!.end - ranges[1]!.start);
    // Offsets inside requests too.
    expect(text(unsent.slice(ranges[0]!.start + 2, ranges[4]!.end - 3))).toBe(text(all.subarray(ranges[0]!.start + 2, ranges[4]!.end - 3)));
  });

  it('release forgets the chunks that end at the offset; what follows stays addressable', () => {
    const unsent = new UnsentBytes(DIALECT);
    const [a] = appendAll(unsent, ['GET', 'a']);
    unsent.collect();
    const [b] = appendAll(unsent, ['GET', 'b']);
    unsent.collect();
    const [c] = appendAll(unsent, ['GET', 'c']);
    unsent.collect();
    unsent.release(a!.end);
    expect(text(unsent.slice(b!.start, c!.end))).toBe(text(Buffer.concat([bytesOf(['GET', 'b']), bytesOf(['GET', 'c'])])));
    unsent.release(c!.end);
    // Releasing everything leaves a stream that goes on from the same offset.
    const [d] = appendAll(unsent, ['GET', 'd']);
    expect(d!.start).toBe(c!.end);
    unsent.collect();
    expect(text(unsent.slice(d!.start, d!.end))).toBe(text(bytesOf(['GET', 'd'])));
  });

  it('release inside a chunk keeps it whole unless asked to trim', () => {
    const unsent = new UnsentBytes(DIALECT);
    const [a, b] = appendAll(unsent, ['GET', 'a'], ['GET', 'b']);
    unsent.collect();
    const view = unsent.slice(b!.start, b!.end);
    unsent.release(a!.end);
    expect(unsent.slice(b!.start, b!.end).buffer).toBe(view.buffer);
    expect(text(unsent.slice(a!.start, b!.end))).toBe(text(Buffer.concat([bytesOf(['GET', 'a']), bytesOf(['GET', 'b'])])));
  });

  it('release with trim copies the live rest out once the dead front is as large or larger', () => {
    const unsent = new UnsentBytes(DIALECT);
    // dead == live: copied out.
    const [a, b] = appendAll(unsent, ['GET', 'a'], ['GET', 'b']);
    unsent.collect();
    const before = unsent.slice(b!.start, b!.end);
    unsent.release(a!.end, true);
    const after = unsent.slice(b!.start, b!.end);
    expect(after.buffer).not.toBe(before.buffer);
    expect(text(after)).toBe(text(bytesOf(['GET', 'b'])));
    // dead < live: kept as it is.
    const [c, d, e] = appendAll(unsent, ['GET', 'c'], ['GET', 'd'], ['GET', 'e']);
    unsent.collect();
    const view = unsent.slice(d!.start, e!.end);
    unsent.release(b!.end, true);
    unsent.release(c!.end, true);
    expect(unsent.slice(d!.start, e!.end).buffer).toBe(view.buffer);
    expect(text(unsent.slice(d!.start, e!.end))).toBe(text(Buffer.concat([bytesOf(['GET', 'd']), bytesOf(['GET', 'e'])])));
    // At the very start of a chunk: nothing to trim.
    const [f] = appendAll(unsent, ['GET', 'f']);
    unsent.collect();
    const fView = unsent.slice(f!.start, f!.end);
    unsent.release(e!.end, true);
    expect(unsent.slice(f!.start, f!.end).buffer).toBe(fView.buffer);
    // Trimming an empty stream is a no-op.
    unsent.release(f!.end, true);
    unsent.release(f!.end, true);
    expect(unsent.end).toBe(f!.end);
  });

  it('release drops the chunks before the offset, then trims the chunk it falls in', () => {
    const unsent = new UnsentBytes(DIALECT);
    const [a] = appendAll(unsent, ['GET', 'a']);
    unsent.collect();
    const [b, c] = appendAll(unsent, ['GET', 'bbbbbbbb'], ['GET', 'c']);
    unsent.collect();
    const before = unsent.slice(c!.start, c!.end);
    // The first chunk ends before the offset and goes; in the second, the dead front (b) is the larger: copied out.
    unsent.release(b!.end, true);
    const after = unsent.slice(c!.start, c!.end);
    expect(after.buffer).not.toBe(before.buffer);
    expect(text(after)).toBe(text(bytesOf(['GET', 'c'])));
    expect(a!.end).toBe(b!.start);
  });

  it('compact keeps the given requests back to back in one fresh chunk and moves their offsets', () => {
    const unsent = new UnsentBytes(DIALECT);
    const ranges = appendAll(unsent, ['GET', 'a'], ['GET', 'bb'], ['GET', 'ccc']);
    unsent.collect();
    ranges.push(...appendAll(unsent, ['GET', 'dddd'])); // not collected yet: compact collects it
    const kept = [ranges[1]!, ranges[3]!].map((r) => ({ ...r }));
    const end = unsent.end;
    unsent.compact(kept);
    expect(kept[0]).toEqual({ start: end, end: end + bytesOf(['GET', 'bb']).length });
    expect(kept[1]).toEqual({ start: kept[0]!.end, end: kept[0]!.end + bytesOf(['GET', 'dddd']).length });
    expect(unsent.end).toBe(kept[1]!.end);
    expect(text(unsent.slice(kept[0]!.start, kept[1]!.end))).toBe(text(Buffer.concat([bytesOf(['GET', 'bb']), bytesOf(['GET', 'dddd'])])));
    const [next] = appendAll(unsent, ['PING']);
    expect(next!.start).toBe(kept[1]!.end);
    unsent.collect();
    expect(text(unsent.slice(kept[0]!.start, next!.end))).toBe(text(Buffer.concat([bytesOf(['GET', 'bb']), bytesOf(['GET', 'dddd']), bytesOf(['PING'])])));
  });

  it('compact with nothing kept drops every byte; offsets go on', () => {
    const unsent = new UnsentBytes(DIALECT);
    appendAll(unsent, ['GET', 'a']);
    const end = unsent.end;
    unsent.compact([]);
    expect(unsent.end).toBe(end);
    expect(() => unsent.slice(0, 1)).toThrow();
    const [b] = appendAll(unsent, ['GET', 'b']);
    expect(b!.start).toBe(end);
    unsent.collect();
    expect(text(unsent.slice(b!.start, b!.end))).toBe(text(bytesOf(['GET', 'b'])));
  });

  it('clear drops collected and uncollected bytes; offsets go on', () => {
    const unsent = new UnsentBytes(DIALECT);
    appendAll(unsent, ['GET', 'a']);
    unsent.collect();
    appendAll(unsent, ['GET', 'b']);
    const end = unsent.end;
    unsent.clear();
    expect(unsent.end).toBe(end);
    expect(() => unsent.slice(0, 1)).toThrow();
    const [c] = appendAll(unsent, ['GET', 'c']);
    expect(c!.start).toBe(end);
    unsent.collect();
    expect(text(unsent.slice(c!.start, c!.end))).toBe(text(bytesOf(['GET', 'c'])));
  });

  it('takeLast takes one request alone (no pipelining); offsets go on', () => {
    const unsent = new UnsentBytes(DIALECTS['etx-request']);
    unsent.append(['GET', 'a']);
    expect(text(unsent.takeLast())).toBe(text(encodeRequest(DIALECTS['etx-request'], ['GET', 'a'])));
    const start = unsent.end;
    expect(start).toBe(encodeRequest(DIALECTS['etx-request'], ['GET', 'a']).length);
    const end = unsent.append(['GET', 'b']);
    expect(end - start).toBe(encodeRequest(DIALECTS['etx-request'], ['GET', 'b']).length);
    expect(text(unsent.takeLast())).toBe(text(encodeRequest(DIALECTS['etx-request'], ['GET', 'b'])));
    expect(unsent.end).toBe(end);
  });
});
