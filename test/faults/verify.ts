import type { Kafka } from 'kafkajs'
import type postgres from 'postgres'
import { aggregateTypes, topicFor } from '../../lib/events.ts'

/** What the load generator sent that the API refused: it must leave no trace downstream. */
export interface Refused {
  customerId: string
  bookId: string
}

/** One event as Kafka holds it, by the event id in its `id` header. */
interface KafkaEvent {
  eventType: string
  key: string
  payload: { customerId?: string; bookId?: string }
}

export interface EventAudit {
  /** Committed books and orders with no event in Kafka. */
  missingInKafka: string[]
  /** Aggregates with more than one distinct event id: a write that published twice. */
  publishedTwice: string[]
  /** Events in Kafka for committed rows that the inbox never recorded. */
  notApplied: string[]
  /** Inbox entries that no committed row's event explains. */
  appliedUnexplained: string[]
  /** Refused requests found in an event payload or the read model. */
  refusedLeaked: string[]
  /** Records read from Kafka, duplicates included. */
  recordsRead: number
  /** Records whose event id an earlier record already had: deliveries a consumer gets twice. */
  duplicateRecords: number
}

/** Every record of the event topics, up to their current end, by event id. */
async function readEvents(kafka: Kafka, namespace: string) {
  const topics = aggregateTypes.map((type) => topicFor(type, namespace))
  const admin = kafka.admin()
  await admin.connect()
  const groupId = `fault-audit-${crypto.randomUUID()}`
  const remaining = new Map<string, number>()
  for (const topic of topics)
    for (const p of await admin.fetchTopicOffsets(topic))
      if (Number(p.high) > Number(p.low)) remaining.set(`${topic}/${p.partition}`, Number(p.high))
  const events = new Map<string, KafkaEvent>()
  let recordsRead = 0
  const consumer = kafka.consumer({ groupId })
  try {
    if (remaining.size > 0) {
      await consumer.connect()
      await consumer.subscribe({ topics, fromBeginning: true })
      await new Promise<void>((resolve, reject) => {
        consumer.on(consumer.events.CRASH, ({ payload }) => reject(payload.error))
        // A partition is read to its end once a batch reaches it, counting the records a
        // read_committed consumer is not shown (transaction markers, aborted records): kafkajs
        // reports every batch's last raw offset here, also a batch of markers alone.
        consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
          const key = `${payload.topic}/${payload.partition}`
          const end = remaining.get(key)
          if (end !== undefined && Number(payload.lastOffset) + 1 >= end) remaining.delete(key)
          if (remaining.size === 0) resolve()
        })
        void consumer.run({
          autoCommit: false,
          eachMessage: async ({ topic, partition, message }) => {
            const end = remaining.get(`${topic}/${partition}`)
            if (end === undefined || Number(message.offset) >= end) return
            recordsRead += 1
            const id = message.headers?.id?.toString() ?? ''
            events.set(id, {
              eventType: message.headers?.event_type?.toString() ?? '',
              key: message.key?.toString() ?? '',
              payload: JSON.parse(message.value?.toString() ?? '{}'),
            })
          },
        })
      })
    }
  } finally {
    await consumer.disconnect()
    await admin.deleteGroups([groupId]).catch(() => {})
    await admin.disconnect()
  }
  return { events, recordsRead }
}

/**
 * Compares by identity, not by counts: each committed book and order must have exactly one event
 * in Kafka (one event id, with the row's id as key), that event id must be in the inbox, the
 * inbox must hold nothing else, and no refused request may show up in an event or the read model.
 */
export async function auditEvents(
  sql: postgres.Sql,
  kafka: Kafka,
  namespace: string,
  refused: Refused[],
): Promise<EventAudit> {
  const { events, recordsRead } = await readEvents(kafka, namespace)
  const byAggregate = new Map<string, string[]>()
  // The saga's events (with fulfilment running), by the order they answer: one shipment event and
  // at most one OrderCancelled each.
  const sagaByOrder = new Map<string, { shipment: string[]; cancelled: string[] }>()
  for (const [id, event] of events) {
    if (event.eventType === 'BookAdded' || event.eventType === 'OrderPlaced')
      byAggregate.set(event.key, [...(byAggregate.get(event.key) ?? []), id])
    else if (/^Shipment|^OrderCancelled$/.test(event.eventType)) {
      const saga = sagaByOrder.get(event.key) ?? { shipment: [], cancelled: [] }
      ;(event.eventType === 'OrderCancelled' ? saga.cancelled : saga.shipment).push(id)
      sagaByOrder.set(event.key, saga)
    }
  }
  const rows = await sql<{ id: string }[]>`select id::text from books union all select id::text from orders`
  const inbox = new Set(
    (await sql<{ id: string }[]>`select event_id::text as id from consumed_events`).map((r) => r.id),
  )
  const expected = new Set<string>()
  const audit: EventAudit = {
    missingInKafka: [],
    publishedTwice: [],
    notApplied: [],
    appliedUnexplained: [],
    refusedLeaked: [],
    recordsRead,
    duplicateRecords: recordsRead - events.size,
  }
  for (const { id } of rows) {
    const ids = byAggregate.get(id) ?? []
    if (ids.length === 0) audit.missingInKafka.push(id)
    if (ids.length > 1) audit.publishedTwice.push(id)
    for (const eventId of ids) {
      expected.add(eventId)
      if (!inbox.has(eventId)) audit.notApplied.push(eventId)
    }
  }
  for (const [orderId, saga] of sagaByOrder) {
    if (saga.shipment.length > 1 || saga.cancelled.length > 1) audit.publishedTwice.push(orderId)
    for (const eventId of [...saga.shipment, ...saga.cancelled]) {
      expected.add(eventId)
      if (!inbox.has(eventId)) audit.notApplied.push(eventId)
    }
  }
  for (const eventId of inbox) if (!expected.has(eventId)) audit.appliedUnexplained.push(eventId)
  const customers = new Set(refused.map((r) => r.customerId))
  const books = new Set(refused.map((r) => r.bookId))
  for (const event of events.values())
    if (customers.has(event.payload.customerId ?? '') || books.has(event.payload.bookId ?? ''))
      audit.refusedLeaked.push(event.key)
  const catalogued = await sql<{ id: string }[]>`
    select book_id::text as id from catalogue where book_id = any(${[...books]}::uuid[])`
  audit.refusedLeaked.push(...catalogued.map((r) => r.id))
  return audit
}
