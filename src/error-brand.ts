/**
 * `instanceof` for the error classes across copies of this package.
 *
 * An application that loads both the ES module build and the CommonJS build
 * (its own code imports 'zcached', a CommonJS dependency requires it) holds
 * two copies of every class. The ordinary `instanceof` only follows
 * prototypes, so an error made by one copy is not an instance of the other
 * copy's class. The error classes add a brand that both copies read the same
 * way:
 *
 * - every error has, through its prototype (never as an own property), a
 *   property keyed by `Symbol.for('zcached.error')` (the global symbol
 *   registry, so both copies share the key): a frozen array of strings, one
 *   per class from the error's own class up to `ZCachedError`;
 * - each string is the class's key: `zcached:<Name>` for the classes of
 *   src/errors.ts (fixed here, so a minifier renaming classes does not change
 *   it), the class's `name` for every other subclass (the fleet's and the
 *   Keyv adapter's errors, your own);
 * - `ZCachedError` (hence every subclass) and `PoolEmptyError` answer
 *   `instanceof` with the ordinary prototype check, else with whether the
 *   value's brand holds the class's key.
 *
 * This format is a contract between versions of the package that may be
 * loaded side by side: change it only in a way older copies still read.
 * The other classes (`ConnectionPool`, `Float`, `ExponentialBackoff`, ...)
 * keep the ordinary `instanceof`: some are checked once per encoded value.
 *
 * @module
 * @internal
 */

/** The brand's key, shared by every copy of the package. */
export const ERROR_BRAND: unique symbol = Symbol.for('zcached.error');

/** The fixed keys of the classes of src/errors.ts. */
const fixedKeys = new WeakMap<object, string>();
/** Per prototype: the keys of its class and of every class above it, up to the root. */
const chains = new WeakMap<object, readonly string[]>();
const NONE: readonly string[] = Object.freeze([]);

/** A class's key: its fixed key, else its name. */
function keyOf(constructor: { readonly name: string }): string {
  return fixedKeys.get(constructor) ?? constructor.name;
}

/** The keys of the classes from `prototype` up to a root; none when there is no root above it. */
function chainOf(start: object | null): readonly string[] {
  const path: object[] = [];
  let prototype = start;
  let above: readonly string[] | undefined;
  while (prototype !== null && (above = chains.get(prototype)) === undefined) {
    path.push(prototype);
    prototype = Object.getPrototypeOf(prototype) as object | null;
  }
  if (above === undefined) return NONE; // not an error of this copy (or a root's own prototype)
  for (let i = path.length - 1; i >= 0; i--) {
    const own = path[i]!;
    const constructor = Object.hasOwn(own, 'constructor') ? (own as { constructor?: unknown }).constructor : undefined;
    if (typeof constructor === 'function') above = Object.freeze([keyOf(constructor), ...above]);
    chains.set(own, above);
  }
  return above;
}

/**
 * Gives `classes` their fixed keys (`zcached:<property name>`). Call it once
 * for the classes of src/errors.ts, before any brand is read.
 */
export function fixErrorKeys(classes: Readonly<Record<string, object>>): void {
  for (const [name, constructor] of Object.entries(classes)) fixedKeys.set(constructor, `zcached:${name}`);
}

/**
 * Makes `root` a root of the brand: its instances, and those of its
 * subclasses, carry the keys of their classes followed by `rootKeys` (the
 * fixed keys of `root` and of the classes it also counts as, by the
 * property names given to {@link fixErrorKeys}).
 */
export function brandRoot(root: { readonly prototype: object }, rootKeys: readonly string[]): void {
  chains.set(root.prototype, Object.freeze(rootKeys.map((name) => `zcached:${name}`)));
  Object.defineProperty(root.prototype, ERROR_BRAND, {
    get(this: object): readonly string[] {
      return chainOf(Object.getPrototypeOf(this) as object | null);
    },
    enumerable: false,
    configurable: false,
  });
}

/**
 * What `value instanceof constructor` answers for a branded class: the
 * ordinary prototype check, else whether `value` carries the class's key.
 */
export function isBrandedInstance(constructor: { readonly name: string; readonly prototype: unknown }, value: unknown): boolean {
  if (Function.prototype[Symbol.hasInstance].call(constructor, value)) return true;
  if (typeof value !== 'object' || value === null) return false;
  const chain = (value as { readonly [ERROR_BRAND]?: unknown })[ERROR_BRAND];
  return Array.isArray(chain) && chain.includes(keyOf(constructor));
}
