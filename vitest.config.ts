import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts', 'test/contract/**/*.memory.test.ts'],
        },
      },
      {
        extends: true,
        test: {
          name: 'real',
          include: [
            'test/contract/**/*.real.test.ts',
            'test/integration/**/*.test.ts',
            'test/e2e/**/*.test.ts',
          ],
          globalSetup: ['test/real/global-setup.ts'],
          // Real-server suites each open connections and some spawn processes: keep them few at a time.
          maxWorkers: 2,
          // Runs after the unit project (distinct maxWorkers needs a distinct group).
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
