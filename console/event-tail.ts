import { setTimeout as delay } from 'node:timers/promises'
import type { Consumer, Kafka } from 'kafkajs'
import { deleteGroup } from '../consumer/tools/read-topic.ts'

/** An event as the tail shows it: where it is in Kafka, its headers, its payload parsed when JSON. */
export interface TailedEvent {
  /** When the outbox row was written (the record timestamp), ISO. */
  at: string
  topic: string
  partition: number
  offset: string
  key: string | null
  eventType: string | null
  eventId: string | null
  payload: unknown
}

export interface TailOptions {
  kafka: Kafka
  /** Event topics are `<namespace>.<aggregate>`; the dead-letter topic is not one of them. */
  namespace: string
  /** Every event still kept, then the new ones; otherwise only events that arrive from now on. */
  fromBeginning: boolean
  onEvent: (event: TailedEvent) => void
  /** Kafka unreachable, a topic listing failed…: the tail goes on trying. */
  onError?: (error: unknown) => void
  /** The tail's consumer groups are `<groupPrefix><uuid>`, so an operator can tell whose they are. */
  groupPrefix: string
  /** How often to look for event topics created since (an aggregate's first event creates one). */
  topicCheckMs?: number
}

const header = (headers: Record<string, unknown> | undefined, name: string) => {
  const value = headers?.[name]
  return (Array.isArray(value) ? value[0] : value)?.toString() ?? null
}

function parsePayload(value: Buffer | null): unknown {
  const text = value?.toString() ?? null
  if (text === null) return null
  try {
    return JSON.parse(text)
  } catch {
    return text
  }
}

/**
 * Follows every event topic of a namespace until `stop()`. It commits nothing: it reads through a
 * consumer group of its own (kafkajs reads through one), deleted when the tail stops or moves to a
 * new topic set, so no group is left behind. Where it is in each partition it keeps itself; when a
 * new event topic appears it resubscribes, starting the new topic from its beginning and the
 * others where it was, so nothing is shown twice or skipped.
 */
export function startEventTail(o: TailOptions) {
  const admin = o.kafka.admin()
  const positions = new Map<string, { topic: string; partition: number; offset: string }>()
  let consumer: Consumer | undefined
  let groupId = ''
  let stopped = false
  let topics: string[] = []
  /** Topics whose positions are in `positions`, so a resubscription never starts one over. */
  const known = new Set<string>()
  let firstStart = true

  const eventTopics = async () =>
    (await admin.listTopics()).filter((t) => t.startsWith(`${o.namespace}.`)).sort()

  const close = async () => {
    const current = consumer
    consumer = undefined
    if (!current) return
    await current.disconnect()
    await deleteGroup(admin, groupId)
  }

  const open = async (wanted: string[]) => {
    for (const topic of wanted) {
      if (known.has(topic)) continue
      // A topic seen for the first time: its start, or its end for a first start that is not
      // from the beginning (events already there are history).
      for (const p of await admin.fetchTopicOffsets(topic)) {
        const offset = firstStart && !o.fromBeginning ? p.high : p.low
        positions.set(`${topic}:${p.partition}`, { topic, partition: p.partition, offset })
      }
      known.add(topic)
    }
    firstStart = false
    topics = wanted
    groupId = `${o.groupPrefix}${crypto.randomUUID()}`
    consumer = o.kafka.consumer({ groupId, allowAutoTopicCreation: false })
    // A crash kafkajs will not restart from leaves the tail silent: resubscribe at the next look.
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      if (!payload.restart) topics = []
    })
    await consumer.connect()
    await consumer.subscribe({ topics: wanted })
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ topic, partition, message }) => {
        positions.set(`${topic}:${partition}`, {
          topic,
          partition,
          offset: String(Number(message.offset) + 1),
        })
        o.onEvent({
          at: new Date(Number(message.timestamp)).toISOString(),
          topic,
          partition,
          offset: message.offset,
          key: message.key?.toString() ?? null,
          eventType: header(message.headers, 'event_type'),
          eventId: header(message.headers, 'id'),
          payload: parsePayload(message.value),
        })
      },
    })
    // Applied before the first fetch; without autoCommit a seek commits nothing.
    for (const at of positions.values()) if (wanted.includes(at.topic)) consumer.seek(at)
  }

  const wake = new AbortController()
  const loop = async () => {
    while (!stopped) {
      try {
        await admin.connect()
        const wanted = await eventTopics()
        if (wanted.join() !== topics.join()) {
          await close()
          if (wanted.length > 0 && !stopped) await open(wanted)
        }
      } catch (error) {
        o.onError?.(error)
        await close().catch(() => {})
        topics = []
      }
      await delay(o.topicCheckMs ?? 5000, undefined, { signal: wake.signal }).catch(() => {})
    }
  }
  const running = loop().catch((error: unknown) => o.onError?.(error))

  return {
    /** Stops reading and deletes the tail's consumer group. */
    async stop() {
      stopped = true
      wake.abort()
      await running
      await close()
      await admin.disconnect()
    },
  }
}

export type EventTail = ReturnType<typeof startEventTail>
