import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ConfigError, loadStackConfig } from './config.ts'
import { writeTarget } from './forwarder.ts'
import { assertShape } from './postgres-address.ts'
import {
  addressTargetFile,
  currentPrimary,
  nodePort,
  pointAddressAt,
  primarySettings,
  retiredMarker,
  roleSettings,
} from './postgres-standby.ts'
import { silentReporter } from './report.ts'
import { saveTopology } from './stack.ts'

const folder = () => mkdtempSync(join(tmpdir(), 'standby-config-'))

describe('a stack with a Postgres standby', () => {
  it('puts the address on POSTGRES_PORT and the two nodes on the next two ports, which nothing else may take', () => {
    const config = loadStackConfig({
      STACK_DIR: folder(),
      STACK_POSTGRES_STANDBY: '1',
      POSTGRES_PORT: '7000',
    })
    expect([nodePort(config, 'postgres'), nodePort(config, 'postgres-2')]).toEqual([7001, 7002])
    expect(() =>
      loadStackConfig({
        STACK_DIR: folder(),
        STACK_POSTGRES_STANDBY: '1',
        POSTGRES_PORT: '7000',
        KAFKA_PORT: '7002',
      }),
    ).toThrow(ConfigError)
    // Alone, Postgres takes its one port only.
    expect(() =>
      loadStackConfig({ STACK_DIR: folder(), POSTGRES_PORT: '7000', KAFKA_PORT: '7002' }),
    ).not.toThrow()
  })

  it('is remembered by its folder, with its replication mode, as the Kafka nodes are', () => {
    const dir = folder()
    saveTopology(
      loadStackConfig({ STACK_DIR: dir, STACK_POSTGRES_STANDBY: '1', STACK_POSTGRES_REPLICATION: 'sync' }),
      silentReporter,
    )
    expect(loadStackConfig({ STACK_DIR: dir }).env).toMatchObject({
      STACK_POSTGRES_STANDBY: true,
      STACK_POSTGRES_REPLICATION: 'sync',
    })
  })

  it('starts each node for the role the address gives it, and the primary holds decoding back for the standby', () => {
    const dir = folder()
    const sync = loadStackConfig({
      STACK_DIR: dir,
      STACK_POSTGRES_STANDBY: '1',
      STACK_POSTGRES_REPLICATION: 'sync',
    })
    expect(currentPrimary(sync)).toBe('postgres')
    // A primary starts with nothing of its own: what it has with a standby is set once the
    // standby's slot exists, and reloads, so a standby promoted gets it without a restart.
    expect(roleSettings(sync, 'postgres', 'primary', '/p')).toEqual({})
    expect(primarySettings(sync, 'postgres-2')).toEqual({
      synchronized_standby_slots: 'postgres_2_standby',
      synchronous_standby_names: '"postgres-2"',
    })
    const standby = roleSettings(sync, 'postgres-2', 'standby', '/dir/pgpass')
    expect(standby).toMatchObject({
      primary_slot_name: 'postgres_2_standby',
      hot_standby_feedback: 'on',
      sync_replication_slots: 'on',
    })
    // The password comes from a file, never the settings; a database name lets slots be copied.
    expect(standby.primary_conninfo).toBe(
      `host=127.0.0.1 port=${nodePort(sync, 'postgres')} user=postgres passfile=/dir/pgpass dbname=postgres application_name=postgres-2`,
    )
    const async = loadStackConfig({ STACK_DIR: folder(), STACK_POSTGRES_STANDBY: '1' })
    // async: no commit waits (the setting reset).
    expect(primarySettings(async, 'postgres-2')).toEqual({
      synchronized_standby_slots: 'postgres_2_standby',
      synchronous_standby_names: '',
    })
    // After a failover the roles swap with the address.
    pointAddressAt(sync, 'postgres-2')
    expect(currentPrimary(sync)).toBe('postgres-2')
    expect(primarySettings(sync, 'postgres').synchronized_standby_slots).toBe('postgres_standby')
    expect(roleSettings(sync, 'postgres', 'standby', '/p').primary_conninfo).toContain(
      `port=${nodePort(sync, 'postgres-2')}`,
    )
  })

  it('refuses an address that names no node of the stack', () => {
    const config = loadStackConfig({ STACK_DIR: folder(), STACK_POSTGRES_STANDBY: '1' })
    pointAddressAt(config, 'postgres')
    writeTarget(addressTargetFile(config), { host: '127.0.0.1', port: 1, node: 'kafka' })
    expect(() => currentPrimary(config)).toThrow(expect.objectContaining({ code: 'ADDRESS_TARGET_INVALID' }))
  })
})

describe('a stack folder with a standby, asked to run Postgres alone', () => {
  it('is refused after a failover made the second node the primary, or when the first node is a retired primary', () => {
    const dir = folder()
    const withStandby = loadStackConfig({ STACK_DIR: dir, STACK_POSTGRES_STANDBY: '1' })
    const alone = loadStackConfig({ STACK_DIR: dir, STACK_POSTGRES_STANDBY: 'false' })
    expect(() => assertShape(alone, false)).not.toThrow()
    pointAddressAt(withStandby, 'postgres-2')
    expect(() => assertShape(alone, false)).toThrow(/primary is postgres-2 since a failover/)
    pointAddressAt(withStandby, 'postgres')
    mkdirSync(join(dir, 'postgres'), { recursive: true })
    writeFileSync(retiredMarker(withStandby, 'postgres'), 'failed over\n')
    expect(() => assertShape(alone, false)).toThrow(/a standby or a retired primary/)
  })
})
