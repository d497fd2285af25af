import {
  applyBatch as applyBatchOf,
  applyEvent as applyEventOf,
  applyInTransaction as applyInTransactionOf,
  type InboxEntry,
  type IncomingEvent,
  type OnRefused,
  parseEvent as parseEventOf,
  type Sql,
} from 'outbox-cdc'
import { orderSide } from '../consumer/handlers.ts'
import type { Db } from '../db/client.ts'
import { bookstoreEvents } from '../lib/events.ts'

/** The toolkit's apply calls with the order service's app, the way the consumer makes them. */
export const applyBatch = (db: Db, records: IncomingEvent[], onRefused?: OnRefused) =>
  applyBatchOf(db.$client, records, orderSide, onRefused)
export const applyEvent = (db: Db, record: IncomingEvent, onRefused?: OnRefused) =>
  applyEventOf(db.$client, record, orderSide, onRefused)
export const applyInTransaction = (sql: Sql, entries: InboxEntry[]) =>
  applyInTransactionOf(sql, entries, orderSide)
export const parseEvent = (record: IncomingEvent) => parseEventOf(record, bookstoreEvents)

/** The order service's consumer options the tests do not vary: its app on `db`'s postgres.js client. */
export const orderSideOn = (db: Db) => ({ sql: db.$client, app: orderSide })
