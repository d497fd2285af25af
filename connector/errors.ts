import { CodedError } from '../lib/errors.ts'

export type ConnectorErrorCode = 'CONFIG_REJECTED' | 'TASK_FAILED' | 'NOT_RUNNING_IN_TIME' | 'NOT_FOUND'

export class ConnectorError extends CodedError<ConnectorErrorCode> {}
