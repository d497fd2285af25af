/** The toolkit's tables as Drizzle definitions (needs drizzle-orm). */
export { heartbeatTable, inboxHorizonTable, inboxTable, outboxTable } from './schema/drizzle.ts'
