import { describe, expect, it } from 'vitest'
import { guardRatios, guardTable } from './guard.ts'

const published = {
  writePath: { apiToRaw: 0.8 },
  consumer: { consumerToRaw: 0.25, consumerToSql: { prepared: 0.5 } },
}

describe('the benchmark regression guard', () => {
  it('passes ratios that moved with noise, and fails only one below half its published value', () => {
    const rows = guardRatios(
      { writePath: { apiToRaw: 0.41 }, consumer: { consumerToRaw: 0.12, consumerToSql: { prepared: 0.3 } } },
      published,
    )
    expect(rows.map((r) => [r.share, r.ok])).toEqual([
      [0.51, true],
      [0.48, false],
      [0.6, true],
    ])
    expect(guardTable(rows)).toContain(
      '| consumer ÷ kafkajs alone | 0.12 | 0.25 | 0.48 | COLLAPSED (below 0.5) |',
    )
  })

  it('guards only what the short run measured, and refuses to pass against a file without the ratio', () => {
    expect(guardRatios({ writePath: { apiToRaw: 0.8 } }, published)).toHaveLength(1)
    expect(() => guardRatios({ writePath: { apiToRaw: 0.8 } }, { consumer: {} })).toThrow(/no POST \/orders/)
    expect(() => guardRatios({}, published)).toThrow(/none of the watched ratios/)
  })

  it('fails a ratio just below half its published value, however the share rounds', () => {
    const [row] = guardRatios({ consumer: { consumerToRaw: 0.0738 } }, { consumer: { consumerToRaw: 0.149 } })
    expect(row).toMatchObject({ share: 0.5, ok: false })
  })
})
