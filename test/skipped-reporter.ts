/**
 * A vitest reporter that lists every skipped test at the end of the run,
 * with its full title, so that each skip says why in the output (the
 * default reporter only counts them). The reason is in the title, by
 * convention: `README.md:42: a fragment (why), shown in the docs and not
 * run`, `... (needs the openssl CLI, not found)`. Prints nothing when no
 * test was skipped.
 */
import type { Reporter, TestModule } from 'vitest/node';

export default class SkippedReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    const lines: string[] = [];
    for (const module of testModules) {
      for (const test of module.children.allTests('skipped')) lines.push(`  ${module.moduleId.replace(`${process.cwd()}/`, '')} > ${test.fullName}`);
    }
    if (lines.length === 0) return;
    process.stdout.write(`\nSkipped, each with its reason in its title (${lines.length}):\n${lines.join('\n')}\n`);
  }
}
