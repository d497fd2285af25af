import { spawnSync } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import postgres from 'postgres'
import { request } from 'undici'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { replicationRole } from '../../lib/replication.ts'
import { findToolchain } from '../../stack/lib/prereqs.ts'
import { type Pipeline, startPipeline } from '../pipeline.ts'

const stack = inject('stack')

/** Every file under `dir`, recursively, except the secrets themselves and data directories. */
function logFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    if (['secrets', 'data', 'jars'].includes(name)) return []
    if (statSync(path).isDirectory()) return logFiles(path)
    return name.endsWith('.log') ? [path] : []
  })
}

describe.skipIf(!stack.secretsDir)('the replication role has least privilege', () => {
  let p: Pipeline
  let cdc: postgres.Sql
  let password: string
  beforeAll(async () => {
    p = await startPipeline(stack, { consumer: false })
    password = readFileSync(join(stack.secretsDir ?? '', 'postgres-cdc.password'), 'utf8').trim()
    const url = new URL(p.db.url)
    url.username = replicationRole
    url.password = password
    cdc = postgres(url.toString(), { max: 1, onnotice: () => {} })
  })
  afterAll(async () => {
    await cdc?.end()
    await p?.stop()
  })

  it('is LOGIN and REPLICATION only: no superuser, no CREATEDB, no CREATEROLE', async () => {
    const [role] =
      await cdc`select rolsuper, rolreplication, rolcreatedb, rolcreaterole, rolbypassrls from pg_roles where rolname = current_user`
    expect(role).toEqual({
      rolsuper: false,
      rolreplication: true,
      rolcreatedb: false,
      rolcreaterole: false,
      rolbypassrls: false,
    })
  })

  it('reads the outbox, and cannot read or write the domain tables', async () => {
    await expect(cdc`select count(*) from outbox`).resolves.toBeDefined()
    for (const table of ['books', 'orders', 'idempotency_keys', 'catalogue', 'consumed_events']) {
      await expect(cdc.unsafe(`select 1 from ${table} limit 1`), table).rejects.toMatchObject({
        code: '42501',
      })
    }
    await expect(
      cdc`insert into books (id, title, author, price_cents, stock, created_at, updated_at) values (gen_random_uuid(), 'x', 'y', 1, 1, now(), now())`,
    ).rejects.toMatchObject({ code: '42501' })
    await expect(cdc`delete from orders`).rejects.toMatchObject({ code: '42501' })
    await expect(
      cdc`insert into outbox (id, aggregate_type, aggregate_id, event_type, payload, created_at) values (gen_random_uuid(), 'book', 'x', 'BookAdded', '{}', now())`,
    ).rejects.toMatchObject({ code: '42501' })
  })

  it('uses a publication made ahead of time, which the connector is told not to create', async () => {
    const [publication] =
      await cdc`select pubname, pubinsert, pubupdate, pubdelete from pg_publication where pubname = 'outbox_publication'`
    expect(publication).toEqual({
      pubname: 'outbox_publication',
      pubinsert: true,
      pubupdate: false,
      pubdelete: false,
    })
    const tables =
      await cdc`select tablename from pg_publication_tables where pubname = 'outbox_publication' order by tablename`
    expect(tables.map((t) => t.tablename)).toEqual(['fulfilment_outbox', 'outbox', 'outbox_heartbeat'])
    expect((await p.connect.getConfig(p.connectorEnv.CONNECTOR_NAME))?.['publication.autocreate.mode']).toBe(
      'disabled',
    )
  })

  it('cannot copy the cluster: pg_basebackup as the replication role is refused by pg_hba.conf', () => {
    const { pgBin } = findToolchain({ needJvm: false, needPostgres: true })
    const url = new URL(p.db.url)
    const target = mkdtempSync(join(tmpdir(), 'basebackup-'))
    try {
      const run = spawnSync(
        join(pgBin ?? '', 'pg_basebackup'),
        ['-h', url.hostname, '-p', url.port, '-U', replicationRole, '-D', join(target, 'copy'), '-X', 'none'],
        { encoding: 'utf8', env: { ...process.env, PGPASSWORD: password }, timeout: 30_000 },
      )
      expect(run.status).not.toBe(0)
      expect(run.stderr).toContain('pg_hba.conf rejects replication connection')
      expect(readdirSync(target)).toEqual([])
    } finally {
      rmSync(target, { recursive: true, force: true })
    }
  })

  it('can still decode later changes to any table through a slot of its own, as docs/connector-and-slots.md warns', async () => {
    const before = await p.app.inject({
      method: 'POST',
      url: '/books',
      payload: { title: 'Written before', author: 'A', price: 1, stock: 1 },
    })
    expect(before.statusCode).toBe(201)
    const slot = `peek_${p.id}`
    await cdc`select pg_create_logical_replication_slot(${slot}, 'test_decoding', true)`
    const after = await p.app.inject({
      method: 'POST',
      url: '/books',
      payload: { title: 'Written after', author: 'A', price: 1, stock: 1 },
    })
    expect(after.statusCode).toBe(201)
    const changes = (await cdc`select data from pg_logical_slot_get_changes(${slot}, null, null)`)
      .map((row) => String(row.data))
      .join('\n')
    expect(changes).toContain('table public.books: INSERT')
    expect(changes).toContain('Written after')
    expect(changes).not.toContain('Written before')
  })

  it('still streams its slot: a logical replication connection on its database is accepted', async () => {
    const url = new URL(p.db.url)
    url.username = replicationRole
    url.password = password
    const replication = postgres(url.toString(), {
      max: 1,
      onnotice: () => {},
      fetch_types: false,
      connection: { replication: 'database' },
    })
    try {
      const [system] = await replication.unsafe('IDENTIFY_SYSTEM')
      expect(system?.dbname).toBe(url.pathname.slice(1))
    } finally {
      await replication.end()
    }
  })

  it("keeps its password out of every answer of Connect's REST API and out of its config topic", async () => {
    const name = encodeURIComponent(p.connectorEnv.CONNECTOR_NAME)
    const paths = [
      '/',
      '/connectors?expand=info&expand=status',
      `/connectors/${name}`,
      `/connectors/${name}/config`,
      `/connectors/${name}/status`,
      `/connectors/${name}/tasks`,
      `/connectors/${name}/tasks/0/status`,
      `/connectors/${name}/topics`,
      `/connectors/${name}/offsets`,
      '/connector-plugins',
      '/admin/loggers',
    ]
    for (const path of paths) {
      const response = await request(`${stack.connect.url}${path}`)
      const body = await response.body.text()
      expect(response.statusCode, path).toBe(200)
      expect(body.includes(password), path).toBe(false)
    }
    // Connect's own validation echoes every value it was given: it must echo the reference.
    const config = (await p.connect.getConfig(p.connectorEnv.CONNECTOR_NAME)) ?? {}
    const validated = await p.connect.validate(config['connector.class'] ?? '', config)
    expect(JSON.stringify(validated).includes(password)).toBe(false)

    const configs: string[] = []
    const reader = p.kafka.consumer({ groupId: `secrets-${p.id}` })
    await reader.connect()
    try {
      const [end] = await p.admin.fetchTopicOffsets('_connect-configs')
      await reader.subscribe({ topic: '_connect-configs', fromBeginning: true })
      await new Promise<void>((resolve) => {
        void reader.run({
          eachMessage: async ({ message }) => {
            configs.push(message.value?.toString() ?? '')
            if (Number(message.offset) + 1 >= Number(end?.high)) resolve()
          },
        })
      })
    } finally {
      await reader.disconnect()
      await p.admin.deleteGroups([`secrets-${p.id}`]).catch(() => {})
    }
    const ours = configs.filter((value) => value.includes(p.connectorEnv.CONNECTOR_SLOT_NAME))
    expect(ours.length).toBeGreaterThan(0)
    for (const value of configs) expect(value.includes(password)).toBe(false)
  })

  it('keeps its password out of the config Connect shows and out of every log the stack writes', async () => {
    expect(JSON.stringify(await p.connect.getConfig(p.connectorEnv.CONNECTOR_NAME))).not.toContain(password)
    const logs = logFiles(join(stack.secretsDir ?? '', '..'))
    expect(logs.length).toBeGreaterThanOrEqual(3)
    for (const file of logs) expect(readFileSync(file, 'utf8').includes(password), file).toBe(false)
  })
})
