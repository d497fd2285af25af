import { CodedError } from '../errors.ts'

/**
 * Why a message could not be applied. `retryable` decides between trying again (the database was
 * briefly away) and setting the message aside (it will never parse, whatever we do).
 */
export type ConsumerErrorCode =
  | 'MISSING_HEADER'
  | 'UNKNOWN_EVENT_TYPE'
  | 'INVALID_JSON'
  | 'INVALID_PAYLOAD'
  | 'HANDLER_FAILED'
  /** The database connection was replaced inside a batch transaction: nothing written, retry. */
  | 'CONNECTION_REPLACED'
  /**
   * A topic the consumer reads was deleted: kafkajs cannot unsubscribe and would restart for ever,
   * reading nothing. Not retryable in-process: a fresh start reads the topics that exist.
   */
  | 'TOPIC_DELETED'
  /** A lifecycle call the consumer's state does not allow (start twice, start after stop). */
  | 'INVALID_STATE'

export class ConsumerError extends CodedError<ConsumerErrorCode> {}

/** Every message down the `cause` chain: Drizzle's "Failed query" wraps the database's own reason. */
export function describeError(error: unknown): string {
  const messages: string[] = []
  for (
    let current: unknown = error;
    current !== undefined && messages.length < 5;
    current = (current as Error).cause
  ) {
    const text = current instanceof Error ? current.message : String(current)
    if (!messages.includes(text)) messages.push(text)
    if (!(current instanceof Error)) break
  }
  return messages.join(' ← caused by: ')
}
