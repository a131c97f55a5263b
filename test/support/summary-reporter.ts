import { writeSync } from 'node:fs';
import type { Reporter, TestModule } from 'vitest/node';

// Vitest's own summary is meant for people; CI reads a plain closing line. This prints it after the run:
// `tests: N passed, N failed, N skipped`, counting every test case of every project.
export default class SummaryReporter implements Reporter {
  onTestRunEnd(modules: ReadonlyArray<TestModule>): void {
    let passed = 0;
    let failed = 0;
    let skipped = 0;
    for (const module of modules) {
      for (const test of module.children.allTests()) {
        const state = test.result().state;
        if (state === 'passed') passed++;
        else if (state === 'failed') failed++;
        else skipped++;
      }
      if (module.state() === 'failed' && [...module.children.allTests()].length === 0) failed++;
    }
    // Written at exit, synchronously, so that it comes after vitest's own summary.
    process.once('exit', () => writeSync(1, `tests: ${passed} passed, ${failed} failed, ${skipped} skipped\n`));
  }
}
