import { request } from 'undici'
import type { DoctorCheck, DoctorDeps, DoctorTargets } from '../doctor/check.ts'
import { type Finding, finding } from '../doctor/finding.ts'
import { runDoctor } from '../doctor/run-doctor.ts'
import { cliCommands } from '../operations.ts'
import { withoutUserinfo } from '../redact.ts'
import { type Buckets, parseMetrics } from './metrics-text.ts'
import { type Stage, type StageId, toStages } from './stages.ts'

/** One look at the whole pipeline: the stages and the raw numbers the charts are drawn from. */
export interface Sample {
  /** ms since the epoch */
  t: number
  stages: Stage[]
  /** The writer's outbox_events_written_total; undefined when its /metrics did not answer. */
  written?: number
  /** The consumer's consumer_events_applied_total. */
  applied?: number
  /** The consumer's commit→applied histogram, cumulative. */
  commitToApply?: Buckets
  /** Unconsumed records by `topic[partition]` (other groups' prefixed by their check), from doctor's group findings. */
  lag: Record<string, number>
  slotRetainedBytes?: number
  deadLetters?: number
}

export interface SamplerOptions<T extends DoctorTargets = DoctorTargets> {
  deps: DoctorDeps
  targets: T
  /** The doctor's checks (the toolkit's and the service's own), each run on its own with the timeout. */
  checks: readonly DoctorCheck<T>[]
  /**
   * Base URLs of the service that appends (its /health, and /metrics with outbox_events_written_total)
   * and of the consumer's health server (startHealthServer: /health and /metrics). Unset: not watched.
   */
  writerUrl?: string | undefined
  consumerUrl?: string | undefined
  /** Which stages a check's findings speak for, beyond the toolkit's own checks. */
  stages?: Readonly<Record<string, readonly StageId[]>> | undefined
  /** A check or a scrape that takes longer counts as unreachable, so one slow part never stalls the page. */
  timeoutMs: number
  /** How much history to keep. */
  keepMs: number
}

/**
 * The consumer's /health as a finding, in its own words: a consumer that answers is running, so
 * a 503 is its reason (out of its group: kafkajs retries, its log says why), not "start the consumer"; a
 * consumer waiting for its topics (started before its connector was registered) is amber, not consuming.
 */
function consumerFinding(shown: string, health: { body?: string; problem?: string }, targets: DoctorTargets) {
  const cmd = targets.commands ?? cliCommands
  const group = targets.consumers?.[0]?.group
  let said: { state?: string; reason?: string; waitingFor?: string[] } = {}
  try {
    said = health.body ? JSON.parse(health.body) : {}
  } catch {
    // Not our consumer's JSON: judged by the status alone.
  }
  if (health.problem && health.body === undefined)
    return finding(
      'consumer.health',
      'fail',
      `consumer: ${health.problem}`,
      `${cmd('start consumer', group)}; its log says why it stopped`,
    )
  if (health.problem)
    return finding(
      'consumer.health',
      'fail',
      `consumer at ${shown} is ${said.state ?? 'unhealthy'}${said.reason ? `: ${said.reason}` : ''}`,
      said.reason
        ? `kafkajs retries joining while the broker is away: check Kafka${targets.reachHint ? ` (${targets.reachHint})` : ''}; the consumer's log says why it is out (a topic it read deleted fails it, for its supervisor to restart)`
        : 'its log says why',
    )
  if (said.state === 'waiting')
    return finding(
      'consumer.health',
      'warn',
      `consumer at ${shown} is waiting for ${(said.waitingFor ?? []).join(', ')} to exist`,
      `register the connector (${cmd('connector register')}), which creates the topics`,
    )
  return finding('consumer.health', 'ok', `consumer at ${shown} is consuming`)
}

/** A GET that never throws: the body of a 2xx, else a finding-ready reason. */
async function fetchText(url: string, timeoutMs: number): Promise<{ body?: string; problem?: string }> {
  // What is shown names the URL without any password in it: the page is open to every reader.
  const shown = withoutUserinfo(url)
  try {
    const response = await request(url, { headersTimeout: timeoutMs, bodyTimeout: timeoutMs })
    const body = await response.body.text()
    if (response.statusCode >= 200 && response.statusCode < 300) return { body }
    return { body, problem: `${shown} answered ${response.statusCode}` }
  } catch (error) {
    return { problem: `cannot reach ${shown}: ${(error as Error).message}` }
  }
}

function withTimeout(
  check: Pick<DoctorCheck, 'name' | 'hintWhenUnreachable'>,
  run: Promise<Finding[]>,
  timeoutMs: number,
): Promise<Finding[]> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<Finding[]>((resolve) => {
    timer = setTimeout(
      () =>
        resolve([finding(check.name, 'fail', `no answer within ${timeoutMs} ms`, check.hintWhenUnreachable)]),
      timeoutMs,
    )
  })
  return Promise.race([run, late]).finally(() => clearTimeout(timer))
}

const dataOf = <T>(findings: Finding[], check: string) =>
  findings.find((f) => f.check === check)?.data as T | undefined

type Lags = { topic: string; partition: number; lag: number }[]
const isLags = (data: unknown): data is Lags =>
  Array.isArray(data) && data.every((l) => typeof l?.topic === 'string' && typeof l?.lag === 'number')

/** A service the console was not told the address of: amber, so it is never taken for healthy. */
const unwatched = (stage: string, key: string, name: string) =>
  finding(
    `${stage}.health`,
    'warn',
    `${name} not watched: console.${key} is not set`,
    `set console.${key} to its base URL`,
  )

/** Takes one sample: every doctor check and both services at once, each within the timeout. */
export async function takeSample<T extends DoctorTargets>(o: SamplerOptions<T>): Promise<Sample> {
  const cmd = o.targets.commands ?? cliCommands
  const skip = Promise.resolve({ problem: 'not watched' } as { body?: string; problem?: string })
  const [findingLists, writerHealth, writerMetrics, consumerHealth, consumerMetrics] = await Promise.all([
    Promise.all(
      o.checks.map((c) =>
        withTimeout(
          c,
          runDoctor(o.deps, o.targets, [c]).then((r) => r.findings),
          o.timeoutMs,
        ),
      ),
    ),
    o.writerUrl ? fetchText(`${o.writerUrl}/health`, o.timeoutMs) : skip,
    o.writerUrl ? fetchText(`${o.writerUrl}/metrics`, o.timeoutMs) : skip,
    o.consumerUrl ? fetchText(`${o.consumerUrl}/health`, o.timeoutMs) : skip,
    o.consumerUrl ? fetchText(`${o.consumerUrl}/metrics`, o.timeoutMs) : skip,
  ])
  const findings = findingLists.flat()
  const api = !o.writerUrl
    ? unwatched('api', 'writerUrl', 'the service that appends')
    : writerHealth.problem
      ? finding('api.health', 'fail', writerHealth.problem, cmd('start writer'))
      : finding('api.health', 'ok', `${withoutUserinfo(o.writerUrl)} answers`)
  const consumer = !o.consumerUrl
    ? unwatched('consumer', 'consumerUrl', "the consumer's health server")
    : consumerFinding(withoutUserinfo(o.consumerUrl), consumerHealth, o.targets)
  const writerView =
    writerMetrics.body && !writerMetrics.problem ? parseMetrics(writerMetrics.body) : undefined
  const consumerView =
    consumerMetrics.body && !consumerMetrics.problem ? parseMetrics(consumerMetrics.body) : undefined
  // Every group the doctor checked: the first group's partitions as they are, others' named by their check.
  const lag: Record<string, number> = {}
  for (const f of findings) {
    if (!f.check.endsWith('.group') || !isLags(f.data)) continue
    const prefix = f.check === 'consumer.group' ? '' : `${f.check.replace(/\.group$/, '')} `
    for (const l of f.data) lag[`${prefix}${l.topic}[${l.partition}]`] = l.lag
  }
  const slot = dataOf<{ retainedBytes: number | null }>(findings, 'postgres.slot')
  const dead = dataOf<{ depth: number }>(findings, 'consumer.dead-letters')
  return {
    t: Date.now(),
    stages: toStages(findings, { api, consumer }, o.stages),
    written: writerView?.total('outbox_events_written_total'),
    applied: consumerView?.total('consumer_events_applied_total'),
    commitToApply: consumerView?.buckets('consumer_commit_to_apply_seconds'),
    lag,
    slotRetainedBytes: slot?.retainedBytes ?? undefined,
    deadLetters: dead?.depth,
  }
}

/**
 * Samples every `intervalMs`, one sample at a time (a tick while one is running is skipped), and
 * keeps `keepMs` of them. `refresh()` samples now, for the page to see an action's effect at once.
 */
export function createSampler<T extends DoctorTargets>(
  o: SamplerOptions<T> & { intervalMs: number; onError?: (error: unknown) => void },
) {
  const samples: Sample[] = []
  let running: Promise<Sample> | undefined
  let timer: NodeJS.Timeout | undefined
  const sample = () => {
    running ??= takeSample(o)
      .then((s) => {
        samples.push(s)
        while (samples.length > 0 && (samples[0] as Sample).t < s.t - o.keepMs) samples.shift()
        return s
      })
      .finally(() => {
        running = undefined
      })
    return running
  }
  return {
    start() {
      // takeSample reports every failure as a finding; a rejection here would be a bug of ours.
      const tick = () => void sample().catch((error: unknown) => o.onError?.(error))
      tick()
      timer = setInterval(tick, o.intervalMs)
    },
    async stop() {
      clearInterval(timer)
      await running?.catch(() => {})
    },
    /** Samples now; `fresh`: after the one running (which may have begun before an action) ends. */
    async refresh(options: { fresh?: boolean } = {}) {
      if (options.fresh) await running?.catch(() => {})
      return sample()
    },
    samples: () => samples as readonly Sample[],
    latest: () => samples.at(-1),
  }
}

export type Sampler = ReturnType<typeof createSampler>
