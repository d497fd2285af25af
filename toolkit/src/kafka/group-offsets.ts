import type { Kafka } from 'kafkajs'

export interface OffsetTargets {
  topic: string
  partitions: { partition: number; offset: string }[]
}

/**
 * Commits an empty group's offsets on every topic given, in one join. kafkajs's admin.setOffsets
 * does one topic a call: a member joins the group, seeks, and leaves at its first fetch, which a
 * paused topic answers only after the broker's fetch wait (5 s). Across a namespace's topics that
 * is 5 s each; here one member, with a 100 ms fetch wait, seeks them all. The caller checks the
 * group is empty first: a member joining a live group would get only some of the partitions.
 */
export async function setGroupOffsets(kafka: Kafka, groupId: string, targets: OffsetTargets[]) {
  const wanted = targets.filter((t) => t.partitions.length > 0)
  if (wanted.length === 0) return
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 100, allowAutoTopicCreation: false })
  await consumer.connect()
  try {
    await consumer.subscribe({ topics: wanted.map((t) => t.topic), fromBeginning: true })
    await new Promise<void>((resolve, reject) => {
      // The seeks are committed as the member joins, before its first fetch.
      consumer.on(consumer.events.FETCH, () => resolve())
      consumer.on(consumer.events.CRASH, ({ payload }) => reject(payload.error))
      consumer.run({ eachBatchAutoResolve: false, eachBatch: async () => {} }).catch(reject)
      consumer.pause(wanted.map((t) => ({ topic: t.topic })))
      for (const t of wanted)
        for (const { partition, offset } of t.partitions) consumer.seek({ topic: t.topic, partition, offset })
    })
  } finally {
    await consumer.disconnect()
  }
}
