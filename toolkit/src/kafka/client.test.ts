import { type LogEntry, logLevel } from 'kafkajs'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { createKafka, formatKafkaLog, markKafkaClosing } from './client.ts'

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

describe('a client from createKafka', () => {
  afterEach(() => {
    vi.restoreAllMocks()
  })

  it('logs errors only, unless asked for more: a WARN or INFO from kafkajs prints nothing', () => {
    const printed = {
      log: vi.spyOn(console, 'log').mockImplementation(() => {}),
      warn: vi.spyOn(console, 'warn').mockImplementation(() => {}),
      error: vi.spyOn(console, 'error').mockImplementation(() => {}),
    }
    const logger = createKafka({ brokers: ['127.0.0.1:9'], clientId: 'log-test' }).logger()
    logger.info('joined the group', {})
    logger.warn('a broker answered slowly', {})
    logger.error('the group coordinator is not available', {})
    expect(printed.log).not.toHaveBeenCalled()
    expect(printed.warn).not.toHaveBeenCalled()
    expect(printed.error).toHaveBeenCalledOnce()
    expect(JSON.parse(String(printed.error.mock.calls[0]?.[0]))).toMatchObject({
      level: 'ERROR',
      message: 'the group coordinator is not available',
    })

    const chatty = createKafka({ brokers: ['127.0.0.1:9'], clientId: 'log-test', logLevel: logLevel.INFO })
    chatty.logger().info('joined the group', {})
    expect(printed.log).toHaveBeenCalledOnce()
  })

  it('once closing, logs a write to an ended socket at DEBUG instead: a clean stop prints no error line; other errors and other clients still do', () => {
    const printed = {
      log: vi.spyOn(console, 'log').mockImplementation(() => {}),
      error: vi.spyOn(console, 'error').mockImplementation(() => {}),
    }
    const stopping = createKafka({ brokers: ['127.0.0.1:9'], clientId: 'stopping' })
    const running = createKafka({ brokers: ['127.0.0.1:9'], clientId: 'running' })
    const writeAfterEnd = (kafka: ReturnType<typeof createKafka>) =>
      kafka
        .logger()
        .namespace('Connection')
        .error('Connection error: write after end', { clientId: kafka === running ? 'running' : 'other' })

    writeAfterEnd(stopping)
    expect(printed.error).toHaveBeenCalledOnce()
    markKafkaClosing(stopping)
    writeAfterEnd(stopping)
    writeAfterEnd(running)
    expect(printed.error).toHaveBeenCalledTimes(2)
    expect(String(printed.error.mock.calls[1]?.[0])).toContain('"clientId":"running"')
    // Other errors still print while closing, a connection refused included.
    stopping.logger().namespace('Consumer').error('Crash: the group was rebalanced', {})
    stopping.logger().namespace('Connection').error('Connection error: connect ECONNREFUSED 127.0.0.1:9', {})
    expect(printed.error).toHaveBeenCalledTimes(4)
    expect(printed.log).not.toHaveBeenCalled()

    const debugging = createKafka({
      brokers: ['127.0.0.1:9'],
      clientId: 'debugging',
      logLevel: logLevel.DEBUG,
    })
    markKafkaClosing(debugging)
    writeAfterEnd(debugging)
    expect(printed.error).toHaveBeenCalledTimes(4)
    expect(JSON.parse(String(printed.log.mock.calls.at(-1)?.[0]))).toMatchObject({
      level: 'DEBUG',
      message: '[Connection] Connection error: write after end',
    })
  })
})
