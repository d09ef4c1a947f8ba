/**
 * The consumer projects of the packaging test: each one is a folder with a
 * `package.json`, maybe a `tsconfig.json`, and one program that imports (or
 * requires) 'zcached', 'zcached/testing' and, when the package has it,
 * 'zcached/keyv'; starts the embedded server from 'zcached/testing'; does a
 * SET and a GET with `ZCached`, and another through `KeyvZCached` on the same
 * client; closes both; and prints one JSON line:
 * `{ "value": <what GET returned>, "keyv": <what KeyvZCached's get returned, or null>, "resolved": <where 'zcached' resolved> }`.
 * The two plain JavaScript programs first load the other format's copy of
 * 'zcached' too (`createRequire` in the ES module, `import()` in the
 * CommonJS one) and check that `instanceof` works across the two copies for
 * the error classes (see `crossCopyCheck`); they throw when it does not.
 *
 * The program must then exit on its own: a socket or timer left open would
 * keep it alive until the test's bound kills it.
 */

/**
 * A TypeScript that compiles the consumers: 5.9 (the `typescript` package,
 * through typecheck.mjs) or 7 (the `typescript7` package's `tsc`).
 */
export type Compiler = '5.9' | '7';

/** One consumer project. */
export interface Consumer {
  /** Folder name, and the value the program SETs and expects back. */
  readonly name: string;
  /** Files to write, by path relative to the folder. */
  readonly files: Readonly<Record<string, string>>;
  /**
   * The TypeScripts that check and compile it, each into its own folder
   * (see {@link mainOf}), before it runs: each one whose config it supports
   * (TypeScript 7 removed `node10`; TypeScript 5.9 refuses `Bundler` with
   * `module: CommonJS`). None for plain JavaScript.
   */
  readonly compilers: readonly Compiler[];
  /** The file `node` runs: `main.js`, or for TypeScript the path under the build folder (`main.js` for `src/main.ts`). */
  readonly main: string;
  /** How 'zcached' must resolve: the CommonJS build or the ES module build. */
  readonly format: 'cjs' | 'esm';
}

/** Where `compiler` writes a TypeScript consumer's build: `out/` (TypeScript 5.9, the tsconfig's `outDir`), `out-ts7/`. */
export function outDirOf(compiler: Compiler): string {
  return compiler === '5.9' ? 'out' : 'out-ts7';
}

/** The file to run, relative to the consumer's folder, for its build by `compiler` (none: plain JavaScript). */
export function mainOf(consumer: Consumer, compiler: Compiler | undefined): string {
  return compiler === undefined ? consumer.main : `${outDirOf(compiler)}/${consumer.main}`;
}

const json = (value: unknown): string => `${JSON.stringify(value, null, 2)}\n`;

/**
 * The body shared by every program: `server`, `client` and `KeyvZCached`
 * are in scope; `resolved` is where 'zcached' resolved.
 */
function body(name: string, withKeyv: boolean, typed: boolean): string {
  const declare = (variable: string): string => (typed ? `const ${variable}: unknown` : `const ${variable}`);
  // Through the Keyv adapter: the same client, another key.
  const keyv = withKeyv
    ? [
        '    const store = new KeyvZCached(client);',
        `    await store.set('packaging:keyv', ${JSON.stringify(`${name}:keyv`)});`,
        `    ${declare('keyv')} = await store.get('packaging:keyv');`,
      ]
    : [`    ${declare('keyv')} = null;`];
  return [
    `  const server${typed ? ': ZCachedServer' : ''} = await startServer();`,
    `  const client = new ZCached({ host: '127.0.0.1', port: server.port });`,
    '  try {',
    '    await client.run();',
    `    await client.set('packaging', ${JSON.stringify(name)});`,
    `    ${declare('value')} = await client.get('packaging');`,
    ...keyv,
    '    console.log(JSON.stringify({ value, keyv, resolved }));',
    '  } finally {',
    '    await client.close();',
    '    await server.close();',
    '  }',
  ].join('\n');
}

/**
 * The dual-package hazard: `esm` and `cjs` (in scope) are the ES module and
 * the CommonJS copy of 'zcached', loaded side by side. An error made by one
 * copy must be `instanceof` the other copy's class (and its base class), and
 * of no other class; `ConnectionPool` and the other classes keep the ordinary
 * `instanceof`, so they are not checked. Throws, naming every check that
 * failed.
 */
function crossCopyCheck(indent: string): string {
  return [
    `if (require.resolve('zcached').replaceAll('\\\\', '/').endsWith('/dist/cjs/index.js') === false) {`,
    `  throw new Error('the CommonJS copy of zcached resolved to ' + require.resolve('zcached'));`,
    '}',
    'const fromCjs = new cjs.TimeoutError(\'too slow\');',
    'const fromEsm = new esm.TimeoutError(\'too slow\');',
    'const crossCopy = {',
    '  \'two copies\': cjs.TimeoutError !== esm.TimeoutError && !Function.prototype[Symbol.hasInstance].call(esm.TimeoutError, fromCjs),',
    '  \'CJS TimeoutError instanceof ESM TimeoutError\': fromCjs instanceof esm.TimeoutError,',
    '  \'CJS TimeoutError instanceof ESM ZCachedError\': fromCjs instanceof esm.ZCachedError,',
    '  \'ESM TimeoutError instanceof CJS TimeoutError\': fromEsm instanceof cjs.TimeoutError,',
    '  \'ESM TimeoutError instanceof CJS ZCachedError\': fromEsm instanceof cjs.ZCachedError,',
    '  \'CJS NoServerError instanceof ESM NoServerError\': new cjs.NoServerError() instanceof esm.NoServerError,',
    '  \'CJS PoolEmptyError instanceof ESM PoolEmptyError\': new cjs.PoolEmptyError() instanceof esm.PoolEmptyError,',
    '  \'ESM PoolEmptyError instanceof CJS ZCachedError\': new esm.PoolEmptyError() instanceof cjs.ZCachedError,',
    '  \'CJS TimeoutError not instanceof ESM ServerError\': !(fromCjs instanceof esm.ServerError),',
    '  \'ESM TimeoutError not instanceof CJS ServerError\': !(fromEsm instanceof cjs.ServerError),',
    '  \'CJS ServerError not instanceof ESM TimeoutError\': !(new cjs.ServerError(\'ERR x\') instanceof esm.TimeoutError),',
    '  \'Error not instanceof CJS ZCachedError\': !(new Error(\'x\') instanceof cjs.ZCachedError),',
    '};',
    'const crossCopyFailed = Object.keys(crossCopy).filter((check) => !crossCopy[check]);',
    'if (crossCopyFailed.length > 0) {',
    '  throw new Error(\'instanceof across the ESM and CJS copies: failed: \' + crossCopyFailed.join(\'; \'));',
    '}',
  ]
    .map((line) => indent + line)
    .join('\n');
}

/** A program in ES module syntax (compiled to `require` calls when the project is CommonJS). */
function esmSyntax(name: string, withKeyv: boolean, typed: boolean, topLevelAwait: boolean, resolved: string, crossCopy = false): string {
  const lines = [
    `import { ZCached } from 'zcached';`,
    typed ? `import { startServer, type ZCachedServer } from 'zcached/testing';` : `import { startServer } from 'zcached/testing';`,
  ];
  if (withKeyv) lines.push(`import { KeyvZCached } from 'zcached/keyv';`);
  if (crossCopy) {
    // Plain JavaScript only (the check indexes objects by string).
    lines.push(`import { createRequire } from 'node:module';`, `import * as esm from 'zcached';`);
  }
  lines.push('', `const resolved = ${resolved};`, '');
  if (crossCopy) {
    lines.push('const require = createRequire(import.meta.url);', `const cjs = require('zcached');`, crossCopyCheck(''), '');
  }
  if (topLevelAwait) {
    lines.push('{', body(name, withKeyv, typed), '}');
  } else {
    lines.push(
      `async function main()${typed ? ': Promise<void>' : ''} {`,
      body(name, withKeyv, typed),
      '}',
      'main().catch((error) => {',
      '  console.error(error);',
      '  process.exitCode = 1;',
      '});',
    );
  }
  return `${lines.join('\n')}\n`;
}

/** A plain CommonJS program with `require`. */
function requireSyntax(name: string, withKeyv: boolean): string {
  const lines = [
    `'use strict';`,
    `const { ZCached } = require('zcached');`,
    `const { startServer } = require('zcached/testing');`,
  ];
  if (withKeyv) lines.push(`const { KeyvZCached } = require('zcached/keyv');`);
  lines.push(
    '',
    `const resolved = require.resolve('zcached');`,
    '',
    'async function main() {',
    `  const esm = await import('zcached');`,
    `  const cjs = require('zcached');`,
    crossCopyCheck('  '),
    body(name, withKeyv, false),
    '}',
    'main().catch((error) => {',
    '  console.error(error);',
    '  process.exitCode = 1;',
    '});',
  );
  return `${lines.join('\n')}\n`;
}

/** Compiler options every TypeScript consumer shares: strict, and the package's `.d.ts` checked too. */
const BASE_OPTIONS = {
  target: 'ES2022',
  strict: true,
  skipLibCheck: false,
  types: ['node'],
  outDir: 'out',
  rootDir: 'src',
};

const tsconfig = (options: Record<string, unknown>): string =>
  json({ compilerOptions: { ...BASE_OPTIONS, ...options }, include: ['src'] });

/** Where 'zcached' resolved, in an ES module. */
const ESM_RESOLVED = `import.meta.resolve('zcached')`;
/** Where 'zcached' resolved, in a CommonJS module. */
const CJS_RESOLVED = `require.resolve('zcached')`;

/** Every consumer, for a package with (or without) the 'zcached/keyv' entry. */
export function consumers(withKeyv: boolean): readonly Consumer[] {
  return [
    {
      name: 'esm-js',
      files: {
        'package.json': json({ name: 'esm-js', private: true, type: 'module' }),
        'main.js': esmSyntax('esm-js', withKeyv, false, true, ESM_RESOLVED, true),
      },
      compilers: [],
      main: 'main.js',
      format: 'esm',
    },
    {
      name: 'cjs-js',
      files: {
        'package.json': json({ name: 'cjs-js', private: true, type: 'commonjs' }),
        'main.js': requireSyntax('cjs-js', withKeyv),
      },
      compilers: [],
      main: 'main.js',
      format: 'cjs',
    },
    {
      name: 'ts-nodenext-esm',
      files: {
        'package.json': json({ name: 'ts-nodenext-esm', private: true, type: 'module' }),
        'tsconfig.json': tsconfig({ module: 'NodeNext', moduleResolution: 'NodeNext', verbatimModuleSyntax: true }),
        'src/main.ts': esmSyntax('ts-nodenext-esm', withKeyv, true, true, ESM_RESOLVED),
      },
      compilers: ['5.9', '7'],
      main: 'main.js',
      format: 'esm',
    },
    {
      // The set-up of the report: a CommonJS project on `module: nodenext`
      // type-checked cleanly, then crashed with ERR_PACKAGE_PATH_NOT_EXPORTED.
      name: 'ts-nodenext-cjs',
      files: {
        'package.json': json({ name: 'ts-nodenext-cjs', private: true, type: 'commonjs' }),
        'tsconfig.json': tsconfig({ module: 'NodeNext', moduleResolution: 'NodeNext' }),
        'src/main.ts': esmSyntax('ts-nodenext-cjs', withKeyv, true, false, CJS_RESOLVED),
      },
      compilers: ['5.9', '7'],
      main: 'main.js',
      format: 'cjs',
    },
    {
      name: 'ts-bundler',
      files: {
        'package.json': json({ name: 'ts-bundler', private: true, type: 'module' }),
        'tsconfig.json': tsconfig({ module: 'ESNext', moduleResolution: 'Bundler' }),
        'src/main.ts': esmSyntax('ts-bundler', withKeyv, true, true, ESM_RESOLVED),
      },
      compilers: ['5.9', '7'],
      main: 'main.js',
      format: 'esm',
    },
    {
      // The old default: node10 resolution (no `exports`; subpaths through
      // `typesVersions`) and no esModuleInterop (a default import of a
      // CommonJS module such as node:tls in a .d.ts fails with TS1192).
      // TypeScript 5.9 only: TypeScript 7 removed node10 (TS5108) and
      // always has esModuleInterop.
      name: 'ts-node10',
      files: {
        'package.json': json({ name: 'ts-node10', private: true, type: 'commonjs' }),
        'tsconfig.json': tsconfig({
          module: 'CommonJS',
          moduleResolution: 'Node10',
          esModuleInterop: false,
          allowSyntheticDefaultImports: false,
        }),
        'src/main.ts': esmSyntax('ts-node10', withKeyv, true, false, CJS_RESOLVED),
      },
      compilers: ['5.9'],
      main: 'main.js',
      format: 'cjs',
    },
    {
      // What TypeScript 7 offers CommonJS projects instead of node10:
      // `module: CommonJS` with `Bundler` resolution (TypeScript 5.9 refuses
      // the pair, TS5095). Types from the `require` condition: dist/cjs.
      name: 'ts-cjs-bundler',
      files: {
        'package.json': json({ name: 'ts-cjs-bundler', private: true, type: 'commonjs' }),
        'tsconfig.json': tsconfig({ module: 'CommonJS', moduleResolution: 'Bundler' }),
        'src/main.ts': esmSyntax('ts-cjs-bundler', withKeyv, true, false, CJS_RESOLVED),
      },
      compilers: ['7'],
      main: 'main.js',
      format: 'cjs',
    },
  ];
}
