import postgres from 'postgres'
import { CpuMeter } from '../measurement/cpu.ts'
import { pairedRatio } from '../measurement/stats.ts'
import { apiWritePath, medianRound, rawWritePath, type WritePathResult } from '../workloads/write-path.ts'
import type { BenchContext } from './context.ts'
import { quiesce, settle } from './settle.ts'

/** Who writes: the API (Drizzle: every statement unnamed, described first), or postgres.js itself. */
export type WriteVariant = 'api' | 'rawPrepared' | 'rawUnprepared'
export const writeVariants: WriteVariant[] = ['api', 'rawPrepared', 'rawUnprepared']

export interface WritePathPhaseResult {
  api: WritePathResult
  /** postgres.js with `prepare: true` (its default): named statements, parsed once a connection. */
  raw: WritePathResult
  /** postgres.js with `prepare: false`: unnamed, described first, two round trips, as Drizzle sends them. */
  rawUnprepared?: WritePathResult
  /** The median over rounds of API ÷ raw in that round (not one median divided by the other). */
  apiToRaw: number
  apiToRawUnprepared?: number
  rounds: Partial<Record<WriteVariant, number[]>>
  cpuMsPerWrite?: Partial<Record<'api' | 'raw' | 'rawUnprepared', Record<string, number>>>
}

/**
 * The API and the raw driver with and without prepared statements, in alternating rounds (the
 * order turns each round), so drift on a shared machine falls on all three; the median round is
 * reported, and the ratios are medians of each round's own ratio. Each round starts once the consumer has applied everything written before and the
 * stack is idle again, and its CPU window lasts until the consumer has applied the round's own
 * events, so a round pays for its events' way through the pipeline and not for the last round's.
 */
export async function writePathPhase({ rig, client, bookIds, settings, say }: BenchContext) {
  const { concurrency, writeSeconds, writeRounds, apiPoolMax } = settings
  say(
    `write path: POST /orders vs raw postgres.js (prepared, unprepared), ${concurrency} callers, ${writeRounds} × ${writeSeconds} s each`,
  )
  // Opened once, outside every window: backends live across the snapshots, and prepared
  // statements stay prepared as they would in a service.
  const pools = {
    rawPrepared: postgres(rig.info.postgres.url, { max: apiPoolMax, onnotice: () => {}, prepare: true }),
    rawUnprepared: postgres(rig.info.postgres.url, { max: apiPoolMax, onnotice: () => {}, prepare: false }),
  }
  const runs: Record<WriteVariant, WritePathResult[]> = { api: [], rawPrepared: [], rawUnprepared: [] }
  const cpu = Object.fromEntries(writeVariants.map((v) => [v, new CpuMeter(rig.stackDir)])) as Record<
    WriteVariant,
    CpuMeter
  >
  const write = (variant: WriteVariant) =>
    variant === 'api'
      ? apiWritePath(client, bookIds, concurrency, writeSeconds)
      : rawWritePath(pools[variant], bookIds, concurrency, writeSeconds)
  try {
    for (let round = 0; round < writeRounds; round += 1) {
      const order = writeVariants.map(
        (_, i) => writeVariants[(i + round) % writeVariants.length] as WriteVariant,
      )
      for (const variant of order) {
        await settle(rig, say)
        const run = await cpu[variant].measure(
          async () => {
            const written = await write(variant)
            await quiesce(rig)
            return written
          },
          (r) => r.latencyMs.count,
        )
        runs[variant].push(run)
      }
      say(
        `  round ${round + 1}: API ${runs.api.at(-1)?.perS}/s, raw prepared ${runs.rawPrepared.at(-1)?.perS}/s, raw unprepared ${runs.rawUnprepared.at(-1)?.perS}/s`,
      )
    }
  } finally {
    await Promise.all(Object.values(pools).map((pool) => pool.end({ timeout: 5 })))
  }
  const perS = (list: WritePathResult[]) => list.map((r) => r.perS)
  const api = medianRound(runs.api)
  const raw = medianRound(runs.rawPrepared)
  const rawUnprepared = medianRound(runs.rawUnprepared)
  return {
    api,
    raw,
    rawUnprepared,
    apiToRaw: pairedRatio(perS(runs.api), perS(runs.rawPrepared)),
    apiToRawUnprepared: pairedRatio(perS(runs.api), perS(runs.rawUnprepared)),
    rounds: Object.fromEntries(writeVariants.map((v) => [v, runs[v].map((r) => r.perS)])),
    cpuMsPerWrite: {
      api: cpu.api.perUnit(),
      raw: cpu.rawPrepared.perUnit(),
      rawUnprepared: cpu.rawUnprepared.perUnit(),
    },
  } satisfies WritePathPhaseResult
}
