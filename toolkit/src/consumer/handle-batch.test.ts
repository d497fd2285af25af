import { pino } from 'pino'
import { describe, expect, it } from 'vitest'
import {
  buildRecords,
  type RecordKind,
  simulatePartition,
  steadyBatch,
} from '../../test/partition-simulation.ts'
import { handleBatch } from './handle-batch.ts'
import { createConsumerMetrics } from './metrics.ts'

/** handleBatch's rule in the cases a generated run seldom reaches: fallback, stale batches, lost heartbeats and commits. */
const good = (count: number): RecordKind[] => Array.from({ length: count }, () => ({ kind: 'good' }))
const noFaults = () => ({ db: new Map(), heartbeat: new Map(), send: new Map(), commit: new Map() })
const quick = { maxAttempts: 3, baseDelayMs: 0, maxDelayMs: 0 }

describe('handleBatch', () => {
  it('logs a rolled-back batch at warn and counts it, then applies its records one by one', async () => {
    const lines: { level: number; msg: string; records?: number }[] = []
    const log = pino({ level: 'debug' }, { write: (line: string) => void lines.push(JSON.parse(line)) })
    const metrics = createConsumerMetrics()
    const messages = buildRecords([{ kind: 'good' }, { kind: 'poison', variant: 0 }, { kind: 'good' }])
    const resolved: string[] = []
    const stats = { applied: 0, duplicates: 0, deadLettered: 0, parked: 0, retries: 0 }
    await handleBatch(
      {
        batchSize: 3,
        retry: quick,
        deadLetterTopic: 'outbox.events-dlq',
        applyBatch: async () => {
          throw new Error('the chunk holds a poison record')
        },
        applyEvent: async (record) => {
          if (record.offset === messages[1]?.offset) throw new Error('poison')
          return 'applied'
        },
        publishDeadLetter: async () => {},
        hasFailed: () => false,
        onFatal: () => {},
        log,
        stats,
        metrics,
      },
      steadyBatch('outbox.events.book', messages, resolved),
    )
    expect(lines).toContainEqual(
      expect.objectContaining({
        level: 40,
        msg: 'batch rolled back; applying its records one by one',
        records: 3,
      }),
    )
    expect((await metrics.batchFallbacks.get()).values[0]?.value).toBe(1)
    expect(resolved).toEqual(messages.map((m) => m.offset))
    expect(stats).toMatchObject({ applied: 2, deadLettered: 1 })
  })

  it('stops at once when a rebalance or seek makes the batch stale, or the consumer stops: nothing after is applied or resolved', async () => {
    for (const flag of ['isStale', 'isRunning'] as const) {
      const messages = buildRecords(good(5))
      const applied: string[] = []
      const resolved: string[] = []
      let changed = false
      await handleBatch(
        {
          batchSize: 2,
          retry: quick,
          deadLetterTopic: 'outbox.events-dlq',
          applyBatch: async (records) => {
            applied.push(...records.map((r) => r.offset))
            // The group changes while the first chunk is applied: kafkajs marks the batch stale.
            changed = true
            return records.map(() => 'applied' as const)
          },
          applyEvent: async (record) => {
            applied.push(record.offset)
            return 'applied'
          },
          publishDeadLetter: async () => {},
          hasFailed: () => false,
          onFatal: () => {},
          log: pino({ level: 'silent' }),
          stats: { applied: 0, duplicates: 0, deadLettered: 0, parked: 0, retries: 0 },
        },
        {
          batch: { topic: 'outbox.events.book', partition: 0, messages },
          resolveOffset: (offset) => void resolved.push(offset),
          heartbeat: async () => {},
          isRunning: () => (flag === 'isRunning' ? !changed : true),
          isStale: () => (flag === 'isStale' ? changed : false),
          commitOffsetsIfNecessary: async () => {},
        },
      )
      expect(applied, flag).toEqual(messages.slice(0, 2).map((m) => m.offset))
      expect(resolved, flag).toEqual([messages[1]?.offset])
    }
  })

  it('a heartbeat lost after a batch keeps that batch resolved and leaves the rest for redelivery', async () => {
    const sim = await simulatePartition({
      records: good(4),
      batchSize: 2,
      fetchSize: 4,
      retry: quick,
      faults: { ...noFaults(), heartbeat: new Map([[1, 'REBALANCE_IN_PROGRESS']]) },
    })
    const firstDelivery = sim.journal.slice(0, sim.journal.findIndex((s) => s.step === 'end') + 1)
    expect(firstDelivery.map((s) => s.step)).toEqual(['delivery', 'apply', 'resolve', 'heartbeat', 'end'])
    expect(firstDelivery[2]).toEqual({ step: 'resolve', offset: 1 })
    expect(sim.journal).toContainEqual({ step: 'delivery', from: 2, to: 3 })
    expect(sim.stats).toMatchObject({ applied: 4, duplicates: 0, deadLettered: 0 })
  })

  it('a failed commit redelivers what was resolved, and the inbox skips it as duplicates', async () => {
    const sim = await simulatePartition({
      records: [...good(2), { kind: 'poison', variant: 1 }],
      batchSize: 5,
      fetchSize: 5,
      retry: quick,
      faults: { ...noFaults(), commit: new Map([[1, 'ILLEGAL_GENERATION']]) },
    })
    expect(sim.deliveries).toBe(2)
    expect(sim.stats).toMatchObject({ applied: 2, duplicates: 2, deadLettered: 2 })
  })
})
