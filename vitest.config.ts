import { defineConfig } from 'vitest/config'

/**
 * Two tiers: `unit` needs nothing running; `integration` runs against the real stack, which the
 * global setup starts once per run (or reuses when `npm run stack:up` already did).
 */
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['**/*.test.ts'],
          exclude: ['**/*.int.test.ts', '**/*.fault.test.ts', 'node_modules/**', '.stack/**'],
        },
      },
      {
        test: {
          name: 'integration',
          include: ['**/*.int.test.ts'],
          exclude: ['node_modules/**', '.stack/**'],
          globalSetup: ['test/global-setup.ts'],
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      },
      {
        // Kills real processes on a stack of its own; run on purpose (npm run test:faults).
        test: {
          name: 'faults',
          include: ['test/faults/**/*.fault.test.ts'],
          // Each file runs a whole stack of its own: one at a time on two cores.
          fileParallelism: false,
          testTimeout: 900_000,
          hookTimeout: 300_000,
        },
      },
    ],
  },
})
