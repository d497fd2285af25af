export type ConnectorErrorCode = 'CONFIG_REJECTED' | 'TASK_FAILED' | 'NOT_RUNNING_IN_TIME' | 'NOT_FOUND'

export class ConnectorError extends Error {
  readonly code: ConnectorErrorCode
  readonly retryable: boolean
  constructor(code: ConnectorErrorCode, message: string, options: { retryable?: boolean } = {}) {
    super(message)
    this.name = 'ConnectorError'
    this.code = code
    this.retryable = options.retryable ?? false
  }
}
