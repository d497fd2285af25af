import type postgres from 'postgres'
import { CpuMeter } from '../measurement/cpu.ts'
import {
  type EndToEndResult,
  endToEnd,
  kept,
  type WriterKind,
  writerLabel,
  writerOf,
} from '../workloads/end-to-end.ts'
import type { BenchContext } from './context.ts'
import { settle } from './settle.ts'

/** Where a path's events are applied: the consumer's database and the topics it reads. */
export interface DeliveryPath {
  label: string
  inbox: postgres.Sql
  topicPrefix: string
}

export const cdcPath = (ctx: BenchContext): DeliveryPath => ({
  label: 'CDC',
  inbox: ctx.rig.sql,
  topicPrefix: 'outbox.events.',
})

/** One end-to-end run at `rate`, with the CPU it cost per event by process (the run and its drain). */
export async function measuredRun(
  ctx: BenchContext,
  writer: WriterKind,
  rate: number,
  seconds: number,
  path: DeliveryPath,
) {
  const meter = new CpuMeter(ctx.rig.stackDir)
  const result = await meter.measure(
    () =>
      endToEnd({
        sql: ctx.rig.sql,
        inbox: path.inbox,
        kafka: ctx.rig.kafka,
        writer: writerOf(writer, { client: ctx.client, sql: ctx.writerSql, bookIds: ctx.bookIds }),
        ratePerS: rate,
        seconds,
        topicPrefix: path.topicPrefix,
        say: ctx.say,
      }),
    (r) => r.latencyMs.count,
  )
  result.cpuMsPerEvent = meter.perUnit()
  return result
}

const describe = (r: EndToEndResult) =>
  `  p50 ${r.latencyMs.p50} p95 ${r.latencyMs.p95} p99 ${r.latencyMs.p99} max ${r.latencyMs.max} ms (${r.achievedPerS}/s achieved)`

/**
 * The steady loads over one path, each after the pipeline settled (`beforeEach`: by default,
 * everything written so far applied through CDC and the stack idle).
 */
export async function steadyRuns(
  ctx: BenchContext,
  path: DeliveryPath,
  beforeEach: () => Promise<void> = () => settle(ctx.rig, ctx.say),
) {
  const results: EndToEndResult[] = []
  for (const { rate, writer } of ctx.settings.steady) {
    await beforeEach()
    ctx.say(
      `${path.label} end to end at ${rate} events/s (${writerLabel[writer]}) for ${ctx.settings.steadySeconds} s`,
    )
    const result = await measuredRun(ctx, writer, rate, ctx.settings.steadySeconds, path)
    ctx.say(describe(result))
    results.push(result)
  }
  return results
}

export const steadyPhase = (ctx: BenchContext) => steadyRuns(ctx, cdcPath(ctx))

/**
 * The highest rate held for the whole hold: starts at the target; while a rate holds, tries
 * `holdStep` more; when the first does not, steps down 15% below what was achieved.
 */
export async function holdPhase(ctx: BenchContext) {
  const attempts: EndToEndResult[] = []
  let rate = ctx.settings.holdRate
  let heldOnce = false
  for (let attempt = 0; attempt < 4; attempt += 1) {
    await settle(ctx.rig, ctx.say)
    ctx.say(`hold: ${rate} events/s (${writerLabel.bulk}) for ${ctx.settings.holdSeconds} s`)
    const result = await measuredRun(ctx, 'bulk', rate, ctx.settings.holdSeconds, cdcPath(ctx))
    attempts.push(result)
    const held = kept(result)
    ctx.say(
      `  ${held ? 'held' : 'not held'}: ${result.achievedPerS}/s achieved, backlog growth ${result.backlogGrowthPerS}/s, p99 ${result.latencyMs.p99} ms`,
    )
    if (held) {
      heldOnce = true
      rate += ctx.settings.holdStep
      continue
    }
    if (heldOnce) break
    rate = Math.floor((Math.min(rate, result.achievedPerS) * 0.85) / 50) * 50
  }
  return attempts
}
