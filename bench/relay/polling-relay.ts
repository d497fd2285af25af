import { setTimeout as delay } from 'node:timers/promises'
import type { Kafka, Producer } from 'kafkajs'
import type postgres from 'postgres'

/**
 * The baseline CDC is measured against: the polling relay many teams run instead. It is a
 * benchmark fixture only, written the way such relays usually are: every `intervalMs` it locks
 * a batch of unsent outbox rows, publishes them with kafkajs (acks from all replicas, in order),
 * marks them sent and commits; a full batch is followed at once by the next.
 *
 * The project's outbox rows are deleted in the transaction that writes them (CDC reads the WAL),
 * so the relay gets its own table, filled by a trigger in that same transaction: the relay sees
 * exactly the events CDC sees, with the same atomicity.
 */
export async function installRelayTable(sql: postgres.Sql) {
  await sql.unsafe(`
    create table if not exists bench_relay_outbox (
      seq bigserial primary key,
      id uuid not null,
      aggregate_type text not null,
      aggregate_id text not null,
      event_type text not null,
      payload jsonb not null,
      created_at timestamp not null,
      sent_at timestamptz
    );
    create index if not exists bench_relay_outbox_unsent on bench_relay_outbox (seq) where sent_at is null;
    create or replace function bench_relay_copy() returns trigger language plpgsql as $$
    begin
      insert into bench_relay_outbox (id, aggregate_type, aggregate_id, event_type, payload, created_at)
      values (new.id, new.aggregate_type, new.aggregate_id, new.event_type, new.payload, new.created_at);
      return new;
    end $$;
    create or replace trigger bench_relay_copy after insert on outbox
      for each row execute function bench_relay_copy();`)
}

/** Removes the trigger only: rows written from now on are not copied; the table keeps what it has. */
export async function stopCopyingToRelay(sql: postgres.Sql) {
  await sql.unsafe('drop trigger if exists bench_relay_copy on outbox')
}

export async function removeRelayTable(sql: postgres.Sql) {
  await sql.unsafe(`drop trigger if exists bench_relay_copy on outbox;
    drop function if exists bench_relay_copy(); drop table if exists bench_relay_outbox`)
}

interface RelayRow {
  seq: string
  id: string
  aggregate_type: string
  aggregate_id: string
  event_type: string
  payload: unknown
  created_at_ms: string
}

export class PollingRelay {
  private running = false
  private loop: Promise<void> | undefined
  private producer: Producer
  published = 0

  constructor(
    private readonly sql: postgres.Sql,
    kafka: Kafka,
    private readonly options: { intervalMs: number; batchSize: number; namespace: string },
  ) {
    this.producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 })
  }

  /** Connects the producer; polling begins with `begin()`, so a backlog can be timed from then. */
  async connect() {
    await this.producer.connect()
  }

  begin() {
    this.running = true
    this.loop = this.run()
  }

  async stop() {
    this.running = false
    await this.loop
    await this.producer.disconnect()
  }

  private async run() {
    while (this.running) {
      const sent = await this.pollOnce()
      if (sent < this.options.batchSize) await delay(this.options.intervalMs)
    }
  }

  /** One poll: lock unsent rows, publish, mark sent, commit. Returns how many were sent. */
  async pollOnce(): Promise<number> {
    return this.sql.begin(async (tx) => {
      const rows = await tx<RelayRow[]>`
        select seq, id, aggregate_type, aggregate_id, event_type, payload,
               (extract(epoch from created_at) * 1000)::bigint::text as created_at_ms
        from bench_relay_outbox where sent_at is null
        order by seq limit ${this.options.batchSize} for update skip locked`
      if (rows.length === 0) return 0
      const byTopic = new Map<string, RelayRow[]>()
      for (const row of rows) {
        const topic = `${this.options.namespace}.${row.aggregate_type}`
        byTopic.set(topic, [...(byTopic.get(topic) ?? []), row])
      }
      await this.producer.sendBatch({
        acks: -1,
        topicMessages: [...byTopic].map(([topic, list]) => ({
          topic,
          messages: list.map((row) => ({
            key: row.aggregate_id,
            value: JSON.stringify(row.payload),
            timestamp: row.created_at_ms,
            headers: { id: row.id, event_type: row.event_type },
          })),
        })),
      })
      await tx`update bench_relay_outbox set sent_at = now() where seq in ${tx(rows.map((r) => r.seq))}`
      this.published += rows.length
      return rows.length
    })
  }
}
