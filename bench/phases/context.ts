import type postgres from 'postgres'
import type { Rig } from '../../stack/rig.ts'
import type { WriterKind } from '../workloads/end-to-end.ts'
import type { ApiClient } from '../workloads/load.ts'

/** Postgres settings every bench rig runs with: commit timestamps time commit → applied. */
export const benchPostgresSettings = { track_commit_timestamp: 'on' }

/** What every phase gets: the rig, the clients the load comes from, the settings. */
export interface BenchContext {
  rig: Rig
  client: ApiClient
  /** The bulk writer's own pool, apart from the rig's. */
  writerSql: postgres.Sql
  bookIds: string[]
  settings: BenchSettings
  say: (line: string) => void
}

export interface BenchSettings {
  concurrency: number
  apiPoolMax: number
  writeSeconds: number
  steadySeconds: number
  steady: Array<{ rate: number; writer: WriterKind }>
  writeRounds: number
  holdSeconds: number
  holdRate: number
  /** Added to a rate that held, to look for the highest. */
  holdStep: number
  publishEvents: number
  consumeEvents: number
  /** Poll intervals at which CDC and the relay are compared, each at the same interval. */
  relayIntervalsMs: number[]
  /** The consumer's settings in force, which the SQL baseline copies. */
  consumerBatchSize: number
  consumerPartitionsConcurrently: number
  consumerPoolMax: number
}
