/** The ways the local stack can fail; each says what to do next in its message. */
export type StackErrorCode =
  | 'PREREQUISITE_MISSING'
  | 'PORT_IN_USE'
  | 'START_FAILED'
  | 'START_TIMEOUT'
  | 'JARS_UNRESOLVED'
  | 'NOT_HEALTHY'

export class StackError extends Error {
  readonly code: StackErrorCode
  /** True when the same call may succeed later without any change (a slow machine, say). */
  readonly retryable: boolean

  constructor(code: StackErrorCode, message: string, options: { retryable?: boolean; cause?: unknown } = {}) {
    super(message, { cause: options.cause })
    this.name = 'StackError'
    this.code = code
    this.retryable = options.retryable ?? false
  }
}
