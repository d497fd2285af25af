import type { KafkaMessage, Message } from 'kafkajs'
import type { Logger } from '../logger.ts'
import type { IncomingEvent } from './incoming-event.ts'
import type { ConsumerMetrics } from './metrics.ts'
import type { ParkedLetterStore } from './parked-letters.ts'
import type { FatalConsumerError, RetryPolicy } from './process-message.ts'

export interface ConsumerStats {
  applied: number
  duplicates: number
  deadLettered: number
  /** Events sent to the dead letters behind an earlier letter of their key, to keep its order. */
  parked: number
  retries: number
}

/** What kafkajs hands eachBatch for one partition: its records and the calls that act on them. */
export interface PartitionBatch {
  batch: { topic: string; partition: number; messages: KafkaMessage[] }
  /** Marks the offset processed; only resolved offsets are ever committed. */
  resolveOffset(offset: string): void
  heartbeat(): Promise<void>
  isRunning(): boolean
  /** True once a seek or rebalance made the rest of this batch out of date. */
  isStale(): boolean
  commitOffsetsIfNecessary(): Promise<void>
}

/** The consumer's side of the rule: how records are applied and dead-lettered, and where outcomes go. */
export interface BatchRule {
  /** Records applied in one transaction (1: each in its own). */
  batchSize: number
  retry: RetryPolicy
  deadLetterTopic: string
  /** All or nothing: applies the records in one transaction, or throws having changed nothing. */
  applyBatch: (records: IncomingEvent[]) => Promise<Array<'applied' | 'duplicate'>>
  applyEvent: (record: IncomingEvent) => Promise<'applied' | 'duplicate'>
  /** Resolves only once the broker has acknowledged the dead letter. */
  publishDeadLetter: (message: Message) => Promise<void>
  /** True once the consumer has failed: nothing more is applied or resolved. */
  hasFailed: () => boolean
  onFatal: (error: FatalConsumerError) => void
  log: Logger
  stats: ConsumerStats
  metrics?: ConsumerMetrics
  /**
   * The consumer group: a letter redriven for another group is passed by. With `parked`, a dead
   * letter holds its key back: later records of the key are parked behind it (see keep-key-order).
   */
  keyOrder?: { group: string; parked?: ParkedLetterStore }
}
