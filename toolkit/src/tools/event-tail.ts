import { setTimeout as delay } from 'node:timers/promises'
import type { Consumer, Kafka } from 'kafkajs'
import { isEventTopicOf } from '../events/topics.ts'
import { deleteGroup } from './read-topic.ts'

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

/** What the tail filters on: exact event type and exact key; an empty filter matches everything. */
export interface EventFilter {
  type?: string | undefined
  key?: string | undefined
}

export const matchesFilter = (event: TailedEvent, filter: EventFilter) =>
  (!filter.type || event.eventType === filter.type) && (!filter.key || event.key === filter.key)

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
  /** Called with the event topics after the first look, and whenever they change. */
  onTopics?: (topics: string[]) => void
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
  let lastShown = ''

  const eventTopics = async () =>
    (await admin.listTopics()).filter((t) => isEventTopicOf(o.namespace, t)).sort()

  /** Groups whose deletion failed (Kafka away): tried again at each look and at stop(). */
  const leftover = new Set<string>()
  const deleteLeftovers = async () => {
    for (const group of leftover) {
      await deleteGroup(admin, group)
      leftover.delete(group)
    }
  }
  const close = async () => {
    const current = consumer
    consumer = undefined
    if (current) {
      leftover.add(groupId)
      await current.disconnect()
    }
    if (leftover.size > 0) {
      await admin.connect()
      await deleteLeftovers()
    }
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
    topics = wanted
    groupId = `${o.groupPrefix}${crypto.randomUUID()}`
    consumer = o.kafka.consumer({
      groupId,
      allowAutoTopicCreation: false,
      // kafkajs would restart a crashed consumer itself, rejoining with no committed offsets,
      // that is at the end: events in between would be skipped. The tail reopens instead, from
      // the positions it kept.
      retry: { restartOnFailure: async () => false },
    })
    consumer.on(consumer.events.CRASH, () => {
      topics = []
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
        await deleteLeftovers()
        const wanted = await eventTopics()
        if (wanted.join() !== topics.join()) {
          await close()
          if (wanted.length > 0 && !stopped) await open(wanted)
        }
        if (firstStart || wanted.join() !== lastShown) o.onTopics?.(wanted)
        lastShown = wanted.join()
        // Listed once: a topic that appears after this is new, and is read from its beginning.
        firstStart = false
      } catch (error) {
        o.onError?.(error)
        await close().catch((cleanup: unknown) => o.onError?.(cleanup))
        topics = []
      }
      await delay(o.topicCheckMs ?? 5000, undefined, { signal: wake.signal }).catch(() => {})
    }
  }
  const running = loop().catch((error: unknown) => o.onError?.(error))

  return {
    /**
     * Stops reading and deletes the tail's consumer group; rejects, naming the groups, when one
     * could not be deleted (Kafka unreachable), so the caller never claims none is left.
     */
    async stop() {
      stopped = true
      wake.abort()
      await running
      try {
        await close()
      } finally {
        await admin.disconnect()
      }
    },
  }
}

export type EventTail = ReturnType<typeof startEventTail>
