/** The toolkit's tables as Drizzle definitions (needs drizzle-orm). */
export {
  heartbeatTable,
  inboxHorizonTable,
  inboxTable,
  outboxTable,
  parkedLettersTable,
} from './schema/drizzle.ts'
