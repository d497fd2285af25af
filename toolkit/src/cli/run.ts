import { type CommandNamer, cliCommands, type Operation } from '../operations.ts'
import { redactText } from '../redact.ts'
import { explainConnectionError } from '../security/explain.ts'
import { type CliConfig, type CliConfigInput, parseCliConfig } from './config.ts'
import { connectorCommands } from './connector-commands.ts'
import { consoleCommand } from './console-command.ts'
import { type CliContext, type Command, UsageError } from './context.ts'
import { doctorCommand } from './doctor-command.ts'
import { dlqCommands, eventsTailCommand, replayCommand } from './kafka-commands.ts'
import { slotCommands } from './slot-commands.ts'

/** Every command, by the words that name it, with the arguments its usage line shows. */
const table: {
  words: Operation | `${'connector' | 'slots' | 'dlq'} ${string}`
  args: string
  run: Command
}[] = [
  ...Object.entries(connectorCommands).map(([name, run]) => ({
    words: `connector ${name}` as const,
    args: name === 'delete' ? '[--drop-slot [--yes]]' : '',
    run,
  })),
  { words: 'slots list', args: '[--json]', run: slotCommands.list as Command },
  { words: 'slots advance', args: '<slot> --yes [--json]', run: slotCommands.advance as Command },
  { words: 'slots drop', args: '<slot> [--force] [--yes] [--json]', run: slotCommands.drop as Command },
  { words: 'dlq list', args: '[--group <group>] [--json]', run: dlqCommands.list as Command },
  { words: 'dlq redrive', args: '[--group <group>] [--dry-run]', run: dlqCommands.redrive as Command },
  {
    words: 'dlq release',
    args: '--group <group> --key <key> [--topic <topic>]',
    run: dlqCommands.release as Command,
  },
  { words: 'replay', args: '--from <beginning|ISO timestamp|offset> [--force]', run: replayCommand },
  { words: 'doctor', args: '[--json]', run: doctorCommand },
  {
    words: 'events tail',
    args: '[--from-beginning] [--type <event_type>] [--key <aggregate id>] [--json]',
    run: eventsTailCommand,
  },
  { words: 'console', args: '[--print-url]', run: consoleCommand },
]

/** The usage of every command, or of the one `words` names, as `commands` names them. */
export function usage(commands: CommandNamer = cliCommands, words?: string): string {
  const shown = table.filter((entry) => !words || entry.words === words)
  return shown
    .map((entry) => `usage: ${commands(entry.words as Operation, entry.args || undefined)}`)
    .join('\n')
}

export interface CliIo {
  out: (line: string) => void
  err: (line: string) => void
  /** Resolves on the operator's stop (Ctrl-C); runMain passes SIGINT and SIGTERM. */
  untilStopped: () => Promise<void>
}

/**
 * Runs one command line (`['slots', 'drop', 'x', '--yes']`) against `config` and returns its exit
 * code: 0 done, 1 a failed check or a refusal, 2 a usage error (printed with the usage). Errors
 * with a code (every refusal the toolkit makes) are thrown for the caller to print; see runMain.
 * A service can call this with a config it builds itself, and name its own commands in hints.
 */
export async function runOutboxCli(
  argv: string[],
  config: CliConfig | CliConfigInput,
  io: CliIo,
): Promise<number> {
  const parsed = parseCliConfig(config)
  const cmd = parsed.commands ?? cliCommands
  const entry =
    table.find((e) => e.words === argv.slice(0, 2).join(' ')) ?? table.find((e) => e.words === argv[0])
  if (!entry) {
    io.err(argv.length === 0 ? usage(cmd) : `unknown command: ${argv.join(' ')}\n${usage(cmd)}`)
    return 2
  }
  const context: CliContext = {
    config: parsed,
    args: argv.slice(entry.words.split(' ').length),
    out: io.out,
    err: io.err,
    cmd,
    untilStopped: io.untilStopped,
  }
  try {
    return await entry.run(context)
  } catch (error) {
    if (!(error instanceof UsageError))
      throw explainConnectionError(error, {
        brokers: parsed.kafka.brokers,
        kafkaTls: parsed.kafka.tls !== undefined,
        saslUser: parsed.kafka.sasl?.username,
      })
    io.err(`${error.message}\n${usage(cmd, entry.words)}`)
    return 2
  }
}

/** Every signal is caught, not only the first: a terminal's Ctrl-C can arrive twice (from the terminal and relayed by a parent). */
export function untilSignal(onAgain: () => void): () => Promise<void> {
  return () =>
    new Promise<void>((resolve) => {
      let stopping = false
      const onSignal = () => {
        if (stopping) return onAgain()
        stopping = true
        resolve()
      }
      process.on('SIGINT', onSignal)
      process.on('SIGTERM', onSignal)
    })
}

/** Writes through redactText, so a password in a URL is masked whatever prints it. */
function redactOutput(stream: NodeJS.WriteStream) {
  const write = stream.write.bind(stream) as (chunk: unknown, ...rest: unknown[]) => boolean
  stream.write = ((chunk: unknown, ...rest: unknown[]) =>
    write(
      typeof chunk === 'string'
        ? redactText(chunk)
        : chunk instanceof Uint8Array
          ? redactText(Buffer.from(chunk).toString('utf8'))
          : chunk,
      ...rest,
    )) as typeof stream.write
}

const duration = (ms: number) => (ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`)

/**
 * Runs a command-line entry point as a process: output masked, known errors (with a code) printed
 * as `CODE: message` without a stack trace (which would bury it) and exit 1; anything unexpected
 * printed in full so it can be reported.
 */
export function runMain(main: () => Promise<number | undefined>): void {
  redactOutput(process.stdout)
  redactOutput(process.stderr)
  const started = performance.now()
  // A throw before main's first await is caught here too: it is a refusal like any other.
  Promise.resolve()
    .then(main)
    .then((code) => {
      process.exitCode = code ?? 0
    })
    .catch((error: unknown) => {
      const known = error instanceof Error && 'code' in error && typeof error.code === 'string'
      console.error(known ? `\n${error.code}: ${error.message}` : error)
      console.error(`(failed after ${duration(performance.now() - started)})`)
      process.exitCode = 1
    })
}

/** The io of a process: results to stdout, notes to stderr, Ctrl-C to stop. */
export const processIo = (): CliIo => ({
  out: (line) => console.log(line),
  err: (line) => console.error(line),
  untilStopped: untilSignal(() => console.error('stopping: deleting the consumer group first …')),
})

export type { CliConfig }
