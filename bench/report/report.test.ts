import { describe, expect, it } from 'vitest'
import type { EndToEndResult } from '../workloads/end-to-end.ts'
import { type BenchRecord, renderReport } from './report.ts'

const run = (overrides: Partial<EndToEndResult>): EndToEndResult => ({
  writer: 'bulk',
  offeredPerS: 1000,
  achievedPerS: 1000,
  seconds: 30,
  events: 30_000,
  failures: 0,
  latencyMs: { count: 30_000, p50: 40, p95: 90, p99: 120, max: 200 },
  backlog: [],
  backlogGrowthPerS: 0,
  held: true,
  drainS: 0.2,
  ...overrides,
})
const latency = (p50: number, p99: number) => ({ count: 1, p50, p95: p99, p99, max: p99 })
const record = (results: BenchRecord['results']): BenchRecord => ({
  label: 'test',
  startedAt: '2026-11-23T00:00:00Z',
  machine: {
    cpu: '2 × test',
    memoryGiB: 24,
    node: 'v20',
    postgres: 'PostgreSQL 15',
    kafka: '4.3.1',
    debezium: '3.7.0',
  },
  settings: {},
  results,
})
const targetRow = (markdown: string, start: string) =>
  markdown.split('\n').find((line) => line.startsWith(`| ${start}`))

describe('benchmark report', () => {
  it('shows what exactly-once delivery costs beside at-least-once', () => {
    const { markdown } = renderReport(
      record({
        exactlyOnce: {
          modes: [
            {
              exactlyOnce: false,
              steady: run({ latencyMs: latency(40, 90) }),
              backlogEvents: 20_000,
              backlogPerS: 10_000,
            },
            {
              exactlyOnce: true,
              steady: run({ latencyMs: latency(60, 180) }),
              backlogEvents: 20_000,
              backlogPerS: 8000,
            },
          ],
          p99Ratio: 2,
          backlogRatio: 0.8,
        },
      }),
    )
    expect(markdown).toContain('| at-least-once | 40 / 90 / 90 / 90 | 10000 |')
    expect(markdown).toContain('| exactly-once | 60 / 180 / 180 / 180 | 8000 |')
    expect(markdown).toContain('Exactly-once ÷ at-least-once: p99 2, backlog rate 0.8.')
  })

  it('meets the hold target on a held 8,000/s within p99 1 s, though a higher held rate went past it', () => {
    const { markdown } = renderReport(
      record({
        hold: [
          run({ offeredPerS: 10_000, achievedPerS: 9990, seconds: 60, latencyMs: latency(700, 1500) }),
          run({ offeredPerS: 8000, achievedPerS: 7995, seconds: 60, latencyMs: latency(200, 500) }),
        ],
      }),
    )
    expect(targetRow(markdown, '≥ 8,000')).toMatch(/8000\/s offered, 7995\/s .* p99 500 ms \| yes \|$/)
  })

  it("shows each write-path round's own ratio beside their median", () => {
    const { markdown } = renderReport(
      record({
        writePath: {
          api: { concurrency: 32, seconds: 10, perS: 290, latencyMs: latency(70, 150), failures: 0 },
          raw: { concurrency: 32, seconds: 10, perS: 401, latencyMs: latency(30, 110), failures: 0 },
          apiToRaw: 0.618,
          rounds: { api: [223, 290, 406], rawPrepared: [361, 401, 687] },
        },
      }),
    )
    expect(targetRow(markdown, 'API')).toContain(
      "62% (the median of the rounds' own ratios: 62%, 72%, 59%; median rounds 290 vs 401/s) | no |",
    )
  })

  it('judges each target from the figures, and says by how much', () => {
    const { markdown } = renderReport(
      record({
        writePath: {
          api: { concurrency: 32, seconds: 10, perS: 400, latencyMs: latency(70, 150), failures: 0 },
          raw: { concurrency: 32, seconds: 10, perS: 800, latencyMs: latency(30, 110), failures: 0 },
          apiToRaw: 0.5,
          rounds: {},
        },
        steady: [run({ writer: 'api', offeredPerS: 100 }), run({ latencyMs: latency(40, 101) })],
        hold: [
          run({ offeredPerS: 9000, achievedPerS: 7200, seconds: 60, held: false }),
          run({ offeredPerS: 8000, achievedPerS: 7999, seconds: 60, latencyMs: latency(300, 1001) }),
          run({ offeredPerS: 6000, achievedPerS: 5999, seconds: 60 }),
        ],
        relay: [
          {
            intervalMs: 1000,
            batchSize: 2048,
            cdc: [run({ writer: 'api', offeredPerS: 100 }), run({ latencyMs: latency(40, 251) })],
            relay: [
              run({ writer: 'api', offeredPerS: 100, latencyMs: latency(500, 900) }),
              run({ latencyMs: latency(190, 900) }),
            ],
          },
        ],
        consumer: { events: 10, consumerPerS: 240, rawPerS: 1000, consumerToRaw: 0.24 },
      }),
    )
    expect(targetRow(markdown, 'API')).toBe(
      '| API ≥ 70% of raw-driver throughput (postgres.js prepared, its default) | 50% (median rounds 400 vs 800/s) | no |',
    )
    expect(targetRow(markdown, 'end-to-end p99')).toMatch(/101 ms \| no \|$/)
    // 9,000/s was offered but not delivered; 8,000/s was held but its p99 is over 1 s: not met,
    // and the best run that kept p99 within 1 s is shown.
    expect(targetRow(markdown, '≥ 8,000')).toMatch(
      /^\| .* \| 6000\/s offered, 5999\/s .* p99 120 ms \| no \|$/,
    )
    expect(targetRow(markdown, "CDC p50 ≤ 1/5 of the relay's at 100/s")).toMatch(/40 vs 500 ms .* \| yes \|$/)
    expect(targetRow(markdown, "CDC p50 ≤ 1/5 of the relay's at 1000/s")).toMatch(/40 vs 190 ms .* \| no \|$/)
    expect(targetRow(markdown, 'consumer')).toMatch(/24% .* \| no \|$/)
    // Relay against CDC at the same interval, load and writer: 500 / 40.
    expect(targetRow(markdown, '1000 ms, batch 2048 | 100/s POST /orders')).toContain(
      '| 40 / 120 | 500 / 900 | 12.5 |',
    )
  })

  it('judges CDC against the relay only where both polled at the same interval', () => {
    const { markdown } = renderReport(
      record({
        steady: [run({})],
        relay: [
          { intervalMs: 25, batchSize: 2048, cdc: [run({})], relay: [run({ latencyMs: latency(400, 900) })] },
        ],
      }),
    )
    expect(markdown).not.toContain("CDC p50 ≤ 1/5 of the relay's")
    expect(targetRow(markdown, '25 ms, batch 2048')).toContain('| 10 |')
  })

  it('leaves out targets whose phase did not run', () => {
    const { markdown, targets } = renderReport(
      record({ consumer: { events: 10, consumerPerS: 1, rawPerS: 5, consumerToRaw: 0.2 } }),
    )
    expect(targets.map((t) => t.met)).toEqual([false])
    expect(markdown).not.toContain('API ≥')
  })
})
