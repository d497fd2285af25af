import type { KafkaMessage } from 'kafkajs'
import { pino } from 'pino'
import { describe, expect, it } from 'vitest'
import { handleBatch } from './handle-batch.ts'
import { createConsumerMetrics } from './metrics.ts'

/** countBatch must give what count() gave record by record (promise 5). */
const types = ['BookAdded', 'OrderPlaced', 'BookRemoved', undefined]
const messages: KafkaMessage[] = Array.from({ length: 23 }, (_, i) => ({
  key: null,
  value: Buffer.from('{}'),
  offset: String(i),
  timestamp: i % 5 === 0 ? (undefined as unknown as string) : String(Date.now() - 60_000 * (i % 3)),
  attributes: 0,
  headers: { id: `id-${i}`, ...(types[i % 4] ? { event_type: types[i % 4] as string } : {}) },
}))
const outcomeOf = (offset: string): 'duplicate' | 'applied' =>
  Number(offset) % 3 === 0 ? 'duplicate' : 'applied'

async function run(batchSize: number) {
  const metrics = createConsumerMetrics()
  const stats = { applied: 0, duplicates: 0, deadLettered: 0, parked: 0, retries: 0 }
  await handleBatch(
    {
      batchSize,
      retry: { maxAttempts: 1, baseDelayMs: 0, maxDelayMs: 0 },
      deadLetterTopic: 'dlq',
      applyBatch: async (records) => records.map((r) => outcomeOf(r.offset)),
      applyEvent: async (record) => outcomeOf(record.offset),
      publishDeadLetter: async () => {},
      hasFailed: () => false,
      onFatal: () => {},
      log: pino({ level: 'silent' }),
      stats,
      metrics,
    },
    {
      batch: { topic: 't', partition: 0, messages },
      resolveOffset: () => {},
      heartbeat: async () => {},
      isRunning: () => true,
      isStale: () => false,
      commitOffsetsIfNecessary: async () => {},
    },
  )
  const counts = async (m: {
    get(): Promise<{ values: { labels: object; value: number; metricName?: string }[] }>
  }) =>
    (await m.get()).values
      .filter(
        (v) =>
          !v.metricName ||
          v.metricName.endsWith('_count') ||
          v.metricName.endsWith('_bucket') ||
          v.metricName.endsWith('_total'),
      )
      .map((v) => ({ labels: v.labels, value: v.value, name: v.metricName }))
  return {
    stats,
    applied: await counts(metrics.applied),
    duplicates: await counts(metrics.duplicates),
    commitToApply: await counts(metrics.commitToApply),
    processingCount: (await metrics.processing.get()).values.find((v) => v.metricName?.endsWith('_count'))
      ?.value,
  }
}

describe('countBatch: metrics per batch equal metrics per record', () => {
  it('gives the same counters and histogram counts for batch sizes 1, 4 and 23', async () => {
    const one = await run(1)
    expect(await run(4)).toEqual(one)
    expect(await run(23)).toEqual(one)
  })
})
