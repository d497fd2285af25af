/**
 * What the toolkit logs through: fields first, then a message, as pino does (a pino logger fits
 * as it is). `silentLogger` drops everything.
 */
export interface Logger {
  debug(fields: object, message?: string): void
  info(fields: object, message?: string): void
  warn(fields: object, message?: string): void
  error(fields: object, message?: string): void
  fatal(fields: object, message?: string): void
}

const drop = () => {}
export const silentLogger: Logger = { debug: drop, info: drop, warn: drop, error: drop, fatal: drop }
