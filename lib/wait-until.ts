import { setTimeout as delay } from 'node:timers/promises'
import { CodedError } from 'outbox-cdc'

/** A wait that ran out of time: the message names what was awaited, and how far it got. */
export class WaitTimeoutError extends CodedError<'WAIT_TIMEOUT'> {
  constructor(message: string) {
    // Not retryable as it stands: whoever waited chose the limit, and a retry would wait it again.
    super('WAIT_TIMEOUT', message)
  }
}

export interface WaitOptions {
  /** How long to keep checking before giving up. */
  timeoutMs: number
  /** The pause between two checks. */
  intervalMs: number
  /**
   * How far it got, for the timeout's message (`12 of 40 applied`): read once, when the wait
   * gives up, so it can report what the last check saw.
   */
  progress?: () => string
}

/** What a check returns while the condition does not hold yet. */
type Pending = undefined | null | false

/**
 * Checks `check` until it returns something other than undefined, null or false, and returns
 * that. The first check runs at once; after `timeoutMs` it throws WaitTimeoutError naming `what`
 * (`timed out after 60 s waiting for consumer group g to become stable`). An error the check
 * throws ends the wait with that error: catch inside the check what only means "not yet".
 */
export async function waitUntil<T>(
  what: string,
  check: () => T | Pending | Promise<T | Pending>,
  options: WaitOptions,
): Promise<T> {
  const started = performance.now()
  for (;;) {
    const result = await check()
    if (result !== undefined && result !== null && result !== false) return result
    if (performance.now() - started >= options.timeoutMs) {
      const progress = options.progress ? ` (${options.progress()})` : ''
      throw new WaitTimeoutError(
        `timed out after ${seconds(options.timeoutMs)} waiting for ${what}${progress}`,
      )
    }
    await delay(options.intervalMs)
  }
}

const seconds = (ms: number) => (ms < 1000 ? `${ms} ms` : `${Math.round(ms / 100) / 10} s`)

/**
 * For `waitUntil(…).catch(unlessTimedOut)`: a wait whose timeout is not a failure (go on with
 * what the last check saw) still lets any other error through.
 */
export function unlessTimedOut(error: unknown): void {
  if (!(error instanceof WaitTimeoutError)) throw error
}
