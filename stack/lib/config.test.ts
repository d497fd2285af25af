import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ConfigError, loadStackConfig } from './config.ts'
import { silentReporter } from './report.ts'
import { saveTopology } from './stack.ts'

describe('loadStackConfig', () => {
  it('defaults to ports clear of a system Postgres or Kafka, all components local', () => {
    const config = loadStackConfig({ STACK_DIR: '/tmp/s' })
    expect(config.env).toMatchObject({ POSTGRES_PORT: 55432, KAFKA_PORT: 19092, CONNECT_PORT: 18083 })
    expect(config.managed).toEqual({ postgres: true, kafka: true, connect: true })
    expect(config.jarsDir).toBe('/tmp/s/jars')
    expect(config.secretsDir).toBe('/tmp/s/secrets')
  })

  it('moves every port by its own variable', () => {
    const config = loadStackConfig({
      POSTGRES_PORT: '6000',
      KAFKA_PORT: '6001',
      KAFKA_CONTROLLER_PORT: '6002',
      CONNECT_PORT: '6003',
    })
    expect(config.env).toMatchObject({
      POSTGRES_PORT: 6000,
      KAFKA_PORT: 6001,
      KAFKA_CONTROLLER_PORT: 6002,
      CONNECT_PORT: 6003,
    })
  })

  it('leaves a component alone when it is given by URL', () => {
    const config = loadStackConfig({
      DATABASE_URL: 'postgres://app:pw@db.internal:5432/app',
      KAFKA_BROKERS: 'k1:9092,k2:9092',
    })
    expect(config.managed).toEqual({ postgres: false, kafka: false, connect: true })
  })

  it('lists every problem at once, naming the variable', () => {
    const attempt = () =>
      loadStackConfig({
        POSTGRES_PORT: '70000',
        KAFKA_BROKERS: 'no-port',
        CONNECT_URL: 'ftp://x',
        POSTGRES_USER: 'Robert"; drop',
      })
    expect(attempt).toThrow(ConfigError)
    const message = (() => {
      try {
        attempt()
      } catch (error) {
        return (error as Error).message
      }
    })()
    for (const name of ['POSTGRES_PORT', 'KAFKA_BROKERS', 'CONNECT_URL', 'POSTGRES_USER'])
      expect(message).toContain(name)
  })
})

describe('a multi-node stack', () => {
  it('refuses port ranges that collide, naming both variables, and accepts them apart', () => {
    expect(() => loadStackConfig({ STACK_KAFKA_NODES: '3', KAFKA_CONTROLLER_PORT: '19093' })).toThrow(
      /KAFKA_PORT \(19092–19094\) overlaps KAFKA_CONTROLLER_PORT \(19093–19095\)/,
    )
    expect(() => loadStackConfig({ STACK_CONNECT_WORKERS: '2', CONNECT_PORT: '55431' })).toThrow(
      /POSTGRES_PORT \(55432–55432\) overlaps CONNECT_PORT \(55431–55432\)/,
    )
    expect(loadStackConfig({ STACK_KAFKA_NODES: '3' }).env.KAFKA_CONTROLLER_PORT).toBe(19095)
    expect(loadStackConfig({ STACK_DIR: mkdtempSync(join(tmpdir(), 'stack-')) }).env).toMatchObject({
      KAFKA_CONTROLLER_PORT: 19093,
      STACK_KAFKA_NODES: 1,
      STACK_CONNECT_WORKERS: 1,
      CONNECTOR_EXACTLY_ONCE: false,
    })
  })

  it('refuses node and worker counts it cannot run, and ports past 65535', () => {
    expect(() => loadStackConfig({ STACK_KAFKA_NODES: '0' })).toThrow(/STACK_KAFKA_NODES/)
    expect(() => loadStackConfig({ STACK_KAFKA_NODES: '2' })).toThrow(/STACK_KAFKA_NODES.*1, 3 or 5/s)
    expect(() => loadStackConfig({ STACK_KAFKA_NODES: '3', KAFKA_PORT: '65534' })).toThrow(
      /runs past port 65535/,
    )
    expect(() => loadStackConfig({ STACK_CONNECT_WORKERS: '2', CONNECT_PORT: '65535' })).toThrow(
      /CONNECT_PORT \(65535–65536\) runs past port 65535/,
    )
    expect(() => loadStackConfig({ STACK_CONNECT_WORKERS: 'two' })).toThrow(/STACK_CONNECT_WORKERS/)
    expect(() => loadStackConfig({ CONNECTOR_EXACTLY_ONCE: 'yes' })).toThrow(/CONNECTOR_EXACTLY_ONCE/)
  })

  it('keeps the shape a folder was started with for every later command, and refuses another node count', () => {
    const stackDir = mkdtempSync(join(tmpdir(), 'stack-'))
    const started = loadStackConfig({
      STACK_DIR: stackDir,
      STACK_KAFKA_NODES: '3',
      STACK_CONNECT_WORKERS: '2',
    })
    const lines: string[] = []
    saveTopology(started, { ...silentReporter, info: (line) => void lines.push(line) })
    const later = loadStackConfig({ STACK_DIR: stackDir })
    expect(later.env).toMatchObject({
      STACK_KAFKA_NODES: 3,
      STACK_CONNECT_WORKERS: 2,
      KAFKA_CONTROLLER_PORT: 19095,
    })
    expect(() =>
      saveTopology(loadStackConfig({ STACK_DIR: stackDir, STACK_KAFKA_NODES: '1' }), silentReporter),
    ).toThrow(/runs 3 Kafka node\(s\); STACK_KAFKA_NODES=1 asks for 1.*stack:down -- --purge/s)
    saveTopology(loadStackConfig({ STACK_DIR: stackDir, CONNECTOR_EXACTLY_ONCE: 'true' }), {
      ...silentReporter,
      info: (line) => void lines.push(line),
    })
    expect(lines.join('\n')).toMatch(/keep their setting until they restart/)
    expect(loadStackConfig({ STACK_DIR: stackDir }).env.CONNECTOR_EXACTLY_ONCE).toBe(true)
  })
})
