import { type LogEntry, logLevel } from 'kafkajs'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { createKafka, formatKafkaLog, quietWhileDisconnecting } from './client.ts'

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

  it('quiets a write to an ended socket while its instance disconnects, and hears it again after', async () => {
    const printed = {
      log: vi.spyOn(console, 'log').mockImplementation(() => {}),
      error: vi.spyOn(console, 'error').mockImplementation(() => {}),
    }
    const shared = createKafka({ brokers: ['127.0.0.1:9'], clientId: 'shared' })
    const other = createKafka({ brokers: ['127.0.0.1:9'], clientId: 'other' })
    const connection = (kafka: ReturnType<typeof createKafka>, message: string) =>
      kafka.logger().namespace('Connection').error(message, {})
    const writeAfterEnd = 'Connection error: write after end'
    const errorLines = () => printed.error.mock.calls.map((call) => JSON.parse(String(call[0])).message)

    let release: () => void = () => {}
    const stopping = quietWhileDisconnecting(
      shared,
      () => new Promise<void>((resolve) => (release = resolve)),
    )
    connection(shared, writeAfterEnd)
    // Heard while it disconnects: another instance's, any other connection error, the same words
    // from another namespace (a consumer's crash that quotes them).
    connection(other, writeAfterEnd)
    connection(shared, 'Connection error: connect ECONNREFUSED 127.0.0.1:9')
    shared.logger().namespace('Consumer').error(`Crash: KafkaJSConnectionError: ${writeAfterEnd}`, {})
    release()
    await stopping
    // Once the disconnect is over, a client of the same instance (another consumer, a producer)
    // is heard again.
    connection(shared, writeAfterEnd)
    expect(errorLines()).toEqual([
      `[Connection] ${writeAfterEnd}`,
      '[Connection] Connection error: connect ECONNREFUSED 127.0.0.1:9',
      `[Consumer] Crash: KafkaJSConnectionError: ${writeAfterEnd}`,
      `[Connection] ${writeAfterEnd}`,
    ])
    expect(printed.log).not.toHaveBeenCalled()

    const debugging = createKafka({
      brokers: ['127.0.0.1:9'],
      clientId: 'debugging',
      logLevel: logLevel.DEBUG,
    })
    await quietWhileDisconnecting(debugging, async () => connection(debugging, writeAfterEnd))
    expect(printed.error).toHaveBeenCalledTimes(4)
    expect(JSON.parse(String(printed.log.mock.calls.at(-1)?.[0]))).toMatchObject({
      level: 'DEBUG',
      message: `[Connection] ${writeAfterEnd}`,
    })
  })

  it('quiets that write when a socket reports it after the disconnect has resolved, as Node does on its next tick', async () => {
    const printed = vi.spyOn(console, 'error').mockImplementation(() => {})
    const kafka = createKafka({ brokers: ['127.0.0.1:9'], clientId: 'late' })
    const connection = kafka.logger().namespace('Connection')
    // A socket ended and written to in the disconnect's last step emits its 'error' on a later
    // tick than the one the disconnect resolves on.
    await quietWhileDisconnecting(kafka, async () => {
      process.nextTick(() => connection.error('Connection error: write after end', {}))
      setImmediate(() =>
        connection.error('Connection error: Cannot call write after a stream was destroyed', {}),
      )
    })
    await new Promise((resolve) => setTimeout(resolve, 0))
    expect(printed).not.toHaveBeenCalled()
    // Past that, the window is closed again.
    connection.error('Connection error: write after end', {})
    expect(printed).toHaveBeenCalledOnce()
  })
})
