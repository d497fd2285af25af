import { type Logger, pino } from 'pino'
import pinoPretty from 'pino-pretty'

export type { Logger }

/**
 * A pino logger, fields first (`log.info({ eventId }, 'event applied')`). Pretty, coloured lines
 * when stdout is a terminal (a developer running `npm run api`); one JSON object a line otherwise
 * (Docker, log shippers, the tests that read a child's output). Silent when level is 'silent'.
 */
export function createLogger(name: string, level: string, options: { pretty?: boolean } = {}): Logger {
  const settings = { name, level, redact: ['req.headers.authorization', '*.password', '*.databaseUrl'] }
  const pretty = options.pretty ?? (process.stdout.isTTY === true && level !== 'silent')
  // sync: a line is on the terminal before the process exits, as pino's own stdout writes are.
  return pretty ? pino(settings, pinoPretty({ sync: true, ignore: 'pid,hostname' })) : pino(settings)
}
