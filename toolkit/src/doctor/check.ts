import type { Kafka } from 'kafkajs'
import type postgres from 'postgres'
import type { ConnectClient } from '../connector/connect-client.ts'
import type { CommandNamer } from '../operations.ts'
import type { OutboxTableName } from '../outbox/table-name.ts'
import type { Finding } from './finding.ts'

/** What the checks look at: the names of this pipeline's parts and the limits that make a failure. */
export interface DoctorTargets {
  connectorName: string
  slotName: string
  publication: string
  namespace: string
  /** The outbox tables (schema-qualified) the publication must send. */
  outboxTables: string[]
  /** The consumer groups whose lag is checked, in report order; the first one's dead letters too. */
  consumers: ConsumerTarget[]
  /** Where dead letters go, and the group their redrive records its progress in. */
  deadLetters: { topic: string; redriveGroup: string }
  /** Retained WAL above this is a failure (the slot is on its way to max_slot_wal_keep_size). */
  maxSlotRetainedBytes: number
  /** Unconsumed records above this are a failure. */
  maxConsumerLag: number
  /** A domain write older than this without a matching applied event means events are stuck. */
  staleAfterS: number
  /** How hints name the commands they suggest (the CLI's by default). */
  commands?: CommandNamer
  /** Said after "is Postgres up?" and the like, e.g. the command that shows the stack's state. */
  reachHint?: string
}

/** A consumer group the doctor checks: its lag over `topics` (every event topic when absent). */
export interface ConsumerTarget {
  group: string
  topics?: string[]
  /** The finding's name: `consumer.group` by default. */
  check?: string
  /** How to start a member of the group, for the hint when nobody consumes. */
  start?: string
  /** Its inbox, reported on (size, oldest row, horizon) when given. */
  inbox?: {
    table: OutboxTableName
    /** INBOX_RETENTION in ms; null when pruning is off. */
    retentionMs: number | null
    horizon?: OutboxTableName
    /** Where the group keeps its parked keys: `outbox_cdc_parked_letters` beside the inbox when not given. */
    parkedLetters?: OutboxTableName
  }
}

/** The clients the checks use; the caller owns them (opens and closes them). */
export interface DoctorDeps {
  /** A role that may read pg_replication_slots fully and the application tables. */
  sql: postgres.Sql
  connect: ConnectClient
  kafka: Kafka
}

/**
 * One check of the pipeline. `run` returns its findings in report order and may throw: the
 * runner then reports one failure named `name` with `hintWhenUnreachable`, and goes on.
 */
export interface DoctorCheck<T extends DoctorTargets = DoctorTargets> {
  name: string
  hintWhenUnreachable: string
  /** `targets` may carry more than DoctorTargets: a service's own checks read their own fields. */
  run: (deps: DoctorDeps, targets: T) => Promise<Finding[]>
}
