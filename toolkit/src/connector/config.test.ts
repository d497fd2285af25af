import type { Admin } from 'kafkajs'
import { describe, expect, it } from 'vitest'
import { invoicingConnectorOptions } from '../../test/connector-options.ts'
import { type OutboxConnectorOptions, outboxConnectorConfig } from './config.ts'
import type { ConnectClient } from './connect-client.ts'
import { provisionConnector } from './provision.ts'

const options = invoicingConnectorOptions

/** TopicNameMatches matches the whole topic name (Java's Matcher#matches). */
const matches = (pattern: string | undefined, topic: string) => new RegExp(`^(?:${pattern})$`).test(topic)

describe('outboxConnectorConfig', () => {
  it('takes every name from the options: tables, slot, publication, prefix and namespace', () => {
    const config = outboxConnectorConfig(options)
    expect(config).toMatchObject({
      name: 'invoicing-outbox',
      'database.hostname': 'db',
      'database.port': '5433',
      'database.dbname': 'invoicing',
      'database.user': 'dbz',
      'database.password': '${env:DBZ_PASSWORD}',
      'slot.name': 'invoicing_slot',
      'publication.name': 'invoicing_pub',
      'publication.autocreate.mode': 'disabled',
      'table.include.list': 'billing.outbox,billing.heartbeat',
      'topic.prefix': 'inv',
      'transforms.outbox.route.topic.replacement': 'invoicing.events.${routedByValue}',
      'heartbeat.interval.ms': '5000',
      'heartbeat.action.query': expect.stringContaining('INSERT INTO "billing"."heartbeat"'),
    })
    expect(matches(config['predicates.isOutboxTable.pattern'], 'inv.billing.outbox')).toBe(true)
    expect(matches(config['predicates.isOutboxTable.pattern'], 'inv.billing.heartbeat')).toBe(false)
    expect(matches(config['predicates.isHeartbeatTable.pattern'], 'inv.billing.heartbeat')).toBe(true)
    expect(JSON.stringify(config)).not.toMatch(/public\.|outbox_slot|outbox\.events/)
  })

  it('routes every listed outbox through the EventRouter, and leaves out the heartbeat parts when there is none', () => {
    const { heartbeat: _none, ...withoutBeat } = options
    const config = outboxConnectorConfig({ ...withoutBeat, outboxes: ['billing.outbox', 'ledger.outbox'] })
    expect(config.transforms).toBe('outbox')
    expect(config.predicates).toBe('isOutboxTable')
    expect(config['table.include.list']).toBe('billing.outbox,ledger.outbox')
    expect(config).not.toHaveProperty('heartbeat.interval.ms')
    for (const topic of ['inv.billing.outbox', 'inv.ledger.outbox'])
      expect(matches(config['predicates.isOutboxTable.pattern'], topic)).toBe(true)
  })

  it('turns exactly-once and slot failover on only when asked', () => {
    expect(outboxConnectorConfig(options)).not.toHaveProperty('exactly.once.support')
    expect(outboxConnectorConfig(options)).not.toHaveProperty('slot.failover')
    expect(outboxConnectorConfig({ ...options, exactlyOnce: true, slotFailover: true })).toMatchObject({
      'exactly.once.support': 'required',
      'transaction.boundary': 'poll',
      'slot.failover': 'true',
    })
  })

  it.each([
    ['a literal password', { database: { ...options.database, passwordRef: 'hunter2' } }, /passwordRef/],
    ['a table without its schema', { outboxes: ['outbox'] }, /outboxes\.0/],
    ['no outbox', { outboxes: [] }, /at least one outbox/],
    ['the heartbeat table as an outbox', { outboxes: ['billing.heartbeat'] }, /cannot also be an outbox/],
    ['a slot name Postgres would fold', { slot: 'Invoicing' }, /slot/],
  ])('refuses %s with INVALID_OPTION naming the option', (_what, change, message) => {
    expect(() => outboxConnectorConfig({ ...options, ...change } as OutboxConnectorOptions)).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTION', message: expect.stringMatching(message) }),
    )
  })
})

describe('provisionConnector', () => {
  it('creates no topic and calls no Connect when the options are wrong', async () => {
    const calls: string[] = []
    const record = (name: string) => async () => {
      calls.push(name)
      return []
    }
    const admin = {
      listTopics: record('listTopics'),
      createTopics: record('createTopics'),
    } as unknown as Admin
    const connect = new Proxy({}, { get: (_t, name) => record(String(name)) }) as ConnectClient
    await expect(
      provisionConnector(
        admin,
        connect,
        {
          connector: { ...options, slot: 'Bad-Slot' },
          topics: { aggregates: ['invoice'], partitions: 3 },
          waitTimeoutMs: 1000,
        },
        () => {},
      ),
    ).rejects.toMatchObject({ code: 'INVALID_OPTION' })
    await expect(
      provisionConnector(
        admin,
        connect,
        { connector: options, topics: { aggregates: ['Invoice.v2'], partitions: 3 }, waitTimeoutMs: 1000 },
        () => {},
      ),
    ).rejects.toMatchObject({ code: 'INVALID_OPTION' })
    expect(calls).toEqual([])
  })
})
