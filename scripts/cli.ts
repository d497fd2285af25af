import { redactText } from 'outbox-cdc'
import { formatDuration } from '../stack/lib/report.ts'

/**
 * Every command prints through here, so a password written into a URL (CONNECT_URL,
 * DATABASE_URL, …) is masked whatever prints it: a status line, a JSON report, an error and its
 * causes, or a child service's output relayed by `npm start`.
 */
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

/**
 * Runs a command-line entry point: known errors print their message (never a stack trace, which
 * would bury it) and exit 1; anything unexpected prints in full so it can be reported.
 */
export function runCli(main: () => Promise<number | undefined>): void {
  redactOutput(process.stdout)
  redactOutput(process.stderr)
  const started = performance.now()
  main()
    .then((code) => {
      process.exitCode = code ?? 0
    })
    .catch((error: unknown) => {
      const known = error instanceof Error && 'code' in error && typeof error.code === 'string'
      console.error(known ? `\n${error.code}: ${error.message}` : error)
      console.error(`(failed after ${formatDuration(performance.now() - started)})`)
      process.exitCode = 1
    })
}

export const hasFlag = (name: string) => process.argv.slice(2).includes(name)
