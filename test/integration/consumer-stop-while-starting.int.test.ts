import { setTimeout as delay } from 'node:timers/promises'
import { createEventConsumer, createKafka, ensureTopics } from 'outbox-cdc'
import { describe, expect, inject, it, vi } from 'vitest'
import { fulfilmentApp } from '../../fulfilment/handlers.ts'
import { createLogger } from '../../lib/logger.ts'
import { useConsumerFixture } from '../consumer-fixture.ts'
import { orderSideOn } from '../order-side.ts'

const stack = inject('stack')

/**
 * stop() while start() is still on its way (Ctrl-C as a service comes up): kafkajs, asked to run
 * after its clients were disconnected, writes to the ended sockets, "crashes" and restarts itself
 * 300 ms later (tulios/kafkajs#1639), so a consumer its owner had stopped went on reading in its
 * group. A stopped consumer must stay out of its group, quietly, wherever in its start the stop
 * came.
 */
describe('a consumer stopped while it starts', () => {
  const fixture = useConsumerFixture('stop-starting')

  it('stays stopped, out of its group and quiet, wherever in its start the stop comes', async () => {
    const printed: string[] = []
    vi.spyOn(console, 'error').mockImplementation((line) => printed.push(String(line)))
    // kafkajs's own ERROR lines print, as in a service.
    const kafka = createKafka({ brokers: stack.kafka.brokers, clientId: 'it-stop-starting' })
    // The moment kafkajs's JoinGroup is answered, its SyncGroup still to come: a join in flight,
    // met exactly, whatever the machine's speed.
    let onJoinAnswered: () => void = () => {}
    const consumerOf = kafka.consumer.bind(kafka)
    kafka.consumer = (config) => {
      const client = consumerOf(config)
      client.on(client.events.REQUEST, ({ payload }) => {
        if (payload.apiName === 'JoinGroup') onJoinAnswered()
      })
      return client
    }
    const namespace = `it.stopstart${crypto.randomUUID().slice(0, 8)}.events`
    const topic = `${namespace}.order`
    await ensureTopics(fixture.admin, [{ topic, partitions: 3 }])
    const outcomes: { at: string; state: string; members: number; printed: number }[] = []
    // From at once to past the join (some 30 ms here; a stop after it waits out a fetch, up to
    // 5 s), and mid-join: each step of the start is met by a stop.
    for (const at of ['0', '10', '20', '25', '30', '40', 'mid-join']) {
      const groupId = `it-stop-starting-${at}-${crypto.randomUUID().slice(0, 8)}`
      const joinAnswered = new Promise<void>((resolve) => (onJoinAnswered = resolve))
      const consumer = createEventConsumer({
        kafka,
        ...orderSideOn(fixture.database.db),
        groupId,
        namespace,
        topics: [topic],
        app: fulfilmentApp,
        log: createLogger('it-stop-starting', 'silent'),
        retry: { maxAttempts: 3, baseDelayMs: 20, maxDelayMs: 200 },
      })
      const started = consumer.start().then(
        () => 'resolved',
        (error: unknown) => `rejected: ${String(error)}`,
      )
      await (at === 'mid-join' ? joinAnswered : delay(Number(at)))
      await consumer.stop()
      expect(await started).toBe('resolved')
      // kafkajs restarts a crashed consumer 300 ms after the crash: looked at well past that.
      await delay(1000)
      const [group] = (await fixture.admin.describeGroups([groupId])).groups
      outcomes.push({
        at,
        state: consumer.state,
        members: group?.members.length ?? 0,
        printed: printed.length,
      })
    }
    expect(outcomes).toEqual(outcomes.map((o) => ({ ...o, state: 'stopped', members: 0, printed: 0 })))
    expect(printed).toEqual([])
  }, 120_000)
})
