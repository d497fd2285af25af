import { mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { loadStackConfig } from './config.ts'
import { renderProperties } from './jvm.ts'
import { kafkaComponent, kafkaServerProperties } from './kafka.ts'
import { silentReporter } from './report.ts'
import { assertSecureShape, ensureSecureMaterial, scramFormatArgsFile, secureEnvDefaults } from './secure.ts'

const secured = (extra: Record<string, string> = {}) =>
  loadStackConfig({ STACK_DIR: mkdtempSync(join(tmpdir(), 'secure-')), STACK_SECURE: 'true', ...extra })

describe('the secured stack (STACK_SECURE)', () => {
  it('gives Kafka a SASL_SSL listener for clients, SCRAM between brokers, and PEM files from the stack CA', () => {
    const config = secured()
    const properties = kafkaServerProperties(config, join(config.stackDir, 'd'))
    expect(properties).toMatchObject({
      listeners: 'SASL_SSL://127.0.0.1:19092,CONTROLLER://127.0.0.1:19093',
      'listener.security.protocol.map': 'SASL_SSL:SASL_SSL,CONTROLLER:PLAINTEXT',
      'sasl.enabled.mechanisms': 'SCRAM-SHA-512',
      'ssl.truststore.location': join(config.certsDir, 'ca.pem'),
    })
    expect(renderProperties(properties)).not.toContain('PLAINTEXT://')
  })

  it('hands every entry point the CA, the users and the password files, never a password', () => {
    const config = secured()
    ensureSecureMaterial(config)
    const env = secureEnvDefaults(config)
    expect(env).toMatchObject({ KAFKA_SASL_MECHANISM: 'scram-sha-512', CONNECT_USERNAME: 'operator' })
    expect(env.KAFKA_SASL_PASSWORD_FILE).toMatch(/secrets\/kafka-client\.password$/)
    const password = readFileSync(env.KAFKA_SASL_PASSWORD_FILE ?? '', 'utf8').trim()
    expect(JSON.stringify(env)).not.toContain(password)
    expect(secureEnvDefaults(loadStackConfig({ STACK_DIR: '/tmp/plain' }))).toEqual({})
  })

  it('writes the SCRAM users into an argument file only its owner reads, not onto a command line', () => {
    const config = secured()
    const file = scramFormatArgsFile(config, config.stackDir, ['kafka.tools.StorageTool', 'format'])
    expect(statSync(file).mode & 0o077).toBe(0)
    expect(readFileSync(file, 'utf8')).toMatch(
      /^"kafka\.tools\.StorageTool"\n"format"\n--add-scram\n"SCRAM-SHA-512=\[name=admin,password=[0-9a-f]+\]"/,
    )
  })

  it('runs one node and one worker: a cluster of more is refused before anything starts', () => {
    expect(() => assertSecureShape(secured({ STACK_KAFKA_NODES: '3' }))).toThrow(
      /one Kafka node and one Connect worker/,
    )
    expect(() => assertSecureShape(secured({ STACK_CONNECT_WORKERS: '2' }))).toThrow(/basic auth/)
    // Its nodes would be asked in plain TCP, which its Postgres refuses: no standby yet.
    expect(() => assertSecureShape(secured({ STACK_POSTGRES_STANDBY: '1' }))).toThrow(
      /does not run a Postgres standby yet/,
    )
    expect(() => assertSecureShape(secured())).not.toThrow()
  })

  it('refuses a switch of mode before anything starts or the folder records it', () => {
    const stackDir = mkdtempSync(join(tmpdir(), 'secure-switch-'))
    mkdirSync(join(stackDir, 'kafka'), { recursive: true })
    writeFileSync(
      join(stackDir, 'kafka', 'formatted.json'),
      JSON.stringify({ clusterId: 'x', controllerPort: 19093, nodes: 1, secure: false }),
    )
    const config = loadStackConfig({ STACK_DIR: stackDir, STACK_SECURE: 'true' })
    expect(() => assertSecureShape(config)).toThrow(/formatted for the plain stack.*STACK_SECURE=false/)
    expect(() => assertSecureShape(loadStackConfig({ STACK_DIR: stackDir }))).not.toThrow()
  })

  it('refuses a Kafka storage formatted for the other mode (its SCRAM users are written at format time)', async () => {
    for (const [formattedSecure, nowSecure] of [
      [false, 'true'],
      [true, 'false'],
    ] as const) {
      const stackDir = mkdtempSync(join(tmpdir(), 'secure-mode-'))
      const config = loadStackConfig({ STACK_DIR: stackDir, STACK_SECURE: nowSecure })
      const dir = join(stackDir, 'kafka')
      mkdirSync(join(dir, 'data'), { recursive: true })
      writeFileSync(join(dir, 'data', 'meta.properties'), 'cluster.id=x\n')
      writeFileSync(join(dir, 'cluster-id'), 'x\n')
      writeFileSync(
        join(dir, 'formatted.json'),
        JSON.stringify({ clusterId: 'x', controllerPort: 19093, nodes: 1, secure: formattedSecure }),
      )
      await expect(kafkaComponent(config, 'java').prepare?.(silentReporter)).rejects.toThrow(
        new RegExp(
          `formatted for the ${formattedSecure ? 'secured' : 'plain'} stack.*STACK_SECURE=${formattedSecure}`,
        ),
      )
    }
  })
})
