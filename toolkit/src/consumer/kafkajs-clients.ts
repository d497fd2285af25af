import type { ConsumerRunConfig, EachBatchHandler, Kafka } from 'kafkajs'

/** The group session: a member not heard from for this long is evicted, and reported out of its group. */
export const sessionTimeoutMs = 30_000

/**
 * The kafkajs clients of one event consumer: its group's consumer, the producer of its dead
 * letters and an admin. `mayRestart` says whether kafkajs may restart the consumer after a crash.
 */
export function kafkajsClients(kafka: Kafka, groupId: string, o: { mayRestart: () => boolean }) {
  const consumer = kafka.consumer({
    groupId,
    allowAutoTopicCreation: false,
    sessionTimeout: sessionTimeoutMs,
    heartbeatInterval: sessionTimeoutMs / 10,
    // read_committed (kafkajs's default, said here on purpose): with exactly-once delivery on
    // (CONNECTOR_EXACTLY_ONCE), records of a transaction Connect aborted are never seen.
    readUncommitted: false,
    // kafkajs's own defaults, said here because memory depends on them: a fetch brings at most
    // 10 MB, 1 MB a partition, so a backlog of any size is read in bounded batches.
    maxBytes: 10 * 1024 * 1024,
    maxBytesPerPartition: 1024 * 1024,
    // kafkajs restarts a crashed consumer by itself, but never one being stopped (the crash is the
    // stop's own doing, a join cut short, and a restart would bring it back into its group:
    // tulios/kafkajs#1639) nor a failed one, which its owner is to stop. 5 retries: kafkajs's own
    // default for a consumer, which a retry option given here would otherwise replace.
    retry: {
      retries: 5,
      restartOnFailure: async () => o.mayRestart(),
    },
  })
  // Dead letters go only to the topic start() made sure of: were it deleted since, a publish
  // fails (DEAD_LETTER_FAILED) instead of conjuring a topic with the broker's defaults.
  const producer = kafka.producer({
    allowAutoTopicCreation: false,
    idempotent: true,
    maxInFlightRequests: 1,
  })
  return { consumer, producer, admin: kafka.admin() }
}

/** How kafkajs runs the consumer: offsets resolved by hand, each batch to `eachBatch`. */
export function runSettings(partitionsConcurrently: number, eachBatch: EachBatchHandler): ConsumerRunConfig {
  return {
    eachBatchAutoResolve: false,
    // Commit whatever is resolved whenever kafkajs asks, also after a fetch that held only
    // transaction markers (exactly-once delivery): kafkajs resolves those itself but, with no
    // threshold, would leave them uncommitted until the next record, and the group would show a
    // lag that no record explains. (Resolving a batch's last record already resolves past a
    // marker that follows it: kafkajs maps it to the batch's last offset.)
    autoCommitThreshold: 1,
    partitionsConsumedConcurrently: partitionsConcurrently,
    eachBatch,
  }
}
