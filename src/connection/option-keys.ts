/**
 * Catching misspelt option names: an options object with a key that is not
 * an option is refused with a `TypeError` naming the key and, when one is
 * close enough, the option meant (`poolsize` → "did you mean poolSize?").
 * Shared by every constructor that takes options (connection, client,
 * fleet); runs at construction only, never on the request path.
 *
 * @module
 */

/**
 * The edit distance between two strings, case-insensitive: the fewest
 * insertions, deletions, substitutions and swaps of two adjacent characters
 * that turn one into the other (optimal string alignment, the restricted
 * Damerau–Levenshtein distance). `poolsize`/`poolSize` are at 0,
 * `poolSzie`/`poolSize` at 1.
 */
export function editDistance(a: string, b: string): number {
  const s = a.toLowerCase();
  const t = b.toLowerCase();
  if (s === t) return 0;
  // Three rows of the dynamic-programming table: two back, one back, current.
  let twoBack: number[] = [];
  let previous = Array.from({ length: t.length + 1 }, (_, j) => j);
  for (let i = 1; i <= s.length; i++) {
    const current = [i];
    for (let j = 1; j <= t.length; j++) {
      const substitution = previous[j - 1]! + (s[i - 1] === t[j - 1] ? 0 : 1);
      let best = Math.min(previous[j]! + 1, current[j - 1]! + 1, substitution);
      if (i > 1 && j > 1 && s[i - 1] === t[j - 2] && s[i - 2] === t[j - 1]) best = Math.min(best, twoBack[j - 2]! + 1);
      current.push(best);
    }
    twoBack = previous;
    previous = current;
  }
  return previous[t.length]!;
}

/** How far a name may be from an option for that option to be suggested: 1, or a third of the option's length. */
function tolerance(option: string): number {
  return Math.max(1, Math.floor(option.length / 3));
}

/**
 * The valid name closest to `name`, when one is close enough to be what was
 * meant: within a third of its length (at least 1) in edit distance, case
 * ignored, or one that starts with `name` or `name` starts with (3
 * characters at least: `timeout` → `timeoutLimit`). Ties go to the one that
 * also matches case best, then to the first in `valid`. `undefined` when
 * nothing is close.
 */
export function closestName(name: string, valid: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestScore = Infinity;
  const lowerName = name.toLowerCase();
  for (const candidate of valid) {
    const distance = editDistance(name, candidate);
    const lowerCandidate = candidate.toLowerCase();
    const prefix =
      Math.min(name.length, candidate.length) >= 3 && (lowerCandidate.startsWith(lowerName) || lowerName.startsWith(lowerCandidate));
    if (distance > tolerance(candidate) && !prefix) continue;
    // Distance first (a match by prefix only ranks after every close one); among equals, case decides.
    const rank = distance <= tolerance(candidate) ? distance : tolerance(candidate) + 1;
    const score = rank * 1_000 + caseDistance(name, candidate);
    if (score < bestScore) {
      best = candidate;
      bestScore = score;
    }
  }
  return best;
}

/** The edit distance with case counted, capped to keep it a tie-breaker. */
function caseDistance(a: string, b: string): number {
  let differences = 0;
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) differences++;
  return Math.min(999, differences + Math.abs(a.length - b.length));
}

/**
 * The message of an unknown option: it names the key (with `path`, e.g.
 * `backoff.maximum`) and the option it most likely meant, or else lists the
 * valid ones.
 */
export function unknownOptionMessage(owner: string, key: string, valid: readonly string[], path = ''): string {
  const suggestion = closestName(key, valid);
  const head = `${owner}: unknown option ${JSON.stringify(path + key)}`;
  if (suggestion !== undefined) return `${head}; did you mean ${path}${suggestion}?`;
  return `${head}; the options are ${valid.map((name) => path + name).join(', ')}`;
}

/**
 * Refuses an options object holding a key that is not in `valid` (own
 * enumerable string keys; a key whose value is `undefined` counts too: it
 * is still a misspelling).
 * @param owner - who takes the options, for the message (`'ZCached'`)
 * @param path - prefix of nested options in the message (`'backoff.'`)
 * @throws TypeError naming the first unknown key and the closest valid one
 */
export function assertKnownOptions(options: object, valid: readonly string[], owner: string, path = ''): void {
  for (const key of Object.keys(options)) {
    if (!valid.includes(key)) throw new TypeError(unknownOptionMessage(owner, key, valid, path));
  }
}

/** The keys of a `{ name: true, ... }` table, which `satisfies Record<keyof T, true>` keeps in step with the type `T`. */
export function optionNames<T extends Record<string, true>>(table: T): readonly (keyof T & string)[] {
  return Object.freeze(Object.keys(table)) as readonly (keyof T & string)[];
}
