import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vitest/config'

/**
 * Two tiers: `unit` needs nothing running; `integration` runs against the real stack, which the
 * global setup starts once per run (or reuses when `npm run stack:up` already did).
 */
const clusterWide = [
  'test/integration/connector-admin.int.test.ts',
  'test/integration/doctor.int.test.ts',
  'test/integration/slots.int.test.ts',
  // Runs the tests' global setup again on the live stack (its start-up steps rewrite the stack's
  // secrets files): alone, so no other file reads them meanwhile.
  'test/integration/global-setup.int.test.ts',
]

/**
 * Feature-pair scenarios (two features that share a group, a topic or a command) slow enough to
 * keep npm test over its 8 minutes: they run against the local stack with the full fault suite
 * (npm run test:faults), not in npm test or CI's reduced run.
 */
const featurePairs = [
  'test/integration/saga-replay.int.test.ts',
  'test/integration/nested-namespace-tools.int.test.ts',
  'test/integration/cli-redaction-failures.int.test.ts',
  'test/integration/doctor-stopped-connector.int.test.ts',
]

export default defineConfig({
  // The repo runs the toolkit from its TypeScript source: tsx and tsc take it from tsconfig.json's
  // paths, vitest from these aliases (the same entries); a packed install takes its build.
  resolve: {
    alias: [
      {
        find: /^outbox-cdc$/,
        replacement: fileURLToPath(new URL('./toolkit/src/index.ts', import.meta.url)),
      },
      {
        find: /^outbox-cdc\/drizzle$/,
        replacement: fileURLToPath(new URL('./toolkit/src/drizzle.ts', import.meta.url)),
      },
      {
        find: /^outbox-cdc\/testing$/,
        replacement: fileURLToPath(new URL('./toolkit/src/testing.ts', import.meta.url)),
      },
    ],
  },
  test: {
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          sequence: { groupOrder: 0 },
          // Vitest's default is one worker fewer than the cores: one, here. The unit files wait on
          // nothing but the CPU, and two workers take 50 s where one takes 80.
          maxWorkers: 2,
          include: ['**/*.test.ts'],
          exclude: ['**/*.int.test.ts', '**/*.fault.test.ts', 'node_modules/**', '.stack/**', '.tmp/**'],
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          // After the unit files: a group of its own, since it runs more files at once.
          sequence: { groupOrder: 1 },
          include: ['**/*.int.test.ts'],
          exclude: ['node_modules/**', '.stack/**', '.tmp/**', ...clusterWide, ...featurePairs],
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
        extends: true,
        test: {
          name: 'integration-serial',
          // Files whose assertions read the whole Postgres cluster (its slots, its WAL, the
          // doctor's cluster-wide checks) or stop and advance a connector's slot: one at a time,
          // after the others, so no other file's WAL and slots move under them.
          sequence: { groupOrder: 2 },
          include: clusterWide,
          globalSetup: ['test/global-setup.ts'],
          testTimeout: 60_000,
          hookTimeout: 120_000,
          maxWorkers: 1,
        },
      },
      {
        extends: true,
        test: {
          name: 'pairs',
          sequence: { groupOrder: 4 },
          include: featurePairs,
          globalSetup: ['test/global-setup.ts'],
          maxWorkers: 4,
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
      {
        // Kills real processes on a stack of its own; run on purpose (npm run test:faults).
        extends: true,
        test: {
          name: 'faults',
          sequence: { groupOrder: 3 },
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
