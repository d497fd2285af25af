import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Admin } from 'kafkajs'
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { invoicingConnectorOptions } from '../../test/connector-options.ts'
import { defineEvent } from '../events/define.ts'
import { appendEvent } from '../outbox/append.ts'
import { qualifiedName } from '../outbox/table-name.ts'
import { schemaSql } from '../schema/sql.ts'
import {
  checkAggregates,
  heartbeatActionQuery,
  type OutboxConnectorOptions,
  outboxConnectorConfig,
} from './config.ts'
import { type ConnectClient, createConnectClient } from './connect-client.ts'
import { type ProvisionOptions, provisionConnector } from './provision.ts'

const options = invoicingConnectorOptions

const invalidOption = expect.objectContaining({ code: 'INVALID_OPTION' })

describe('the heartbeat action query names the table schemaSql creates', () => {
  it('heartbeat action query names the heartbeat table the way schemaSql creates it (schema "order")', () => {
    // schemaSql accepts and quotes a schema named after a reserved word...
    const ddl = schemaSql({
      outboxes: [{ schema: 'order', table: 'outbox' }],
      heartbeat: { schema: 'order', table: 'heartbeat' },
      inboxes: [],
      publication: 'invoicing_pub',
    })
    expect(ddl).toContain('create table if not exists "order"."heartbeat"')
    // ...the connector accepts the same names, but writes `DELETE FROM order.heartbeat`: a syntax error in Postgres.
    const config = outboxConnectorConfig({
      ...options,
      outboxes: ['order.outbox'],
      heartbeat: { table: 'order.heartbeat', intervalMs: 5000 },
    })
    expect(config['heartbeat.action.query']).toContain(qualifiedName({ schema: 'order', table: 'heartbeat' }))
  })

  it('the exported heartbeatActionQuery refuses a table that is not schema.table', () => {
    expect(() => heartbeatActionQuery('billing.heartbeat; drop table billing.outbox; --')).toThrow(
      invalidOption,
    )
  })
})

/** An admin that behaves like Kafka: createTopics creates each valid topic, and fails on the rest. */
function fakes(validateErrors: string[] = []) {
  const calls: string[] = []
  const created: string[] = []
  const admin = {
    listTopics: async () => [...created],
    createTopics: async ({
      topics,
    }: {
      topics: { topic: string; numPartitions: number; configEntries: { name: string; value: string }[] }[]
    }) => {
      calls.push(`createTopics ${topics.map((t) => t.topic).join(',')}`)
      const bad = topics.filter(
        (t) =>
          !(Number.isInteger(t.numPartitions) && t.numPartitions > 0) ||
          t.topic.length > 249 ||
          t.configEntries.some((c) => c.name === 'retention.ms' && Number(c.value) < -1),
      )
      for (const t of topics) if (!bad.includes(t)) created.push(t.topic)
      if (bad.length > 0)
        throw Object.assign(new Error(`Kafka refused ${bad.map((t) => t.topic)}`), { retriable: false })
      return true
    },
    fetchTopicMetadata: async ({ topics }: { topics: string[] }) => ({
      topics: topics.map((name) => ({ name, partitions: [{}] })),
    }),
  } as unknown as Admin
  const connect = {
    validate: async () => {
      calls.push('validate')
      return {
        name: 'x',
        error_count: validateErrors.length,
        configs: validateErrors.map((e) => ({
          value: { name: 'exactly.once.support', value: null, errors: [e] },
        })),
      }
    },
    status: async () => {
      calls.push('status')
      return undefined
    },
    putConfig: async () => {
      calls.push('putConfig')
      return { created: true }
    },
    waitForState: async () => {
      calls.push('waitForState')
      throw Object.assign(new Error('not running'), { code: 'NOT_RUNNING_IN_TIME' })
    },
  } as unknown as ConnectClient
  return { admin, connect, calls, created }
}

const good: ProvisionOptions = {
  connector: options,
  topics: { aggregates: ['invoice', 'payment'], partitions: 3 },
  waitTimeoutMs: 1000,
}

describe('provisionConnector checks every option before it changes anything', () => {
  it.each([
    ['zero partitions per event topic', { ...good, topics: { ...good.topics, partitions: 0 } }],
    [
      'a dead-letter topic with zero partitions',
      { ...good, topics: { ...good.topics, deadLetters: { partitions: 0, retentionMs: 60_000 } } },
    ],
    [
      'a dead-letter retention Kafka refuses',
      { ...good, topics: { ...good.topics, deadLetters: { partitions: 3, retentionMs: -5 } } },
    ],
    ['a wait timeout that is not a number', { ...good, waitTimeoutMs: Number.NaN }],
    [
      'a namespace too long for some topic names',
      { ...good, connector: { ...options, namespace: 'n'.repeat(242) } },
    ],
  ])('refuses %s with INVALID_OPTION, creating no topic and calling no Connect', async (_what, bad) => {
    const { admin, connect, calls } = fakes()
    await expect(provisionConnector(admin, connect, bad as ProvisionOptions, () => {})).rejects.toMatchObject(
      {
        code: 'INVALID_OPTION',
      },
    )
    expect(calls).toEqual([])
  })

  it('asks Connect to validate the config before creating any topic', async () => {
    const { admin, connect, calls } = fakes([
      'exactly.once.support requires exactly.once.source.support=enabled',
    ])
    await expect(
      provisionConnector(admin, connect, { ...good, connector: { ...options, exactlyOnce: true } }, () => {}),
    ).rejects.toMatchObject({ code: 'CONFIG_REJECTED' })
    expect(calls.filter((c) => c.startsWith('createTopics'))).toEqual([])
  })
})

describe('connector names that a Connect REST path would read as a path step', () => {
  it.each(['.', '..'])('outboxConnectorConfig refuses the connector name %j', (name) => {
    expect(() => outboxConnectorConfig({ ...options, name })).toThrow(invalidOption)
  })

  it("createConnectClient sends nothing for a connector named '.' or '..', which a URL reads as a path step", async () => {
    const seen: string[] = []
    const server = createServer((req, res) => {
      seen.push(`${req.method} ${req.url}`)
      res.statusCode = 201
      res.end('{}')
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    try {
      const client = createConnectClient(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)
      // WHATWG URLs read %2E%2E as '..' too, so no encoding keeps such a name under /connectors/.
      await expect(client.putConfig('..', { name: '..' })).rejects.toMatchObject({
        code: 'CONNECT_REQUEST_FAILED',
      })
      await expect(client.remove('.')).rejects.toMatchObject({ code: 'CONNECT_REQUEST_FAILED' })
      await client.putConfig('a..b', { name: 'a..b' })
      expect(seen).toEqual(['PUT /connectors/a..b/config'])
    } finally {
      server.close()
    }
  })
})

describe('misspelled options are refused, not dropped', () => {
  it.each([
    ['exactlyonce', { exactlyonce: true }],
    ['slotFailOver', { slotFailOver: true }],
    ['heartbeat.interval', { heartbeat: { table: 'billing.heartbeat', intervalMs: 5000, interval: 100 } }],
  ])('refuses the unknown option %s instead of dropping it', (_key, extra) => {
    expect(() => outboxConnectorConfig({ ...options, ...extra } as OutboxConnectorOptions)).toThrow(
      invalidOption,
    )
  })
})

describe('the connector side refuses the names the event registry refuses', () => {
  it("refuses a namespace with a trailing '.', as defineEvents does", () => {
    expect(() => outboxConnectorConfig({ ...options, namespace: 'invoicing.' })).toThrow(invalidOption)
  })

  it('refuses an aggregate ending in -dlq, as defineEvent does', () => {
    expect(() =>
      defineEvent({
        type: 'AuditLogged',
        aggregate: 'audit-dlq',
        payload: z.object({}),
        aggregateId: () => 'x',
      }),
    ).toThrow()
    expect(() => checkAggregates(['audit-dlq'])).toThrow(invalidOption)
  })

  it('appendEvent refuses an aggregateType that is no topic-name part, before any SQL', async () => {
    const sent: string[] = []
    const executor = { run: async (_n: string, text: string) => void sent.push(text) }
    await expect(
      appendEvent(executor, 'outbox', {
        id: '0b6c1f7e-4f5e-4a53-9d1c-2a0c3c1d9e11',
        aggregateType: 'Billing.Invoice',
        aggregateId: 'i-1',
        eventType: 'InvoiceIssued',
        payload: {},
      }),
    ).rejects.toMatchObject({ code: expect.any(String) })
    expect(sent).toEqual([])
  })
})
