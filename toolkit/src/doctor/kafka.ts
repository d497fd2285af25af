import { isEventTopicOf } from '../events/topics.ts'
import { cliCommands } from '../operations.ts'
import type { DoctorCheck } from './check.ts'
import { consumerLagFinding } from './consumer-lag.ts'
import { deadLettersFinding } from './dead-letters.ts'
import { finding } from './finding.ts'

/**
 * The event topics, then (on one admin connection) each consumer group's lag over them and the
 * dead letters. Without any event topic there is nothing to measure lag on: that one failure only.
 * A group given topics none of which exist yet is not checked (nothing was ever sent to it).
 */
export const kafkaCheck: DoctorCheck = {
  name: 'kafka',
  hintWhenUnreachable: 'is Kafka up?',
  async run({ kafka }, t) {
    const admin = kafka.admin()
    await admin.connect()
    try {
      const all = await admin.listTopics()
      const topics = all.filter((name) => isEventTopicOf(t.namespace, name)).sort()
      if (topics.length === 0)
        return [
          finding(
            'kafka.topics',
            'fail',
            `no ${t.namespace}.* topics`,
            `${(t.commands ?? cliCommands)('connector register')} creates them`,
          ),
        ]
      const meta = await admin.fetchTopicMetadata({ topics })
      const listed = finding(
        'kafka.topics',
        'ok',
        meta.topics.map((m) => `${m.name} (${m.partitions.length} partitions)`).join(', '),
      )
      const lags = []
      for (const consumer of t.consumers) {
        const read = consumer.topics ? consumer.topics.filter((topic) => topics.includes(topic)) : topics
        if (read.length > 0) lags.push(await consumerLagFinding(admin, read, t, consumer))
      }
      const dead = await deadLettersFinding(admin, all, t)
      return [listed, ...lags, dead]
    } finally {
      await admin.disconnect()
    }
  },
}
