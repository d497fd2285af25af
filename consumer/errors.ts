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

export class ConsumerError extends Error {
  readonly code: ConsumerErrorCode
  readonly retryable: boolean
  constructor(
    code: ConsumerErrorCode,
    message: string,
    options: { retryable?: boolean; cause?: unknown } = {},
  ) {
    super(message, { cause: options.cause })
    this.name = 'ConsumerError'
    this.code = code
    this.retryable = options.retryable ?? false
  }
}
