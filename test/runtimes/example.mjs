/**
 * Runs one doc example under the runtime of the matrix (Node.js, Bun, Deno):
 * `<runtime> example.mjs <example.mjs> <expectations.json>`.
 *
 * The example is the JavaScript that test/runtimes/matrix.ts made of a code
 * block of README.md or docs/*.md (the rewrite of test/docs/extract.ts,
 * imports left on the installed package, then type-stripped by TypeScript):
 * each of its `console.log(...) // expected` lines calls
 * `globalThis.__zcachedDocsLog(line, ...args)` instead. This prints those
 * calls as `console.log` would, then checks them as test/docs/examples.test.ts
 * does: every stated line ran, and printed what its comment states (the
 * text, or `util.inspect` of the single argument).
 *
 * Exits with 1, saying what differed, when a check fails or the example
 * throws; otherwise it must exit on its own (a client or server left open
 * keeps it alive until the matrix's bound kills it).
 */
import { format, inspect } from 'node:util';
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

const [file, expectationsFile] = process.argv.slice(2);
if (file === undefined || expectationsFile === undefined) {
  console.error('usage: example.mjs <example.mjs> <expectations.json>');
  process.exit(2);
}
/** `[{ line, expected, text }]`, as prepareExample() states them. */
const expectations = JSON.parse(readFileSync(expectationsFile, 'utf8'));

const calls = [];
globalThis.__zcachedDocsLog = (line, ...args) => {
  calls.push({ line, args });
  console.log(...args);
};

try {
  await import(pathToFileURL(file).href);
} catch (error) {
  console.error('the example threw:');
  console.error(error);
  process.exit(1);
}

const problems = [];
for (const { line, expected, text } of expectations) {
  const made = calls.filter((call) => call.line === line);
  if (made.length === 0) problems.push(`line ${line} \`${text}\` never ran`);
  for (const { args } of made) {
    const shown = format(...args);
    if (shown !== expected && !(args.length === 1 && inspect(args[0]) === expected)) {
      problems.push(`line ${line} \`${text}\` printed ${shown} (inspect: ${args.map((arg) => inspect(arg)).join(', ')}), not ${expected}`);
    }
  }
}
if (problems.length > 0) {
  for (const problem of problems) console.error(problem);
  process.exit(1);
}
