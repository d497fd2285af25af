import type postgres from 'postgres'
import type { EventRegistry, EventTypeOf, PayloadOf } from '../events/define.ts'
import { type OutboxTableName, qualifiedName } from '../outbox/table-name.ts'
import { ConsumerError } from './errors.ts'
import { type IncomingEvent, type ParsedEvent, parseEvent } from './incoming-event.ts'

export type ApplyOutcome = 'applied' | 'duplicate'

/** The transaction a batch runs in; every statement a handler sends goes through it. */
export type Sql = postgres.TransactionSql
/**
 * The batch transaction's id (`txid_current()` as text). A handler that writes adds
 * `and txid_current() = ${tx}::bigint` to each statement: postgres.js can reconnect a pooled
 * connection whose backend died mid-transaction and send the rest of the callback on the new
 * session, outside any transaction (porsager/postgres#1215), where each statement would commit on
 * its own. Guarded, such a statement writes nothing, and the batch's last check fails it.
 */
export type TxGuard = string

/**
 * A state change a handler declined (a late or repeated event the service's state machine does
 * not allow). The event is done, not dead-lettered: the runtime logs it and counts it in
 * `consumer_refused_transitions_total` by event type and `from`.
 */
export interface Refusal {
  eventType: string
  /** The state found, which did not allow the change. */
  from: string
  [detail: string]: unknown
}

/** What a handler may hand back: the state changes it refused, if any. */
export interface HandlerResult {
  refused?: Refusal[]
}

/** What a handler knows of each event besides its payload. */
export interface EventContext {
  id: string
  /** The cause's W3C traceparent: pass it to the events this one makes you append. */
  traceparent?: string
}

/**
 * What one event type does, for all of a batch's new events of that type at once (oldest first),
 * inside the transaction that records them in the inbox. One event is a batch of one. `events[i]`
 * is `payloads[i]`'s id and traceparent.
 */
export type BatchHandler<Payload = unknown> = {
  // Method syntax, so an app with typed handlers is still an InboxApp of the general kind.
  // biome-ignore lint/suspicious/noConfusingVoidType: a handler with nothing to report is a plain async function
  handle(sql: Sql, tx: TxGuard, payloads: Payload[], events: EventContext[]): Promise<HandlerResult | void>
}['handle']

/**
 * What a service built on this runtime applies: the events it knows (`registry`), the inbox table
 * it records them in (the toolkit's inbox columns), what each event type does, and the row key
 * each one locks. An event type without a handler is recorded in the inbox and otherwise left
 * alone (a service reading a topic of which only some types concern it).
 */
export interface InboxApp<R extends EventRegistry = EventRegistry> {
  registry: R
  inbox: OutboxTableName
  handlers: { [T in EventTypeOf<R>]?: BatchHandler<PayloadOf<R, T>> }
  /**
   * The row each event type writes, as a key: a batch locks these keys first, in one sorted pass,
   * so batches running at once (other partitions, other processes) never wait in a cycle.
   */
  lockKey?: { [T in EventTypeOf<R>]?: LockKey<PayloadOf<R, T>> }
}

/** The row key an event locks (method syntax for the same reason as BatchHandler). */
export type LockKey<Payload> = { key(payload: Payload): string }['key']

/** Checks an app once: its inbox name is a plain identifier (it ends up in SQL text). */
export function defineInboxApp<R extends EventRegistry>(app: InboxApp<R>): InboxApp<R> {
  qualifiedName(app.inbox)
  return app
}

/**
 * The refusals a handler returned, each an object naming the handler's event type and a `from`
 * (`unknown` when it gave none). Anything else returned is ignored: a handler's report must never
 * fail the writes it made.
 */
function refusalsOf(eventType: string, result: unknown): Refusal[] {
  const refused = (result as HandlerResult | undefined)?.refused
  if (!Array.isArray(refused)) return []
  return refused
    .filter((item): item is Refusal => typeof item === 'object' && item !== null)
    .map((item) => ({ ...item, eventType, from: typeof item.from === 'string' ? item.from : 'unknown' }))
}

/** Called after a batch committed, for each state change its handlers refused (none when it rolled back). */
export type OnRefused = (refused: Refusal) => void

/** An event with where it was read from: what the inbox records about it. */
export interface InboxEntry {
  event: ParsedEvent
  topic: string
  partition: number
  offset: string
  /** When the event was written (the record timestamp) as ISO text; null when unknown. */
  occurredAt: string | null
}

/** Kafka's timestamps that Postgres can store: after 1970 (-1 is "none") and before the year 10000. */
const latestStorableMs = 253_402_300_799_999

/**
 * The record timestamp (the outbox row's created_at) as ISO text; null when the record has none
 * or one no timestamp column can hold: metadata alone must never fail a good event.
 */
const occurredAt = (message: IncomingEvent) => {
  const ms = Number(message.timestamp)
  return Number.isFinite(ms) && ms > 0 && ms <= latestStorableMs ? new Date(ms).toISOString() : null
}

/**
 * Records entries in the inbox and returns the ids it already held (redeliveries). One prepared
 * statement over arrays, whatever the batch size. An id seen before, or again later in the same
 * batch (Connect re-sends after a crash), counts as a redelivery; `xmax = 0` is true only for a
 * freshly inserted row, which tells the two apart in one statement. Only the ids already held
 * come back: usually none, where returning every fresh id cost a row per record to send and parse.
 * A redelivery also moves `last_offset` to the latest copy's offset, which the pruner waits to see
 * leave the topic; a copy on another partition than the first (partitions were added) sets it to
 * the largest bigint, and the row is then never pruned.
 */
async function alreadyInInbox(
  sql: Sql,
  tx: TxGuard,
  entries: InboxEntry[],
  inbox: OutboxTableName,
): Promise<Set<string>> {
  const first = new Map<string, { entry: InboxEntry; repeats: number; last: string | null }>()
  for (const entry of entries) {
    const seen = first.get(entry.event.id)
    if (!seen) first.set(entry.event.id, { entry, repeats: 0, last: null })
    else {
      seen.repeats += 1
      const samePartition = seen.entry.topic === entry.topic && seen.entry.partition === entry.partition
      seen.last = samePartition ? entry.offset : neverPruned
    }
  }
  const rows = [...first.values()]
  const column = <T>(pick: (row: { entry: InboxEntry; repeats: number; last: string | null }) => T) =>
    sql.array(rows.map(pick) as never)
  // The name goes in as checked, quoted text and the ids come back by position, not through
  // sql(name) and row.event_id: a client made with postgres.js's `transform` (postgres.camel) would
  // rename both, and every redelivery would look new.
  const held: string[][] = await sql`
    with recorded as (
      insert into ${sql.unsafe(qualifiedName(inbox))} as c
        (event_id, event_type, topic, partition, kafka_offset, occurred_at, redeliveries, last_offset)
      select * from unnest(
        ${column((r) => r.entry.event.id)}::uuid[],
        ${column((r) => r.entry.event.eventType)}::text[],
        ${column((r) => r.entry.topic)}::text[],
        ${column((r) => r.entry.partition)}::int[],
        ${column((r) => r.entry.offset)}::bigint[],
        ${column((r) => r.entry.occurredAt)}::timestamptz[],
        ${column((r) => r.repeats)}::int[],
        ${column((r) => r.last)}::bigint[])
      where txid_current() = ${tx}::bigint
      on conflict (event_id) do update set
        redeliveries = c.redeliveries + excluded.redeliveries + 1,
        last_offset = case when c.topic = excluded.topic and c.partition = excluded.partition
          then greatest(coalesce(c.last_offset, c.kafka_offset), excluded.last_offset, excluded.kafka_offset)
          else ${neverPruned}::bigint end
      returning event_id, (xmax = 0) as fresh)
    select event_id from recorded where not fresh`.values()
  return new Set(held.map((row) => row[0] as string))
}

/** `last_offset` of an event seen on two partitions: no low watermark passes it. */
const neverPruned = '9223372036854775807'

/**
 * The consumer's SQL for a batch, inside a transaction the caller opened: one inbox statement for
 * all entries, advisory locks on the read-model rows, then one statement per event type for that
 * type's new events. Returns the entries applied (the rest were duplicates). Exported so that a
 * measurement of the database's share can run exactly these statements.
 */
export async function applyInTransaction(
  sql: Sql,
  entries: InboxEntry[],
  app: InboxApp,
): Promise<{ applied: Set<InboxEntry>; tx: string; refused: Refusal[] }> {
  const [first] = await sql<{ tx: string }[]>`select txid_current()::text as tx`
  const tx = first?.tx ?? ''
  const held = await alreadyInInbox(sql, tx, entries, app.inbox)
  // An id repeated in the batch is applied at its first occurrence only.
  const seen = new Set<string>()
  const toApply = entries.filter(({ event }) => {
    if (held.has(event.id) || seen.has(event.id)) return false
    seen.add(event.id)
    return true
  })
  const keys = toApply.flatMap(({ event }) => {
    const keyOf = (app.lockKey as Record<string, ((payload: unknown) => string) | undefined> | undefined)?.[
      event.eventType
    ]
    return keyOf ? [keyOf(event.payload)] : []
  })
  // Advisory locks on the row keys, taken in one sorted pass before any row is touched: two
  // batches sharing keys then queue instead of deadlocking. (Volatile functions in the select
  // list run after the ORDER BY.) Keys are hashed into 1,024 buckets: a batch of 5,000 distinct
  // rows would otherwise take 5,000 locks, and three such batches filled Postgres' shared lock
  // table ("out of shared memory"). Two keys in one bucket only queue, as two batches sharing a key
  // already do. The key space (the two-number form's first number) is the inbox's name hashed: an
  // app's batches take turns with each other, never with another app's in the same database.
  if (keys.length > 0)
    await sql`select pg_advisory_xact_lock(hashtext(${qualifiedName(app.inbox)}), b) from (select distinct hashtext(k) & 1023 as b from unnest(${sql.array(keys)}::text[]) as k) s order by b`
  // Each type's handler sees its events in partition order. Read-model writes only add or set
  // their own columns, so grouping by type gives the same result. (A service whose handlers of
  // two types write one row in an order that matters should lock it by key and write it in one.)
  const byType = new Map<string, { payloads: unknown[]; events: EventContext[] }>()
  for (const { event } of toApply) {
    const context = { id: event.id, ...(event.traceparent ? { traceparent: event.traceparent } : {}) }
    const group = byType.get(event.eventType)
    if (group) {
      group.payloads.push(event.payload)
      group.events.push(context)
    } else byType.set(event.eventType, { payloads: [event.payload], events: [context] })
  }
  const refused: Refusal[] = []
  const handlers = app.handlers as Record<string, BatchHandler | undefined>
  for (const [eventType, { payloads, events }] of byType) {
    const result = await handlers[eventType]?.(sql, tx, payloads, events)
    refused.push(...refusalsOf(eventType, result))
  }
  // Still the transaction we began? If the connection was replaced on the way, every guarded
  // write above wrote nothing; failing here rolls back what is left and the caller retries.
  const [still] = await sql<{ same: boolean }[]>`select txid_current() = ${tx}::bigint as same`
  if (!still?.same)
    throw new ConsumerError(
      'CONNECTION_REPLACED',
      'the database connection was replaced inside the batch transaction',
      { retryable: true },
    )
  return { applied: new Set(toApply), tx, refused }
}

/**
 * Runs a batch transaction and then asks Postgres whether it really committed. The check inside
 * (above) cannot see past itself: a statement postgres.js sends late on a connection it replaced
 * (porsager/postgres#1215) can be another batch's `rollback`, landing between this transaction's
 * last check and its `commit`. Postgres then ends this transaction, answers the commit with only a
 * warning, and the batch would count as applied with nothing stored. `txid_status` tells: anything
 * but committed fails the batch as retryable, and it is redone (the inbox decides what is new).
 */
export async function commitBatch<T extends { tx: string }>(
  client: postgres.Sql,
  body: (sql: Sql) => Promise<T>,
): Promise<T> {
  const result = (await client.begin(body)) as T
  const [row] = await client<{ status: string | null }[]>`select txid_status(${result.tx}::bigint) as status`
  if (row?.status !== 'committed')
    throw new ConsumerError(
      'CONNECTION_REPLACED',
      `the batch transaction ${result.tx} did not commit (${row?.status ?? 'unknown'}): it was ended from another connection`,
      { retryable: true },
    )
  return result
}

/**
 * Applies consecutive records of one partition in one transaction. Committing once per batch
 * instead of once per event, and writing in a few statements instead of one per event, is what
 * lets the consumer keep up with the connector.
 * All or nothing: a record that cannot be parsed, a handler that throws, or any database error
 * rejects the whole batch and changes nothing; the caller then takes the records one by one
 * (applyEvent), where each failure gets its own retries or dead letter.
 * It runs on postgres.js directly: the consumer's hot path, with statements prepared once.
 */
export async function applyBatch(
  client: postgres.Sql,
  messages: IncomingEvent[],
  app: InboxApp,
  onRefused?: OnRefused,
): Promise<ApplyOutcome[]> {
  const entries = messages.map((message) => ({
    event: parseEvent(message, app.registry),
    topic: message.topic,
    partition: message.partition,
    offset: message.offset,
    occurredAt: occurredAt(message),
  }))
  const { applied, refused } = await commitBatch(client, (sql) => applyInTransaction(sql, entries, app))
  // The batch has committed: reporting a refusal must not make it look rolled back (the caller
  // would replay it one by one and count its events as duplicates). A callback that throws is
  // the caller's to log; createEventConsumer does.
  for (const r of refused) {
    try {
      onRefused?.(r)
    } catch {}
  }
  return entries.map((entry) => (applied.has(entry) ? 'applied' : 'duplicate'))
}

/**
 * Applies one event exactly once in effect: the inbox row and the read-model change commit in
 * one transaction, and an event id the inbox already holds is skipped. The caller commits the
 * Kafka offset only after this returns.
 */
export async function applyEvent(
  client: postgres.Sql,
  message: IncomingEvent,
  app: InboxApp,
  onRefused?: OnRefused,
): Promise<ApplyOutcome> {
  return (await applyBatch(client, [message], app, onRefused))[0] as ApplyOutcome
}
