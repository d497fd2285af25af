import type { OutboxEvent } from '../events/define.ts'
import type { SqlExecutor } from './executor.ts'
import { type OutboxTableName, qualifiedName } from './table-name.ts'

export interface AppendOptions {
  /**
   * The instant the change this event describes happened, as stamped on the row it describes
   * (an order's `created_at`, a cancellation's `cancelled_at`). The outbox row's `created_at`,
   * which Debezium puts on the Kafka record as its timestamp, is this instant. Without it, the
   * database's clock decides: `now()`, the start of the writing transaction. Either way the
   * writer's application clock is never read here.
   */
  occurredAt?: Date | string | undefined
  /** W3C traceparent of the work that caused the event; travels as the record's `traceparent`. */
  traceparent?: string | undefined
}

interface Statements {
  insert: { name: string; text: string }
  remove: { name: string; text: string }
}

// Built once per table and guard: the prepared statements' names must map to one text each.
const cache = new Map<string, Statements>()

function statementsFor(table: OutboxTableName, guarded: boolean): Statements {
  const target = qualifiedName(table)
  const key = `${target} ${guarded}`
  const cached = cache.get(key)
  if (cached) return cached
  const suffix = `${cache.size}`
  const statements: Statements = {
    // created_at is timestamp without time zone, in UTC: the EventRouter's timestamp field takes
    // Debezium's Timestamp/MicroTimestamp only (timestamptz makes it throw).
    insert: {
      name: `outbox_cdc_append_${suffix}`,
      text:
        `insert into ${target} (id, aggregate_type, aggregate_id, event_type, payload, created_at, trace_context) ` +
        `select $1::uuid, $2::text, $3::text, $4::text, $5::text::jsonb, ` +
        `coalesce($6::timestamptz, now()) at time zone 'utc', $7::text` +
        (guarded ? ' where txid_current() = $8::bigint' : ''),
    },
    remove: {
      name: `outbox_cdc_remove_${suffix}`,
      text: `delete from ${target} where id = $1::uuid` + (guarded ? ' and txid_current() = $2::bigint' : ''),
    },
  }
  cache.set(key, statements)
  return statements
}

const isoOf = (at: Date | string | undefined) =>
  at === undefined ? null : at instanceof Date ? at.toISOString() : at

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
  const insertParams: unknown[] = [
    event.id,
    event.aggregateType,
    event.aggregateId,
    event.eventType,
    JSON.stringify(event.payload),
    isoOf(options.occurredAt),
    options.traceparent ?? null,
  ]
  if (guard !== undefined) insertParams.push(guard)
  await executor.run(insert.name, insert.text, insertParams)
  await executor.run(remove.name, remove.text, guard === undefined ? [event.id] : [event.id, guard])
}
