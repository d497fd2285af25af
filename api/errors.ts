import { CodedError } from 'outbox-cdc'

/** Every way an API request can fail on purpose, and the HTTP status each maps to (here only). */
export const apiErrorStatus = {
  VALIDATION_FAILED: 400,
  NOT_FOUND: 404,
  BOOK_REMOVED: 409,
  INSUFFICIENT_STOCK: 409,
  BOOK_NOT_FOUND: 422,
  IDEMPOTENCY_KEY_REUSED: 422,
  /** Shed before any handler ran (api/overload.ts): nothing was written; retry after Retry-After. */
  OVERLOADED: 503,
} as const

export type ApiErrorCode = keyof typeof apiErrorStatus

/** One problem with one field of a request: `body/price`, `params/id`, `querystring/limit`. */
export interface FieldProblem {
  field: string
  message: string
}

export class ApiError extends CodedError<ApiErrorCode> {
  readonly details?: FieldProblem[]
  /** Sent as Retry-After. */
  readonly retryAfterS?: number

  constructor(
    code: ApiErrorCode,
    message: string,
    options: { retryable?: boolean; details?: FieldProblem[]; retryAfterS?: number } = {},
  ) {
    super(code, message, options)
    this.details = options.details
    this.retryAfterS = options.retryAfterS
  }

  get status(): number {
    return apiErrorStatus[this.code]
  }

  /** The response body: `{ error: CODE, message }`, plus `details` when the error names fields. */
  toBody() {
    return {
      error: this.code,
      message: this.message,
      ...(this.details === undefined ? {} : { details: this.details }),
    }
  }
}

/** A VALIDATION_FAILED error whose message lists every problem and whose details name each field. */
export function validationFailed(details: FieldProblem[]): ApiError {
  const message = details.map((d) => `${d.field}: ${d.message}`).join('; ')
  return new ApiError('VALIDATION_FAILED', message, { details })
}
