import { runMain } from 'outbox-cdc'

/**
 * Runs a command-line entry point as the toolkit's CLI runs its own: output masked (a password in
 * a URL never prints), known errors as `CODE: message`, exit 1.
 */
export const runCli = runMain

export const hasFlag = (name: string) => process.argv.slice(2).includes(name)
