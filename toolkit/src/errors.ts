/**
 * The shape of every error the project raises on purpose: a code from the component's fixed set,
 * whether the same call may succeed later (`retryable`), and the underlying `cause`. Each
 * component declares its codes and extends this.
 */
export class CodedError<Code extends string> extends Error {
  readonly code: Code
  readonly retryable: boolean

  constructor(code: Code, message: string, options: { retryable?: boolean; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = new.target.name
    this.code = code
    this.retryable = options.retryable ?? false
  }
}

export type EventDefinitionErrorCode = 'INVALID_EVENT_DEFINITION' | 'UNKNOWN_EVENT_TYPE' | 'INVALID_PAYLOAD'

/** An event registry that cannot be built, or an event that does not match it. Never retryable. */
export class EventContractError extends CodedError<EventDefinitionErrorCode> {}

/** An option the toolkit cannot use as given (a table name that is not a plain identifier, say). Never retryable. */
export class OptionsError extends CodedError<'INVALID_OPTION'> {
  constructor(message: string) {
    super('INVALID_OPTION', message)
  }
}
