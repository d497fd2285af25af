/**
 * The operations an error or a doctor's hint tells an operator to run, named as the `outbox-cdc`
 * CLI names them. A service that wraps them in its own scripts (package scripts, a Makefile) passes a namer that
 * says those instead, so every hint names a command that exists where it is read.
 */
export type Operation =
  | 'connector register'
  | 'connector status'
  | 'connector restart'
  | 'connector resume'
  | 'connector stop'
  | 'connector delete'
  | 'connector pause'
  | 'connector validate'
  | 'connector diff'
  | 'slots list'
  | 'slots advance'
  | 'slots drop'
  | 'dlq list'
  | 'dlq redrive'
  | 'dlq release'
  | 'replay'
  | 'doctor'
  | 'events tail'
  /** Apply the service's migrations (the toolkit's tables and publication among them). */
  | 'migrate'
  /** Start a service's consumer for `args` (its consumer group). */
  | 'start consumer'
  /** Start the service that appends the events (the console watches its /health). */
  | 'start writer'
  /** The ops console: the pipeline's stages, charts, recent events and actions in a page. */
  | 'console'

/** `operation` with `args` (flags, a slot's name) as a command line to copy. */
export type CommandNamer = (operation: Operation, args?: string) => string

/** The CLI's own command lines: `outbox-cdc slots drop <slot>`. */
export const cliCommands: CommandNamer = (operation, args) => {
  if (operation === 'migrate') return 'apply your migrations (the outbox tables and publication)'
  if (operation === 'start consumer') return `start the consumer of group ${args ?? '?'}`
  if (operation === 'start writer') return 'start the service that appends the events'
  return `outbox-cdc ${operation}${args ? ` ${args}` : ''}`
}
