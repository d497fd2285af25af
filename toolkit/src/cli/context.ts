import { parseArgs } from 'node:util'
import type { CommandNamer } from '../operations.ts'
import type { CliConfig } from './config.ts'

/** What every command gets: the parsed config, its own arguments, and where to write. */
export interface CliContext {
  config: CliConfig
  /** The arguments after the command's words (`slots drop <slot> --yes`: `<slot> --yes`). */
  args: string[]
  /** Results: lines a script may read. */
  out: (line: string) => void
  /** Progress and notes, kept out of a result piped on. */
  err: (line: string) => void
  cmd: CommandNamer
  /** Resolves once the operator asks to stop (Ctrl-C): for commands that run until then. */
  untilStopped: () => Promise<void>
}

/** A command: its exit code (0 ok, 1 a failed check or refusal, 2 a usage error). */
export type Command = (context: CliContext) => Promise<number>

/** A misuse of the command line: printed with the command's usage, exit code 2. */
export class UsageError extends Error {}

/** The command's own flags and positionals; an unknown flag or a missing value is a UsageError. */
type FlagOptions = Record<string, { type: 'boolean' | 'string' }>

/** What flagsOf returns: each flag's value when given, and the positionals. */
export interface Parsed<F extends FlagOptions> {
  values: { [K in keyof F]?: F[K]['type'] extends 'boolean' ? boolean : string }
  positionals: string[]
}

export function flagsOf<F extends FlagOptions>(args: string[], options: F, positionals = 0): Parsed<F> {
  try {
    const parsed = parseArgs({ args, options, allowPositionals: positionals > 0, strict: true }) as Parsed<F>
    if (parsed.positionals.length > positionals)
      throw new UsageError(`unexpected argument ${parsed.positionals[positionals]}`)
    return parsed
  } catch (error) {
    if (error instanceof UsageError) throw error
    throw new UsageError((error as Error).message)
  }
}
