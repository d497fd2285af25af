import { isEventTopicOf } from '../lib/events.ts'
import type { DoctorCheck } from './check.ts'
import { consumerLagFinding } from './consumer-lag.ts'
import { deadLettersFinding, redriveGroupOf } from './dead-letters.ts'
import { finding } from './finding.ts'

/**
 * The event topics, then (on one admin connection) the consumer group's lag over them and the
 * dead letters. Without any event topic there is nothing to measure lag on: that one failure only.
 */
export const kafkaCheck: DoctorCheck = {
  name: 'kafka',
  hintWhenUnreachable: 'is Kafka up? npm run stack:status',
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
            'npm run connector:register creates them',
          ),
        ]
      const meta = await admin.fetchTopicMetadata({ topics })
      const listed = finding(
        'kafka.topics',
        'ok',
        meta.topics.map((m) => `${m.name} (${m.partitions.length} partitions)`).join(', '),
      )
      const lag = await consumerLagFinding(admin, topics, t)
      const orderTopic = `${t.namespace}.order`
      const fulfilment =
        t.fulfilmentGroup && topics.includes(orderTopic)
          ? [
              await consumerLagFinding(admin, [orderTopic], t, {
                group: t.fulfilmentGroup,
                check: 'fulfilment.group',
                start: 'start fulfilment (npm run fulfilment, or npm start)',
              }),
            ]
          : []
      const dead = await deadLettersFinding(admin, all, t.namespace, redriveGroupOf(t.consumerGroup))
      return [listed, lag, ...fulfilment, dead]
    } finally {
      await admin.disconnect()
    }
  },
}
