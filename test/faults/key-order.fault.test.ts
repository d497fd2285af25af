import type { Admin } from 'kafkajs'
import { listParkedKeys, redriveDeadLetters, redriveGroupOf } from 'outbox-cdc'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { deadLetterTopic } from '../../lib/events.ts'
import { type Rig, startRig } from '../../stack/rig.ts'
import { mainConfig, untilApiAnswers } from './own-stack.ts'

const group = 'outbox-cdc-consumer'
const parkedTable = 'outbox_cdc_parked_letters'

/**
 * Dead letters that keep each key's order, through the whole pipeline (API, Debezium, two
 * consumer processes in one group): a book the catalogue cannot take yet (a check constraint
 * stands in for a handler's bug) is dead-lettered. Both consumers are then SIGKILLed and started
 * again, so the group rebalances and whoever takes the partition knows the key only from Postgres:
 * the book's removal must be parked behind its first event, and other books must flow. After the fix and a redrive, the book is in the catalogue and removed, as
 * if nothing had failed.
 */
describe.skipIf(mainConfig.env.STACK_MODE !== 'native')(
  'parked keys across a SIGKILL and a rebalance',
  () => {
    let rig: Rig
    let admin: Admin

    beforeAll(async () => {
      rig = await startRig({
        consumers: 2,
        name: 'keyorder',
        serviceEnv: {
          CONSUMER_RETRY_MAX_ATTEMPTS: '2',
          CONSUMER_RETRY_BASE_MS: '20',
          CONSUMER_RETRY_MAX_MS: '50',
        },
      })
      await untilApiAnswers(rig.apiUrl)
      admin = rig.kafka.admin()
      await admin.connect()
    }, 300_000)
    afterAll(async () => {
      await admin?.disconnect()
      await rig?.stop()
    }, 120_000)

    const api = async (method: string, path: string, body?: unknown) => {
      const response = await fetch(`${rig.apiUrl}${path}`, {
        method,
        ...(body ? { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) } : {}),
      })
      expect(response.status, `${method} ${path}`).toBeLessThan(300)
      return (await response.json()) as { id: string }
    }
    const addBook = (title: string) => api('POST', '/books', { title, author: 'K', price: 1, stock: 5 })
    const catalogued = async (id: string) =>
      (
        await rig.sql<{ title: string; removed: boolean }[]>`
        select title, removed_at is not null as removed from catalogue where book_id = ${id}`
      )[0]
    const parked = () => listParkedKeys(rig.sql, parkedTable, group)

    it('keeps a dead-lettered book’s later events parked through a SIGKILL of every consumer, then applies them in order after a redrive', async () => {
      await rig.sql`alter table catalogue add constraint it_no_poison check (title is distinct from 'Poison')`
      const poison = await addBook('Poison')
      await expect
        .poll(parked, { timeout: 60_000, interval: 250 })
        .toMatchObject([{ key: poison.id, waiting: 0 }])

      // Every consumer dies at once; started again, they form a new generation of the group.
      for (const name of rig.consumerNames) await rig.kill(name)
      for (const name of rig.consumerNames) await rig.restart(name)
      await expect
        .poll(async () => (await admin.describeGroups([group])).groups[0]?.members.length ?? 0, {
          timeout: 90_000,
          interval: 500,
        })
        .toBe(rig.consumerNames.length)

      // Another book flows; the parked book's removal is parked by whoever holds its partition now,
      // which knows the key only from Postgres.
      const other = await addBook('Flows')
      await expect
        .poll(() => catalogued(other.id), { timeout: 60_000, interval: 250 })
        .toMatchObject({ removed: false })
      await api('DELETE', `/books/${poison.id}`)
      await expect
        .poll(parked, { timeout: 60_000, interval: 250 })
        .toMatchObject([{ key: poison.id, waiting: 1 }])
      expect(await catalogued(poison.id)).toBeUndefined()

      await rig.sql`alter table catalogue drop constraint it_no_poison`
      await redriveDeadLetters(
        rig.kafka,
        deadLetterTopic(rig.connectorEnv.TOPIC_NAMESPACE),
        redriveGroupOf(group),
        {
          dryRun: false,
          onLetter: () => {},
        },
      )
      await expect.poll(parked, { timeout: 60_000, interval: 250 }).toEqual([])
      await expect
        .poll(() => catalogued(poison.id), { timeout: 60_000, interval: 250 })
        .toEqual({ title: 'Poison', removed: true })
      expect(rig.unexpectedExits).toBe(0)
    })
  },
)
