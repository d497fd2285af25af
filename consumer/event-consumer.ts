import type { Kafka, KafkaMessage } from 'kafkajs'
import type { Db } from '../db/client.ts'
import type { Logger } from '../lib/logger.ts'
import { applyBatch, type IncomingEvent } from './apply-event.ts'
import { deadLetterTopic } from './dead-letter.ts'
import type { ConsumerMetrics } from './metrics.ts'
import { FatalConsumerError, type Outcome, processMessage, type RetryPolicy } from './process-message.ts'

export type ConsumerState = 'created' | 'starting' | 'running' | 'stopping' | 'stopped' | 'failed'

export interface ConsumerStats {
  applied: number
  duplicates: number
  deadLettered: number
  retries: number
}

export interface EventConsumer {
  start(): Promise<void>
  /** Stops after the message in hand; resolved offsets are committed, the rest is redelivered. */
  stop(): Promise<void>
  readonly state: ConsumerState
  readonly stats: ConsumerStats
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

export function toIncoming(topic: string, partition: number, message: KafkaMessage): IncomingEvent {
  const headers: Record<string, string | undefined> = {}
  for (const [name, value] of Object.entries(message.headers ?? {})) {
    headers[name] = Array.isArray(value) ? value[0]?.toString() : value?.toString()
  }
  return {
    topic,
    partition,
    offset: message.offset,
    key: message.key?.toString() ?? null,
    headers,
    value: message.value?.toString() ?? null,
    timestamp: message.timestamp,
  }
}

/** Counts one outcome; commit-to-apply runs from the record timestamp (the outbox row's created_at). */
function record(
  metrics: ConsumerMetrics | undefined,
  result: Outcome,
  incoming: IncomingEvent,
  timestampMs: string,
) {
  if (!metrics) return
  if (result.outcome === 'applied') {
    const eventType = incoming.headers.event_type ?? 'unknown'
    metrics.applied.inc({ event_type: eventType })
    metrics.commitToApply.observe(
      { event_type: eventType },
      Math.max(0, Date.now() - Number(timestampMs)) / 1000,
    )
  } else if (result.outcome === 'duplicate') metrics.duplicates.inc()
  else metrics.deadLetters.inc({ error_code: result.errorCode })
}

export interface EventConsumerOptions {
  kafka: Kafka
  db: Db
  groupId: string
  namespace: string
  log: Logger
  retry: RetryPolicy
  /** Partitions worked on at once; order within each partition is kept regardless. */
  partitionsConcurrently?: number
  /** Records of a partition applied in one transaction (1: each in its own); 500 when not given. */
  batchSize?: number
  metrics?: ConsumerMetrics
  /** Called once when the consumer cannot go on; the process should exit non-zero. */
  onFatal?: (error: Error) => void
}

/**
 * Consumes every `<namespace>.*` topic in `groupId`. Each record is applied in its own database
 * transaction (see processMessage); its offset is resolved only after that, and only resolved
 * offsets are committed. A crash therefore redelivers, and the inbox makes redelivery a no-op.
 */
export function createEventConsumer(options: EventConsumerOptions): EventConsumer {
  const { db, log } = options
  const consumer = options.kafka.consumer({
    groupId: options.groupId,
    allowAutoTopicCreation: false,
    sessionTimeout: 30_000,
    heartbeatInterval: 3_000,
  })
  const producer = options.kafka.producer({
    allowAutoTopicCreation: true,
    idempotent: true,
    maxInFlightRequests: 1,
  })
  const stats: ConsumerStats = { applied: 0, duplicates: 0, deadLettered: 0, retries: 0 }
  const dlq = deadLetterTopic(options.namespace)
  let state: ConsumerState = 'created'
  const count = (result: Outcome, incoming: IncomingEvent, timestamp: string) => {
    record(options.metrics, result, incoming, timestamp)
    if (result.outcome === 'applied') stats.applied += 1
    else if (result.outcome === 'duplicate') stats.duplicates += 1
    else stats.deadLettered += 1
  }

  const fail = (error: Error) => {
    if (state === 'failed' || state === 'stopping' || state === 'stopped') return
    state = 'failed'
    options.onFatal?.(error)
  }
  // kafkajs restarts itself after most errors; when it gives up, so do we, loudly.
  consumer.on(consumer.events.CRASH, ({ payload }) => {
    if (!payload.restart) fail(payload.error)
  })

  return {
    get state() {
      return state
    },
    stats,
    async start() {
      state = 'starting'
      await producer.connect()
      await consumer.connect()
      await consumer.subscribe({
        topics: [new RegExp(`^${escapeRegExp(options.namespace)}\\.`)],
        fromBeginning: true,
      })
      consumer.on(consumer.events.GROUP_JOIN, () => {
        if (state === 'starting') state = 'running'
      })
      await consumer.run({
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: options.partitionsConcurrently ?? 1,
        eachBatch: async ({
          batch,
          resolveOffset,
          heartbeat,
          isRunning,
          isStale,
          commitOffsetsIfNecessary,
        }) => {
          const onRetry = (coordinates: object) => (error: unknown, attempt: number) => {
            stats.retries += 1
            options.metrics?.retries.inc()
            log.warn({ ...coordinates, attempt, err: error }, 'event failed, retrying')
          }
          /** One record on its own, with retries and dead letters; false when the consumer must stop. */
          const one = async (message: KafkaMessage): Promise<boolean> => {
            const incoming = toIncoming(batch.topic, batch.partition, message)
            const coordinates = {
              eventId: incoming.headers.id,
              topic: batch.topic,
              partition: batch.partition,
              offset: message.offset,
            }
            const stopTimer = options.metrics?.processing.startTimer()
            let result: Awaited<ReturnType<typeof processMessage>>
            try {
              result = await processMessage(
                { db, producer, deadLetterTopic: dlq, retry: options.retry, heartbeat },
                incoming,
                onRetry(coordinates),
              )
            } catch (error) {
              if (error instanceof FatalConsumerError) {
                log.fatal({ ...coordinates, code: error.code, err: error }, 'consumer cannot go on')
                fail(error)
                return false
              }
              throw error
            }
            stopTimer?.()
            count(result, incoming, message.timestamp)
            if (result.outcome === 'dead-lettered')
              log.error({ ...coordinates, deadLetterTopic: dlq }, 'event dead-lettered')
            resolveOffset(message.offset)
            await heartbeat()
            return true
          }
          /** Records in one transaction; false (nothing changed) if any of them fails. */
          const together = async (messages: KafkaMessage[]): Promise<boolean> => {
            const incoming = messages.map((m) => toIncoming(batch.topic, batch.partition, m))
            const started = performance.now()
            let outcomes: Awaited<ReturnType<typeof applyBatch>>
            try {
              outcomes = await applyBatch(db, incoming)
            } catch (error) {
              log.debug(
                { topic: batch.topic, partition: batch.partition, err: error },
                'batch rejected; one by one',
              )
              return false
            }
            const share = (performance.now() - started) / 1000 / messages.length
            outcomes.forEach((outcome, i) => {
              options.metrics?.processing.observe(share)
              count({ outcome }, incoming[i] as IncomingEvent, messages[i]?.timestamp ?? '0')
            })
            resolveOffset(messages[messages.length - 1]?.offset ?? '0')
            await heartbeat()
            return true
          }
          const halted = () => !isRunning() || isStale() || state === 'failed'
          const size = options.batchSize ?? 500
          for (let start = 0; start < batch.messages.length; start += size) {
            if (halted()) break
            const chunk = batch.messages.slice(start, start + size)
            if (chunk.length > 1 && (await together(chunk))) continue
            for (const message of chunk) {
              if (halted()) break
              if (!(await one(message))) return
            }
          }
          await commitOffsetsIfNecessary()
        },
      })
    },
    async stop() {
      if (state !== 'failed') state = 'stopping'
      await consumer.disconnect()
      await producer.disconnect()
      if (state !== 'failed') state = 'stopped'
    },
  }
}
