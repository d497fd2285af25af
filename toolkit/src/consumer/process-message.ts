import type { Message } from 'kafkajs'
import pRetry from 'p-retry'
import { CodedError } from '../errors.ts'
import { deadLetterMessage } from './dead-letter.ts'
import { ConsumerError, describeError } from './errors.ts'
import type { IncomingEvent } from './incoming-event.ts'
import { isKafkaFailure } from './kafka-failure.ts'
import { isTransient } from './transient.ts'

export interface RetryPolicy {
  /** Attempts in all, the first included. */
  maxAttempts: number
  baseDelayMs: number
  maxDelayMs: number
}

const neverRetry = (error: unknown) => error instanceof ConsumerError && !error.retryable

export type Outcome =
  | { outcome: 'applied' }
  | { outcome: 'duplicate' }
  | { outcome: 'dead-lettered'; errorCode: string }

/** Stops the consumer: the message in hand is not committed and will be redelivered. */
export class FatalConsumerError extends CodedError<'DATABASE_UNAVAILABLE' | 'DEAD_LETTER_FAILED'> {
  constructor(code: FatalConsumerError['code'], message: string, options: { cause?: unknown }) {
    // Retryable by a restart: nothing was committed, so the message is delivered again.
    super(code, message, { retryable: true, cause: options.cause })
  }
}

export interface ProcessDeps {
  /** Applies one record in its own transaction (applyEvent bound to a database). */
  applyEvent: (message: IncomingEvent) => Promise<'applied' | 'duplicate'>
  /** Publishes a dead letter; resolves only once the broker has acknowledged it. */
  publishDeadLetter: (message: Message) => Promise<void>
  /** Named in the error when a dead letter cannot be published. */
  deadLetterTopic: string
  retry: RetryPolicy
  /** Keeps the group membership alive while backing off (kafkajs's heartbeat). */
  heartbeat: () => Promise<void>
}

/**
 * Applies one message, deciding what each failure means:
 * - a message that can never be applied (bad JSON, unknown type, invalid payload) is
 *   dead-lettered at once;
 * - a transient failure (database away, deadlock, serialization) is retried with exponential
 *   backoff and full jitter, heartbeating between tries; if it outlasts the policy the consumer
 *   stops (FatalConsumerError) so a supervisor restarts it — a good event is never set aside
 *   because the database was down;
 * - a failed heartbeat or any other kafkajs error (a rebalance, a coordinator that moved, a member
 *   the group no longer knows) is rethrown as it is: it says nothing about the event, and the
 *   partition may already belong to another member, so the record must stay unresolved for
 *   whoever owns it now, and kafkajs must see the error to rejoin;
 * - any other handler failure is retried the same way, then dead-lettered.
 * The caller resolves the offset only after this returns; a failed dead-letter publish throws.
 */
export async function processMessage(
  deps: ProcessDeps,
  message: IncomingEvent,
  onRetry: (error: unknown, attempt: number) => void = () => {},
): Promise<Outcome> {
  let attempts = 0
  let lostHeartbeat: { error: unknown } | undefined
  try {
    return await pRetry(
      async () => {
        attempts += 1
        try {
          return { outcome: await deps.applyEvent(message) } as Outcome
        } catch (error) {
          // p-retry never retries a TypeError (it takes it for a programming error), so a
          // handler's TypeError would be dead-lettered after one attempt, unlike every other
          // handler failure. Wrapped, it gets the same retries; the cause keeps the reason.
          if (error instanceof TypeError)
            throw new ConsumerError('HANDLER_FAILED', error.message, { retryable: true, cause: error })
          throw error
        }
      },
      {
        retries: deps.retry.maxAttempts - 1,
        minTimeout: deps.retry.baseDelayMs,
        maxTimeout: deps.retry.maxDelayMs,
        factor: 2,
        randomize: true,
        shouldRetry: ({ error }) => !neverRetry(error),
        onFailedAttempt: async ({ error, attemptNumber, retriesLeft }) => {
          // p-retry calls this for the last failure and for non-retryable ones too; only a real
          // retry is counted, and the group membership is kept alive while backing off. A throw
          // here ends the retries with that error.
          if (retriesLeft === 0 || neverRetry(error)) return
          onRetry(error, attemptNumber)
          await deps.heartbeat().catch((failure: unknown) => {
            lostHeartbeat = { error: failure }
            throw failure
          })
        },
      },
    )
  } catch (error) {
    if (lostHeartbeat?.error === error || isKafkaFailure(error)) throw error
    if (isTransient(error)) {
      throw new FatalConsumerError(
        'DATABASE_UNAVAILABLE',
        `gave up after ${attempts} attempts on a transient error; stopping so a restart resumes from the last commit`,
        { cause: error },
      )
    }
    return deadLetter(deps, message, error, attempts)
  }
}

async function deadLetter(
  deps: ProcessDeps,
  message: IncomingEvent,
  error: unknown,
  attempts: number,
): Promise<Outcome> {
  const code = error instanceof ConsumerError ? error.code : 'HANDLER_FAILED'
  try {
    await deps.publishDeadLetter(
      deadLetterMessage(message, { code, message: describeError(error), attempts }),
    )
  } catch (cause) {
    const reason = `could not publish a dead letter to ${deps.deadLetterTopic}`
    throw new FatalConsumerError('DEAD_LETTER_FAILED', reason, { cause })
  }
  return { outcome: 'dead-lettered', errorCode: code }
}
