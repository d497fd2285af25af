import { createHash } from 'node:crypto'
import { EventContractError, OptionsError } from '../errors.ts'
import type { OutboxEvent } from '../events/define.ts'
import { aggregateNamePattern, isAggregateName } from '../events/topics.ts'
import type { SqlExecutor } from './executor.ts'
import { type OutboxTableName, qualifiedName } from './table-name.ts'

export interface AppendOptions {
  /**
   * The instant the change this event describes happened, as stamped on the row it describes
   * (a row's `created_at`, or the time a status changed). The outbox row's `created_at`,
   * which Debezium puts on the Kafka record as its timestamp, is this instant. Without it, the
   * database's clock decides: `now()`, the start of the writing transaction. Either way the
   * writer's application clock is never read here. A string must be ISO 8601 with its offset
   * (`Z` or `+02:00`); it is read by the database as written, microseconds included.
   */
  occurredAt?: Date | string | undefined
  /** W3C traceparent of the work that caused the event; travels as the record's `traceparent`. */
  traceparent?: string | undefined
}

interface Statements {
  insert: { name: string; text: string }
  remove: { name: string; text: string }
}

// Built once per table and guard. A statement is named after its text: a name never stands for
// two texts, even across two copies of the toolkit in one process sharing a connection.
const cache = new Map<string, Statements>()

const named = (text: string) => ({
  name: `outbox_cdc_${createHash('sha256').update(text).digest('hex').slice(0, 16)}`,
  text,
})

function statementsFor(table: OutboxTableName, guarded: boolean): Statements {
  const target = qualifiedName(table)
  const key = `${target} ${guarded}`
  const cached = cache.get(key)
  if (cached) return cached
  const statements: Statements = {
    // created_at is timestamp without time zone, in UTC: the EventRouter's timestamp field takes
    // Debezium's Timestamp/MicroTimestamp only (timestamptz makes it throw). $6 is sent as text,
    // so no driver rewrites it (postgres.js would turn it into a millisecond Date).
    insert: named(
      `insert into ${target} (id, aggregate_type, aggregate_id, event_type, payload, created_at, trace_context) ` +
        `select $1::uuid, $2::text, $3::text, $4::text, $5::text::jsonb, ` +
        `coalesce($6::text::timestamptz, now()) at time zone 'utc', $7::text` +
        (guarded ? ' where txid_current() = $8::bigint' : ''),
    ),
    remove: named(
      `delete from ${target} where id = $1::uuid${guarded ? ' and txid_current() = $2::bigint' : ''}`,
    ),
  }
  cache.set(key, statements)
  return statements
}

// ISO 8601 with a date, a time and an explicit offset: nothing a session time zone could change.
const isoWithOffset = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}(:?\d{2})?)$/i

function occurredAtParam(at: Date | string | undefined): string | null {
  if (at === undefined) return null
  if (at instanceof Date) {
    if (Number.isNaN(at.getTime())) throw new OptionsError('occurredAt is an invalid Date')
    return at.toISOString()
  }
  if (!isoWithOffset.test(at)) {
    throw new OptionsError(
      `occurredAt ${JSON.stringify(at)} must be ISO 8601 with an offset (2026-03-01T10:00:00.123456Z): ` +
        'without one the database would read it in its session time zone',
    )
  }
  return at
}

// An escaped NUL, or an escaped surrogate (JSON.stringify escapes only lone ones), preceded by an
// even number of backslashes (so the escape is real, not a backslash in the text): jsonb refuses both.
const jsonbRefuses = /(?:^|[^\\])(?:\\\\)*\\u(?:0000|d[89a-f][0-9a-f]{2})/i

function payloadText(event: OutboxEvent): string {
  let text: string | undefined
  try {
    text = JSON.stringify(event.payload)
  } catch (cause) {
    throw new EventContractError('INVALID_PAYLOAD', `payload of ${event.eventType} ${event.id} is not JSON`, {
      cause,
    })
  }
  if (text === undefined) {
    throw new EventContractError('INVALID_PAYLOAD', `payload of ${event.eventType} ${event.id} is not JSON`)
  }
  if (jsonbRefuses.test(text)) {
    throw new EventContractError(
      'INVALID_PAYLOAD',
      `payload of ${event.eventType} ${event.id} holds a NUL character or a lone surrogate, which Postgres jsonb cannot store`,
    )
  }
  return text
}

/**
 * Appends `event` to the outbox table, inside the caller's transaction: the event exists if and
 * only if that transaction commits. The one append every writer uses.
 *
 * The row is deleted again in the same transaction. Debezium reads the insert from the WAL, not
 * the table, so the event still reaches Kafka (the publication sends inserts only), and the table
 * never grows: no cleanup job to race with while the connector lags.
 */
export async function appendEvent(
  executor: SqlExecutor,
  table: OutboxTableName,
  event: OutboxEvent,
  options: AppendOptions = {},
): Promise<void> {
  const guard = executor.txGuard
  const { insert, remove } = statementsFor(table, guard !== undefined)
  // Everything that can be refused is refused before the first statement. The aggregate names
  // the topic (`<namespace>.<aggregate>`): one that is no topic-name part would be routed where no
  // subscriber looks, to a topic Connect creates with the broker's defaults.
  if (!isAggregateName(event.aggregateType))
    throw new EventContractError(
      'INVALID_EVENT_DEFINITION',
      `aggregateType ${JSON.stringify(event.aggregateType)} of ${event.eventType} ${event.id} is no topic-name part (${aggregateNamePattern}, not ending in -dlq)`,
    )
  const insertParams: unknown[] = [
    event.id,
    event.aggregateType,
    event.aggregateId,
    event.eventType,
    payloadText(event),
    occurredAtParam(options.occurredAt),
    options.traceparent ?? null,
  ]
  if (guard !== undefined) insertParams.push(guard)
  await executor.run(insert.name, insert.text, insertParams)
  await executor.run(remove.name, remove.text, guard === undefined ? [event.id] : [event.id, guard])
}
