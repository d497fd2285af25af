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
