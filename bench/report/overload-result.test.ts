import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { repoRoot } from '../../stack/lib/config.ts'
import type { OverloadResult } from '../phases/overload-phase.ts'

/** The committed overload run (docs/benchmark.md, Overload) keeps what the page says of it. */
const run = JSON.parse(readFileSync(join(repoRoot, 'bench', 'results', 'overload.json'), 'utf8')) as {
  results: { overload: OverloadResult }
}
const o = run.results.overload

describe('the committed overload run', () => {
  it('was offered five times the rate it held with p99 within a second', () => {
    expect(o.heldP99Ms).toBeLessThanOrEqual(1000)
    expect(o.heldShedShare).toBeLessThanOrEqual(0.01)
    expect(o.offeredPerS).toBe(o.heldPerS * 5)
  })

  it('shed with 503 and answered no other 5xx, its memory bounded, recovering on its own', () => {
    expect(o.shedShare).toBeGreaterThan(0)
    expect(Object.keys(o.otherAnswers).filter((status) => Number(status) >= 500 || status === '0')).toEqual(
      [],
    )
    expect(o.rssMb.peak - o.rssMb.before).toBeLessThan(256)
    expect(o.recoverMs).toBeLessThan(5000)
  })

  it('wrote every acknowledged order and no other, and the consumer applied each', () => {
    expect(o.writtenUnacknowledged).toBe(0)
    expect(o.acknowledgedMissing).toBe(0)
    expect(o.ordersWritten).toBe(o.acknowledged)
    expect(o.applied).toBe(o.acknowledged)
  })
})
