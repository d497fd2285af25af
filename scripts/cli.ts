import { formatDuration } from '../stack/lib/report.ts'

/**
 * Runs a command-line entry point: known errors print their message (never a stack trace, which
 * would bury it) and exit 1; anything unexpected prints in full so it can be reported.
 */
export function runCli(main: () => Promise<number | undefined>): void {
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
