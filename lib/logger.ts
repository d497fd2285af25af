import { type Logger, pino } from 'pino'

export type { Logger }

/** JSON logs, fields first (`log.info({ eventId }, 'event applied')`). Silent when level is 'silent'. */
export function createLogger(name: string, level: string): Logger {
  return pino({ name, level, redact: ['req.headers.authorization', '*.password', '*.databaseUrl'] })
}
