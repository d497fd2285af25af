import {
  type DoctorCheck,
  type DoctorDeps,
  type Finding,
  finding,
  runDoctor,
  withoutUserinfo,
} from 'outbox-cdc'
import { request } from 'undici'
import { bookstoreChecks } from '../doctor/checks.ts'
import type { BookstoreTargets } from '../doctor/config.ts'
import { type Buckets, parseMetrics } from './metrics-text.ts'
import { type Stage, toStages } from './stages.ts'

/** One look at the whole pipeline: the stages and the raw numbers the charts are drawn from. */
export interface Sample {
  /** ms since the epoch */
  t: number
  stages: Stage[]
  /** The API's outbox_events_written_total; undefined when its /metrics did not answer. */
  written?: number
  /** The consumer's consumer_events_applied_total. */
  applied?: number
  /** The consumer's commit→applied histogram, cumulative. */
  commitToApply?: Buckets
  /** Unconsumed records by `topic[partition]`, from doctor's consumer-group finding. */
  lag: Record<string, number>
  slotRetainedBytes?: number
  deadLetters?: number
}

export interface SamplerOptions {
  deps: DoctorDeps
  targets: BookstoreTargets
  /** Base URLs of the API and of the consumer's health server, each serving /health and /metrics. */
  apiUrl: string
  consumerUrl: string
  /** A check or a scrape that takes longer counts as unreachable, so one slow part never stalls the page. */
  timeoutMs: number
  /** How much history to keep. */
  keepMs: number
  checks?: readonly DoctorCheck<BookstoreTargets>[]
}

/**
 * The consumer's /health as a finding, in its own words: a consumer that answers is running, so
 * a 503 is its reason (out of its group: kafkajs retries, its log says why), not "start the consumer"; a
 * consumer waiting for its topics (started before connector:register) is amber, not consuming.
 */
function consumerFinding(shown: string, health: { body?: string; problem?: string }) {
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
      'start the consumer: npm run consumer (or npm start); its log says why it stopped',
    )
  if (health.problem)
    return finding(
      'consumer.health',
      'fail',
      `consumer at ${shown} is ${said.state ?? 'unhealthy'}${said.reason ? `: ${said.reason}` : ''}`,
      said.reason
        ? "kafkajs retries joining while the broker is away: check Kafka (stack:status); the consumer's log says why it is out (a topic it read deleted fails it, for its supervisor to restart)"
        : 'its log says why',
    )
  if (said.state === 'waiting')
    return finding(
      'consumer.health',
      'warn',
      `consumer at ${shown} is waiting for ${(said.waitingFor ?? []).join(', ')} to exist`,
      'register the connector (npm run connector:register), which creates the topics',
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

/** Takes one sample: every doctor check and both services at once, each within the timeout. */
export async function takeSample(o: SamplerOptions): Promise<Sample> {
  const checks = o.checks ?? bookstoreChecks
  const [findingLists, apiHealth, apiMetrics, consumerHealth, consumerMetrics] = await Promise.all([
    Promise.all(
      checks.map((c) =>
        withTimeout(
          c,
          runDoctor(o.deps, o.targets, [c]).then((r) => r.findings),
          o.timeoutMs,
        ),
      ),
    ),
    fetchText(`${o.apiUrl}/health`, o.timeoutMs),
    fetchText(`${o.apiUrl}/metrics`, o.timeoutMs),
    fetchText(`${o.consumerUrl}/health`, o.timeoutMs),
    fetchText(`${o.consumerUrl}/metrics`, o.timeoutMs),
  ])
  const findings = findingLists.flat()
  const api = apiHealth.problem
    ? finding('api.health', 'fail', apiHealth.problem, 'start the API: npm run api (or npm start)')
    : finding('api.health', 'ok', `${withoutUserinfo(o.apiUrl)} answers`)
  const consumer = consumerFinding(withoutUserinfo(o.consumerUrl), consumerHealth)
  const apiView = apiMetrics.body && !apiMetrics.problem ? parseMetrics(apiMetrics.body) : undefined
  const consumerView =
    consumerMetrics.body && !consumerMetrics.problem ? parseMetrics(consumerMetrics.body) : undefined
  type Lags = { topic: string; partition: number; lag: number }[]
  const lags = dataOf<Lags>(findings, 'consumer.group') ?? []
  const fulfilmentLags = dataOf<Lags>(findings, 'fulfilment.group') ?? []
  const slot = dataOf<{ retainedBytes: number | null }>(findings, 'postgres.slot')
  const dead = dataOf<{ depth: number }>(findings, 'consumer.dead-letters')
  return {
    t: Date.now(),
    stages: toStages(findings, { api, consumer }),
    written: apiView?.total('outbox_events_written_total'),
    applied: consumerView?.total('consumer_events_applied_total'),
    commitToApply: consumerView?.buckets('consumer_commit_to_apply_seconds'),
    lag: Object.fromEntries([
      ...lags.map((l) => [`${l.topic}[${l.partition}]`, l.lag]),
      ...fulfilmentLags.map((l) => [`fulfilment ${l.topic}[${l.partition}]`, l.lag]),
    ]),
    slotRetainedBytes: slot?.retainedBytes ?? undefined,
    deadLetters: dead?.depth,
  }
}

/**
 * Samples every `intervalMs`, one sample at a time (a tick while one is running is skipped), and
 * keeps `keepMs` of them. `refresh()` samples now, for the page to see an action's effect at once.
 */
export function createSampler(
  o: SamplerOptions & { intervalMs: number; onError?: (error: unknown) => void },
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
