import type { KafkaMessage, Producer } from 'kafkajs'
import { bookstoreEvents } from '../../lib/events.ts'
import { dlqHeader, publishDeadLetter } from '../src/consumer/dead-letter.ts'
import {
  type BatchRule,
  type ConsumerStats,
  handleBatch,
  type PartitionBatch,
} from '../src/consumer/handle-batch.ts'
import { type IncomingEvent, parseEvent } from '../src/consumer/incoming-event.ts'
import type { RetryPolicy } from '../src/consumer/process-message.ts'
import { type Logger, silentLogger } from '../src/logger.ts'
import {
  type DatabaseFault,
  databaseFaults,
  type GroupFault,
  groupFaults,
  postgresError,
  type SendFault,
  sendFaults,
} from './injected-faults.ts'

/**
 * One partition consumed by handleBatch against a fake database and a fake Kafka, with faults
 * injected by call number; no broker, no Postgres. It plays kafkajs's part too: each delivery
 * hands over the records from the committed offset, and afterwards commits what was resolved —
 * unless a commit failed in that delivery, when the resolved offsets are taken as lost (a rejoin
 * forgets them) and the records come again. A delivery that ends fatally is a restart.
 * Everything observable is written to `journal`, in order, for the properties to read.
 */

export type RecordKind =
  | { kind: 'good' }
  | { kind: 'duplicate' }
  | { kind: 'poison'; variant: 0 | 1 | 2 | 3 }
  /** Well formed, but its handler always fails with a bug: retried, then dead-lettered. */
  | { kind: 'buggy' }

export interface Scenario {
  records: RecordKind[]
  batchSize: number
  /** Records kafkajs hands over in one delivery. */
  fetchSize: number
  retry: RetryPolicy
  /** Faults by call number (1-based), counted over the whole run: a database call is one applyEvent or applyBatch. */
  faults: {
    db: Map<number, DatabaseFault>
    heartbeat: Map<number, GroupFault>
    send: Map<number, SendFault>
    commit: Map<number, GroupFault>
  }
  log?: Logger
}

export type Step =
  | { step: 'delivery'; from: number; to: number }
  | { step: 'apply'; offsets: number[]; failure?: 'transient' | 'bug' | 'poison' }
  | { step: 'send'; offset: number; acked: boolean }
  | { step: 'resolve'; offset: number }
  | { step: 'heartbeat'; error?: Error }
  | { step: 'commit'; error?: Error }
  | { step: 'fatal'; code: string }
  | { step: 'end'; threw?: unknown }

const firstOffset = 1000
const bookId = '2f0c6c1e-4f7a-4c55-9a36-2f1c1f2b9c11'
/** A valid BookAdded payload, for tests that need one event that parses. */
export const book = {
  id: bookId,
  title: 'Dune',
  author: 'Frank Herbert',
  price: 12.99,
  stock: 5,
  createdAt: '2026-11-23T18:56:21.140Z',
  updatedAt: '2026-11-23T18:56:21.140Z',
  removedAt: null,
}
const poisons = [
  { event_type: 'BookAdded', value: '{"title":' },
  { event_type: 'BookBurnt', value: JSON.stringify(book) },
  { event_type: 'BookAdded', value: JSON.stringify({ ...book, price: 'free' }) },
  { event_type: undefined, value: JSON.stringify(book) },
]

/** The records of the partition, offsets from 1000; a duplicate repeats the id of an earlier good record. */
export function buildRecords(kinds: RecordKind[]): KafkaMessage[] {
  const ids: string[] = []
  return kinds.map((record, i) => {
    let id: string = crypto.randomUUID()
    let eventType: string | undefined = 'BookAdded'
    let value = JSON.stringify({ ...book, title: `Book ${i}` })
    if (record.kind === 'duplicate' && ids.length > 0) id = ids[i % ids.length] as string
    else if (record.kind === 'good') ids.push(id)
    if (record.kind === 'poison') {
      const poison = poisons[record.variant] as (typeof poisons)[number]
      eventType = poison.event_type
      value = poison.value
    }
    const headers: Record<string, Buffer> = { id: Buffer.from(id) }
    if (eventType) headers.event_type = Buffer.from(eventType)
    return {
      key: Buffer.from(bookId),
      value: Buffer.from(value),
      headers,
      offset: String(firstOffset + i),
      timestamp: String(Date.now()),
      attributes: 0,
    }
  })
}

export const indexOf = (offset: string) => Number(offset) - firstOffset

/** What the simulation leaves behind: the journal, the inbox, and the records it ran. */
export interface Simulation {
  journal: Step[]
  inbox: Set<string>
  messages: KafkaMessage[]
  deliveries: number
  stats: ConsumerStats
}

export async function simulatePartition(scenario: Scenario): Promise<Simulation> {
  const journal: Step[] = []
  const messages = buildRecords(scenario.records)
  const world = {
    database: fakeDatabase(scenario, messages, journal),
    kafka: fakeKafka(scenario, journal),
    stats: { applied: 0, duplicates: 0, deadLettered: 0, parked: 0, retries: 0 },
    log: scenario.log ?? silentLogger,
  }
  const faultCount = [...Object.values(scenario.faults)].reduce((sum, faults) => sum + faults.size, 0)
  let committed = 0
  let deliveries = 0
  while (committed < messages.length) {
    deliveries += 1
    if (deliveries > messages.length + 2 * faultCount + 5) throw new Error('the partition made no progress')
    const batch = messages.slice(committed, committed + scenario.fetchSize)
    journal.push({ step: 'delivery', from: committed, to: committed + batch.length - 1 })
    const mark = journal.length
    await handleBatch(startedConsumer(scenario, world, journal), world.kafka.payload(batch)).then(
      () => journal.push({ step: 'end' }),
      (error: unknown) => journal.push({ step: 'end', threw: error }),
    )
    const steps = journal.slice(mark)
    const resolved = steps.flatMap((s) => (s.step === 'resolve' ? [s.offset] : []))
    if (resolved.length > 0 && !steps.some((s) => s.step === 'commit' && s.error))
      committed = Math.max(...resolved) + 1
  }
  return { journal, inbox: world.database.inbox, messages, deliveries, stats: world.stats }
}

/** The consumer's rule as a (re)start makes it: not failed, on the same database and broker. */
function startedConsumer(
  scenario: Scenario,
  world: {
    database: ReturnType<typeof fakeDatabase>
    kafka: ReturnType<typeof fakeKafka>
    stats: ConsumerStats
    log: Logger
  },
  journal: Step[],
): BatchRule {
  let failed = false
  return {
    applyEvent: world.database.applyEvent,
    applyBatch: world.database.applyBatch,
    batchSize: scenario.batchSize,
    retry: scenario.retry,
    deadLetterTopic: 'outbox.events-dlq',
    publishDeadLetter: (message) =>
      publishDeadLetter(world.kafka.producer, 'outbox.events-dlq', message, 'simulated-group'),
    hasFailed: () => failed,
    onFatal: (error) => {
      failed = true
      journal.push({ step: 'fatal', code: error.code })
    },
    log: world.log,
    stats: world.stats,
  }
}

function fakeDatabase(scenario: Scenario, messages: KafkaMessage[], journal: Step[]) {
  const inbox = new Set<string>()
  const buggy = new Set(
    messages.filter((_, i) => scenario.records[i]?.kind === 'buggy').map((m) => m.headers?.id?.toString()),
  )
  let calls = 0
  /** One call: parse (a poison record never reaches the database), then the injected fault, if any. */
  const call = (records: IncomingEvent[]) => {
    const offsets = records.map((r) => indexOf(r.offset))
    let events: ReturnType<typeof parseEvent>[]
    try {
      events = records.map((record) => parseEvent(record, bookstoreEvents))
    } catch (error) {
      journal.push({ step: 'apply', offsets, failure: 'poison' })
      throw error
    }
    calls += 1
    const fault = scenario.faults.db.get(calls)
    if (fault) {
      const { transient, make } = databaseFaults[fault]
      journal.push({ step: 'apply', offsets, failure: transient ? 'transient' : 'bug' })
      throw make()
    }
    if (events.some((event) => buggy.has(event.id))) {
      journal.push({ step: 'apply', offsets, failure: 'bug' })
      throw databaseFaults['23514 check_violation'].make()
    }
    if (new Set(events.map((e) => e.id)).size < events.length) {
      // One upsert cannot touch a row twice: Postgres rejects the batch, as it does for real.
      journal.push({ step: 'apply', offsets, failure: 'bug' })
      throw postgresError('21000', 'ON CONFLICT DO UPDATE command cannot affect row a second time')
    }
    journal.push({ step: 'apply', offsets })
    const outcomes = events.map((e) => (inbox.has(e.id) ? 'duplicate' : 'applied') as 'applied' | 'duplicate')
    for (const event of events) inbox.add(event.id)
    return outcomes
  }
  return {
    inbox,
    applyEvent: async (record: IncomingEvent) => call([record])[0] as 'applied' | 'duplicate',
    applyBatch: async (records: IncomingEvent[]) => call(records),
  }
}

function fakeKafka(scenario: Scenario, journal: Step[]) {
  const calls = { heartbeat: 0, send: 0, commit: 0 }
  const producer = {
    async send(record: { messages: { headers?: Record<string, unknown> }[] }) {
      calls.send += 1
      const offset = indexOf(String(record.messages[0]?.headers?.[dlqHeader.offset]))
      const fault = scenario.faults.send.get(calls.send)
      journal.push({ step: 'send', offset, acked: !fault })
      if (fault) throw sendFaults[fault]()
      return []
    },
  } as unknown as Producer
  const payload = (messages: KafkaMessage[]) => ({
    batch: { topic: 'outbox.events.book', partition: 0, messages },
    resolveOffset: (offset: string) => void journal.push({ step: 'resolve', offset: indexOf(offset) }),
    heartbeat: async () => {
      calls.heartbeat += 1
      const fault = scenario.faults.heartbeat.get(calls.heartbeat)
      const error = fault && groupFaults[fault]()
      journal.push(error ? { step: 'heartbeat', error } : { step: 'heartbeat' })
      if (error) throw error
    },
    commitOffsetsIfNecessary: async () => {
      calls.commit += 1
      const fault = scenario.faults.commit.get(calls.commit)
      const error = fault && groupFaults[fault]()
      journal.push(error ? { step: 'commit', error } : { step: 'commit' })
      if (error) throw error
    },
    isRunning: () => true,
    isStale: () => false,
  })
  return { producer, payload }
}

/** A partition's batch that nothing disturbs (no rebalance, no failed call); resolved offsets go to `resolved`. */
export const steadyBatch = (topic: string, messages: KafkaMessage[], resolved: string[]): PartitionBatch => ({
  batch: { topic, partition: 0, messages },
  resolveOffset: (offset) => void resolved.push(offset),
  heartbeat: async () => {},
  isRunning: () => true,
  isStale: () => false,
  commitOffsetsIfNecessary: async () => {},
})
