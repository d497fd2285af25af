import type { Kafka, KafkaMessage } from 'kafkajs'
import type { Db } from '../db/client.ts'
import type { Logger } from '../lib/logger.ts'
import { applyEvent, type IncomingEvent } from './apply-event.ts'

export interface ConsumerStats {
  applied: number
  duplicates: number
}

export interface EventConsumer {
  start(): Promise<void>
  /** Stops after the message in hand; resolved offsets are committed, the rest is redelivered. */
  stop(): Promise<void>
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
  }
}

/**
 * Consumes every `<namespace>.*` topic in `groupId`. Each record is applied in its own database
 * transaction; its offset is resolved only after that commits, and only resolved offsets are
 * committed to Kafka. A crash therefore redelivers, and the inbox turns redelivery into a no-op.
 */
export function createEventConsumer(options: {
  kafka: Kafka
  db: Db
  groupId: string
  namespace: string
  log: Logger
}): EventConsumer {
  const { db, log } = options
  const consumer = options.kafka.consumer({ groupId: options.groupId, allowAutoTopicCreation: false })
  const stats: ConsumerStats = { applied: 0, duplicates: 0 }

  return {
    stats,
    async start() {
      await consumer.connect()
      await consumer.subscribe({
        topics: [new RegExp(`^${escapeRegExp(options.namespace)}\\.`)],
        fromBeginning: true,
      })
      await consumer.run({
        eachBatchAutoResolve: false,
        eachBatch: async ({
          batch,
          resolveOffset,
          heartbeat,
          isRunning,
          isStale,
          commitOffsetsIfNecessary,
        }) => {
          for (const message of batch.messages) {
            if (!isRunning() || isStale()) break
            const incoming = toIncoming(batch.topic, batch.partition, message)
            const outcome = await applyEvent(db, incoming)
            if (outcome === 'applied') stats.applied += 1
            else stats.duplicates += 1
            log.debug(
              {
                eventId: incoming.headers.id,
                topic: batch.topic,
                partition: batch.partition,
                offset: message.offset,
                outcome,
              },
              'event processed',
            )
            resolveOffset(message.offset)
            await heartbeat()
          }
          await commitOffsetsIfNecessary()
        },
      })
    },
    async stop() {
      await consumer.disconnect()
    },
  }
}
