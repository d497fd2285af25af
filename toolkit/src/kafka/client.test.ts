import { type LogEntry, logLevel } from 'kafkajs'
import { describe, expect, it } from 'vitest'
import { formatKafkaLog } from './client.ts'

const responseError = (error: string): LogEntry => ({
  namespace: 'Connection',
  level: logLevel.ERROR,
  label: 'ERROR',
  log: {
    timestamp: '2024-01-01T00:00:00.000Z',
    logger: 'kafkajs',
    message: 'Response GroupCoordinator(key: 10, version: 2)',
    broker: '127.0.0.1:19092',
    clientId: 'outbox-cdc-consumer',
    error,
  },
})

describe('formatKafkaLog: what kafkajs logs, and at which level', () => {
  it('writes a coordinator that is still loading as INFO, keeping every field', () => {
    const { level, line } = formatKafkaLog(
      responseError("The coordinator is loading and hence can't process requests for this group"),
    )
    expect(level).toBe(logLevel.INFO)
    expect(JSON.parse(line)).toMatchObject({
      level: 'INFO',
      message: '[Connection] Response GroupCoordinator(key: 10, version: 2)',
      broker: '127.0.0.1:19092',
      error: expect.stringContaining('coordinator is loading'),
    })
  })

  it('keeps every other error an ERROR', () => {
    const { level, line } = formatKafkaLog(responseError('The group coordinator is not available'))
    expect(level).toBe(logLevel.ERROR)
    expect(JSON.parse(line)).toMatchObject({
      level: 'ERROR',
      error: 'The group coordinator is not available',
    })
  })
})
