/** The toolkit's tables as Drizzle definitions (needs drizzle-orm). */
export { heartbeatTable, inboxTable, outboxTable } from './schema/drizzle.ts'
