/**
 * One edit of a valid option name, for the did-you-mean properties: insert
 * a character, delete one, substitute one, swap two neighbours, or change a
 * letter's case. Never empty and never one of the valid names.
 */
import fc from 'fast-check';

export const typoOf = (valid: readonly string[]): fc.Arbitrary<{ name: string; typo: string }> =>
  fc
    .record({
      name: fc.constantFrom(...valid),
      edit: fc.constantFrom('insert', 'delete', 'substitute', 'swap', 'case'),
      at: fc.nat(),
      char: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_'),
    })
    .map(({ name, edit, at, char }) => {
      const i = at % (name.length + (edit === 'insert' ? 1 : 0));
      const c = name[i] ?? '';
      const typo = {
        insert: name.slice(0, i) + char + name.slice(i),
        delete: name.slice(0, i) + name.slice(i + 1),
        substitute: name.slice(0, i) + char + name.slice(i + 1),
        swap: name.slice(0, i) + name.slice(i + 1, i + 2) + name.slice(i, i + 1) + name.slice(i + 2),
        case: name.slice(0, i) + (c === c.toLowerCase() ? c.toUpperCase() : c.toLowerCase()) + name.slice(i + 1),
      }[edit];
      return { name, typo };
    })
    .filter(({ typo }) => typo !== '' && !valid.includes(typo));
