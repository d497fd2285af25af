import { CodedError } from '../lib/errors.ts'

/** Every way an API request can fail on purpose, and the HTTP status each maps to (here only). */
export const apiErrorStatus = {
  VALIDATION_FAILED: 400,
  NOT_FOUND: 404,
  BOOK_REMOVED: 409,
  INSUFFICIENT_STOCK: 409,
  BOOK_NOT_FOUND: 422,
  IDEMPOTENCY_KEY_REUSED: 422,
} as const

export type ApiErrorCode = keyof typeof apiErrorStatus

export class ApiError extends CodedError<ApiErrorCode> {
  readonly details?: unknown

  constructor(code: ApiErrorCode, message: string, options: { retryable?: boolean; details?: unknown } = {}) {
    super(code, message, options)
    this.details = options.details
  }

  get status(): number {
    return apiErrorStatus[this.code]
  }
}
