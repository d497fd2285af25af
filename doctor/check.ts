import type { Kafka } from 'kafkajs'
import type { ConnectClient } from 'outbox-cdc'
import type postgres from 'postgres'
import type { Finding } from './finding.ts'

/** What the checks look at: the names of this pipeline's parts and the limits that make a failure. */
export interface DoctorTargets {
  connectorName: string
  slotName: string
  publication: string
  namespace: string
  consumerGroup: string
  /** The fulfilment service's group, whose lag over the order topic is checked too; none: not checked. */
  fulfilmentGroup?: string
  /** Retained WAL above this is a failure (the slot is on its way to max_slot_wal_keep_size). */
  maxSlotRetainedBytes: number
  /** Unconsumed records above this are a failure. */
  maxConsumerLag: number
  /** A domain write older than this without a matching applied event means events are stuck. */
  staleAfterS: number
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
export interface DoctorCheck {
  name: string
  hintWhenUnreachable: string
  run: (deps: DoctorDeps, targets: DoctorTargets) => Promise<Finding[]>
}
