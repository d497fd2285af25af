import type fc from 'fast-check'

/** This run's fast-check seed: FC_SEED when set, so a reported failure replays; random otherwise. */
export const fcSeed =
  process.env.FC_SEED === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(process.env.FC_SEED)

/** Parameters for `fc.assert`: the run's seed, and FC_PATH (from a report) to go straight to a failure. */
export const fcRuns = (numRuns: number): fc.Parameters<unknown> => ({
  seed: fcSeed,
  numRuns,
  ...(process.env.FC_PATH ? { path: process.env.FC_PATH } : {}),
})
