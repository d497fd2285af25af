import net from 'node:net'
import { type Admin, type ISocketFactory, type Kafka, logLevel } from 'kafkajs'
import { createEventConsumer, createKafka } from 'outbox-cdc'
import { describe, expect, inject, it } from 'vitest'
import { createLogger } from '../../lib/logger.ts'
import { bookPayload, eventRecord, useConsumerFixture } from '../consumer-fixture.ts'
import { orderSideOn } from '../order-side.ts'
import { createTopics, uniqueName } from '../support.ts'

const stack = inject('stack')

/**
 * The topic watch meets a kafkajs crash it restarts from: a new `<namespace>.<aggregate>` topic
 * appears while the consumer is out of its group. The consumer's own Kafka connections are cut (a
 * socket factory the test controls) while its topic watch keeps a working admin, so the watch sees
 * the topic while kafkajs is out; once the connections come back, the consumer must read the new
 * topic's events, each applied once, with one member in its group (no second runner).
 */
describe('the topic watch while kafkajs is out of its group after a crash', () => {
  const fixture = useConsumerFixture('watch-crash', { poolMax: 4 })

  it('reads a topic that appeared while it was out, once back: each event applied once, one member', async () => {
    const ns = uniqueName('it.wc').toLowerCase()
    const [first, later] = [`${ns}.book`, `${ns}.shelf`]
    const groupId = uniqueName('it-watch-crash')
    const { admin } = fixture
    await createTopics(admin, { topics: [{ topic: first, numPartitions: 2 }] })
    fixture.onCleanup(async () => {
      const mine = (await admin.listTopics()).filter((t) => t.startsWith(ns))
      await admin.deleteTopics({ topics: mine })
    })
    fixture.onCleanup(() => admin.deleteGroups([groupId]))

    // The consumer's connections: cut at will, and refused while cut.
    const open = new Set<net.Socket>()
    let cut = false
    const socketFactory: ISocketFactory = ({ host, port, onConnect }) => {
      const socket = net.connect({ host, port }, onConnect)
      if (cut) setImmediate(() => socket.destroy(new Error('connection cut by the test')))
      else {
        open.add(socket)
        socket.on('close', () => open.delete(socket))
      }
      return socket
    }
    const quick = { retries: 2, initialRetryTime: 100, maxRetryTime: 500 }
    const faulty = createKafka({
      brokers: stack.kafka.brokers,
      clientId: 'it-watch-crash',
      logLevel: logLevel.NOTHING,
      retry: quick,
      socketFactory,
    })
    // The watch's admin stays connected, and counts its checks.
    let checks = 0
    const watchAdmin: Admin = fixture.kafka.admin()
    const listTopics = watchAdmin.listTopics.bind(watchAdmin)
    watchAdmin.listTopics = async () => {
      checks += 1
      return listTopics()
    }
    const kafka = {
      consumer: (config: Parameters<Kafka['consumer']>[0]) => faulty.consumer(config),
      producer: (config: Parameters<Kafka['producer']>[0]) => faulty.producer(config),
      admin: () => watchAdmin,
    } as unknown as Kafka

    const consumer = createEventConsumer({
      kafka,
      ...orderSideOn(fixture.database.db),
      groupId,
      namespace: ns,
      log: createLogger('it', 'silent'),
      retry: { maxAttempts: 2, baseDelayMs: 10, maxDelayMs: 20 },
      topicWatchIntervalMs: 250,
    })
    fixture.onCleanup(() => consumer.stop())

    const send = async (topic: string, count: number) => {
      const records = Array.from({ length: count }, (_, i) => eventRecord(bookPayload(`${topic} ${i}`)))
      const producer = fixture.kafka.producer({ allowAutoTopicCreation: false })
      await producer.connect()
      await producer.send({ topic, messages: records })
      await producer.disconnect()
      return records.map((r) => String(r.headers?.id))
    }
    const inbox = async (eventIds: string[]) =>
      (
        await fixture.database.db.$client<{ rows: number; redeliveries: number }[]>`
          select count(*)::int as rows, coalesce(sum(redeliveries), 0)::int as redeliveries
          from consumed_events where event_id = any(${eventIds}::uuid[])`
      )[0]
    const members = async () => (await admin.describeGroups([groupId])).groups[0]?.members.length

    await consumer.start()
    const ids = await send(first, 3)
    await expect.poll(() => consumer.stats.applied, { timeout: 20_000 }).toBe(3)
    expect(consumer.group.inGroup).toBe(true)

    // kafkajs loses the broker, crashes and keeps restarting (restart: true) without getting in.
    cut = true
    for (const socket of open) socket.destroy(new Error('connection cut by the test'))
    await expect.poll(() => consumer.group.reason ?? '', { timeout: 30_000 }).toMatch(/crashed/)

    await createTopics(admin, { topics: [{ topic: later, numPartitions: 2 }] })
    ids.push(...(await send(later, 4)))
    const checksBefore = checks
    await expect.poll(() => checks, { timeout: 10_000 }).toBeGreaterThanOrEqual(checksBefore + 3)
    // Seen, but not handed to kafkajs while it is out of its group.
    expect(consumer.group.inGroup).toBe(false)
    expect(consumer.topics.reading).toEqual([first])
    expect(consumer.state).toBe('running')

    cut = false
    await expect.poll(() => consumer.stats.applied, { timeout: 40_000 }).toBe(7)
    expect(consumer.topics).toEqual({ reading: [first, later], waitingFor: [] })
    ids.push(...(await send(first, 2)), ...(await send(later, 2)))
    await expect.poll(() => consumer.stats.applied, { timeout: 20_000 }).toBe(11)

    expect(consumer.stats).toMatchObject({ duplicates: 0, deadLettered: 0 })
    expect(await inbox(ids)).toEqual({ rows: 11, redeliveries: 0 })
    expect(consumer.state).toBe('running')
    expect(consumer.group.inGroup).toBe(true)
    expect(await members()).toBe(1)
  })
})
