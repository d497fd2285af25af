import type { Kafka, KafkaMessage } from 'kafkajs'

/**
 * Reads `topic` from `groupId`'s committed position (or the beginning for a new group) up to the
 * end as it stood when called, handing each record to `onMessage`; offsets are committed as it
 * goes. Resolves once every partition is caught up: a command can stop instead of waiting forever.
 */
export async function readTopicToEnd(
  kafka: Kafka,
  topic: string,
  groupId: string,
  onMessage: (message: KafkaMessage, partition: number) => Promise<void>,
): Promise<number> {
  const admin = kafka.admin()
  await admin.connect()
  const [ends, committed] = await Promise.all([
    admin.fetchTopicOffsets(topic),
    admin.fetchOffsets({ groupId, topics: [topic] }),
  ]).finally(() => admin.disconnect())
  const position = new Map(committed[0]?.partitions.map((p) => [p.partition, Number(p.offset)]) ?? [])
  const remaining = new Map<number, number>()
  for (const { partition, high, low } of ends) {
    const from = Math.max(position.get(partition) ?? -1, Number(low))
    if (Number(high) > from) remaining.set(partition, Number(high))
  }
  if (remaining.size === 0) return 0

  const consumer = kafka.consumer({ groupId, allowAutoTopicCreation: false })
  let count = 0
  await consumer.connect()
  try {
    await consumer.subscribe({ topic, fromBeginning: true })
    await new Promise<void>((resolve, reject) => {
      consumer.on(consumer.events.CRASH, ({ payload }) => reject(payload.error))
      void consumer.run({
        autoCommit: true,
        eachMessage: async ({ message, partition }) => {
          const end = remaining.get(partition)
          if (end === undefined || Number(message.offset) >= end) return
          await onMessage(message, partition)
          count += 1
          if (Number(message.offset) + 1 >= end) remaining.delete(partition)
          if (remaining.size === 0) resolve()
        },
      })
    })
  } finally {
    await consumer.disconnect()
  }
  return count
}
