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
          sequence: { groupOrder: 0 },
          include: ['**/*.test.ts'],
          exclude: ['**/*.int.test.ts', '**/*.fault.test.ts', 'node_modules/**', '.stack/**', '.tmp/**'],
        },
      },
      {
        test: {
          name: 'integration',
          // After the unit files: a group of its own, since it runs more files at once.
          sequence: { groupOrder: 1 },
          include: ['**/*.int.test.ts'],
          exclude: ['node_modules/**', '.stack/**', '.tmp/**'],
          // The files wait on Kafka, Connect and Postgres far more than they compute, and each
          // owns its database, group, topics and connector names (uniqueName), so several run at
          // once on two cores. Vitest's default here would be one (cores - 1).
          maxWorkers: 4,
          globalSetup: ['test/global-setup.ts'],
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      },
      {
        // Kills real processes on a stack of its own; run on purpose (npm run test:faults).
        test: {
          name: 'faults',
          sequence: { groupOrder: 2 },
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
