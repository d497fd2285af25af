import { describe, expect, it } from 'vitest'
import { describeLag, partitionLag } from './consumer-lag.ts'

const at = (topic: string, partition: number, lag: number) => ({ topic, partition, lag })

describe("the doctor's line for a group's lag", () => {
  it('is the total alone when no partition lags, however many partitions there are', () => {
    const twelve = ['book', 'order', 'shipment', 'x'].flatMap((t) => [0, 1, 2].map((p) => at(t, p, 0)))
    expect(describeLag(twelve)).toBe('lag 0')
  })

  it('names the partitions that lag, most first, and counts those past four', () => {
    expect(describeLag([at('b', 0, 0), at('b', 1, 2), at('o', 0, 38)])).toBe('lag 40 (o[0]=38, b[1]=2)')
    const six = [1, 2, 3, 4, 5, 6].map((lag, p) => at('t', p, lag))
    expect(describeLag(six)).toBe('lag 21 (t[5]=6, t[4]=5, t[3]=4, t[2]=3, 2 more partition(s))')
  })
})

describe("a partition's lag", () => {
  it('is its end less the committed offset, or less the first kept offset when none is committed', () => {
    expect(partitionLag({ high: '50', low: '0' }, 10)).toBe(40)
    expect(partitionLag({ high: '50', low: '20' }, undefined)).toBe(30)
    expect(partitionLag({ high: '50', low: '20' }, 5)).toBe(30)
  })

  it('is 0, never negative, when the committed offset is past the end (the topic made again)', () => {
    expect(partitionLag({ high: '3', low: '0' }, 8)).toBe(0)
  })
})
