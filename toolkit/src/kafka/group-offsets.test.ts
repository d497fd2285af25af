import { describe, expect, it } from 'vitest'
import { unmovedPartitions } from './group-offsets.ts'

describe('unmovedPartitions (a replay checks every seek was committed)', () => {
  const targets = [
    {
      topic: 'ns.book',
      partitions: [
        { partition: 0, offset: '0' },
        { partition: 1, offset: '0' },
      ],
    },
    { topic: 'ns.order', partitions: [{ partition: 0, offset: '5' }] },
  ]

  it('names each partition a consumer that joined meanwhile kept at its old offset', () => {
    const committed = [
      {
        topic: 'ns.book',
        partitions: [
          { partition: 0, offset: '0' },
          { partition: 1, offset: '42' },
        ],
      },
      { topic: 'ns.order', partitions: [{ partition: 0, offset: '5' }] },
    ]
    expect(unmovedPartitions(targets, committed)).toEqual([
      { topic: 'ns.book', partition: 1, wanted: '0', committed: '42' },
    ])
  })

  it('counts a partition with no commit at all (-1, or absent) as not moved', () => {
    expect(
      unmovedPartitions(targets, [{ topic: 'ns.book', partitions: [{ partition: 0, offset: '-1' }] }]),
    ).toHaveLength(3)
  })

  it('is empty when every partition holds the offset asked for', () => {
    const committed = targets.map((t) => ({ topic: t.topic, partitions: t.partitions }))
    expect(unmovedPartitions(targets, committed)).toEqual([])
  })
})
