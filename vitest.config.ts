import { defineConfig } from 'vitest/config';

// Two projects: `unit` runs pure tests beside the code (no servers); `integration` runs test/**/*.int.test.ts
// against the local stack described by .stack/env.
export default defineConfig({
  test: {
    reporters: ['default', './test/support/summary-reporter.ts'],
    projects: [
      {
        test: {
          name: 'unit',
          include: ['connectors/**/*.test.ts', 'schemas/**/*.test.ts', 'services/**/*.test.ts', 'bench/**/*.test.ts', 'test/deploy/**/*.test.ts'],
          exclude: ['**/*.int.test.ts', 'node_modules/**'],
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/**/*.int.test.ts'],
          setupFiles: ['test/support/stack-env.ts'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
          // The stack is shared and the machine small: one file at a time; suites isolate themselves by
          // random topic and database names.
          fileParallelism: false,
        },
      },
    ],
  },
});
