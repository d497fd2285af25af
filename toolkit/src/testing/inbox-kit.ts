import { randomUUID } from 'node:crypto'
import type postgres from 'postgres'
import { type ApplyOutcome, applyBatch, type InboxApp, type Refusal } from '../consumer/apply-event.ts'
import type { IncomingEvent } from '../consumer/incoming-event.ts'
import type { EventOf, EventRegistry } from '../events/define.ts'
import { topicOf } from '../events/topics.ts'
import { type OutboxTableName, qualifiedName } from '../outbox/table-name.ts'

export interface DeliverOptions {
  /** The cause's W3C traceparent, as the record's header carries it. */
  traceparent?: string
  /** When the event was written (the record timestamp); now by default. */
  occurredAt?: Date
}

/** What delivering a batch did: each event applied, or skipped as one the inbox already held. */
export interface Delivery {
  /** One per event delivered, in order. */
  outcomes: ApplyOutcome[]
  /** The state changes the batch's handlers refused (a refusal names its event type, not its event). */
  refused: Refusal[]
}

/** An outbox row as the toolkit's append wrote it. */
export interface AppendedEvent {
  id: string
  aggregateType: string
  aggregateId: string
  eventType: string
  payload: unknown
  traceparent: string | null
}

/**
 * Runs an app's handlers against a real Postgres as the consumer runtime runs them, without Kafka:
 * each event becomes the record Debezium's EventRouter would make of it (its topic, its aggregate
 * id as key, `id` and `event_type` headers, the JSON payload), is checked against the registry, and
 * is recorded in the inbox and applied in one transaction. Delivering the same event again is a
 * duplicate, as a redelivery is. `sql` is the service's database with the toolkit's tables and
 * the service's own.
 */
/** The capture table and trigger function beside `outbox`, quoted: `"s"."outbox_appended"`. */
function captureNames(outbox: OutboxTableName) {
  const beside = (suffix: string) =>
    qualifiedName(
      typeof outbox === 'string'
        ? `${outbox}${suffix}`
        : { schema: outbox.schema, table: `${outbox.table}${suffix}` },
    )
  return { table: qualifiedName(outbox), capture: beside('_appended'), fn: beside('_capture_append') }
}

export function inboxTestKit<R extends EventRegistry>(sql: postgres.Sql, app: InboxApp<R>) {
  let offset = 0
  const recordOf = (event: EventOf<R>, options: DeliverOptions): IncomingEvent => ({
    topic: topicOf(app.registry.namespace, event.aggregateType),
    partition: 0,
    offset: String(offset++),
    key: event.aggregateId,
    headers: {
      id: event.id,
      event_type: event.eventType,
      ...(options.traceparent ? { traceparent: options.traceparent } : {}),
    },
    value: JSON.stringify(event.payload),
    timestamp: String((options.occurredAt ?? new Date()).getTime()),
  })
  return {
    /**
     * Delivers events in one batch, as consecutive records of one partition: all applied or, when
     * a handler throws or a payload fails its schema, none (the error is thrown).
     */
    async deliver(events: EventOf<R> | EventOf<R>[], options: DeliverOptions = {}): Promise<Delivery> {
      const batch = Array.isArray(events) ? events : [events]
      const refused: Refusal[] = []
      const outcomes = await applyBatch(
        sql,
        batch.map((event) => recordOf(event, options)),
        app,
        (r) => refused.push(r),
      )
      return { outcomes, refused }
    },
    /**
     * Records every event appended to `outbox` from now on (what an earlier capture kept is
     * cleared), for appended() to show. The append deletes its row in the same transaction
     * (Debezium reads the insert from the WAL), so the table itself stays empty: a trigger copies
     * each insert into `<outbox>_appended` beside it, numbered in the order made. For a test
     * database only; stopCapture removes the trigger, the function and the table.
     */
    async captureAppends(outbox: OutboxTableName): Promise<void> {
      const { table, capture, fn } = captureNames(outbox)
      await sql.unsafe(`
        create table if not exists ${capture} (seq bigint generated always as identity,
          id uuid, aggregate_type text, aggregate_id text, event_type text, payload jsonb, trace_context text);
        truncate ${capture};
        create or replace function ${fn}() returns trigger language plpgsql as $$
          begin
            insert into ${capture} (id, aggregate_type, aggregate_id, event_type, payload, trace_context)
            values (new.id, new.aggregate_type, new.aggregate_id, new.event_type, new.payload, new.trace_context);
            return new;
          end $$;
        create or replace trigger outbox_cdc_test_capture after insert on ${table}
          for each row execute function ${fn}();`)
    },
    /** Removes what captureAppends added: the outbox is as the toolkit's schema made it. */
    async stopCapture(outbox: OutboxTableName): Promise<void> {
      const { table, capture, fn } = captureNames(outbox)
      await sql.unsafe(`
        drop trigger if exists outbox_cdc_test_capture on ${table};
        drop function if exists ${fn}();
        drop table if exists ${capture};`)
    },
    /** The events appended to `outbox` since captureAppends, in the order made, with their traceparents. */
    async appended(outbox: OutboxTableName): Promise<AppendedEvent[]> {
      const { capture } = captureNames(outbox)
      const rows = await sql.unsafe<
        {
          id: string
          aggregate_type: string
          aggregate_id: string
          event_type: string
          payload: unknown
          trace_context: string | null
        }[]
      >(
        `select id::text, aggregate_type, aggregate_id, event_type, payload, trace_context
         from ${capture} order by seq`,
      )
      return rows.map((row) => ({
        id: row.id,
        aggregateType: row.aggregate_type,
        aggregateId: row.aggregate_id,
        eventType: row.event_type,
        payload: row.payload,
        traceparent: row.trace_context,
      }))
    },
    /** A fresh event id, for building events by hand. */
    newId: () => randomUUID(),
  }
}

export type InboxTestKit = ReturnType<typeof inboxTestKit>
