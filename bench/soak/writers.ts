import { setTimeout as delay } from 'node:timers/promises'
import type postgres from 'postgres'
import type { BulkCommit } from '../measurement/commit-times.ts'
import { type ApiClient, openLoop, orderBody } from '../workloads/load.ts'
import { type SoakBook, writeOrders } from './order-writer.ts'

/** What the two writers did: orders acknowledged, failures, 503s by minute, commits by minute. */
export interface WriterTally {
  apiOrders: number
  /** The id of each order POST /orders acknowledged, to be found by id at the end. */
  apiOrderIds: string[]
  bulkOrders: number
  failures: { api: number; bulk: number }
  firstFailure?: string
  shedByMinute: number[]
  /** The bulk writer's commits by minute of the load, until that minute's latency is read. */
  commitsByMinute: BulkCommit[][]
}

/**
 * How often a shed order is offered before it counts as failed: for 30 s, a second apart. A
 * stack just started on a loaded machine sheds for some seconds while it warms up (five tries, 5 s,
 * failed a short CI soak in minute 0 with 1,078 sheds and every order written in the end); a
 * shedding that outlasts this is a failure, as any other answer is.
 */
const shedTries = 30

/**
 * Offers the soak's load for `seconds`, open loop: `apiPerS` orders through POST /orders and
 * `bulkPerS` from the bulk writer, `perTx` to a transaction. A 503 is tried again after its
 * Retry-After (the API's 1 s), as a client should; still shed after `shedTries` tries, or answered
 * anything else, or failed without an answer, it is a failure. A failed bulk transaction too.
 */
export function startWriters(o: {
  client: ApiClient
  sql: postgres.Sql
  bookIds: string[]
  books: SoakBook[]
  apiPerS: number
  bulkPerS: number
  perTx: number
  seconds: number
}) {
  const tally: WriterTally = {
    apiOrders: 0,
    apiOrderIds: [],
    bulkOrders: 0,
    failures: { api: 0, bulk: 0 },
    shedByMinute: [],
    commitsByMinute: [],
  }
  const started = performance.now()
  const minuteNow = () => Math.floor((performance.now() - started) / 60_000)
  const fail = (writer: 'api' | 'bulk', why: string) => {
    tally.failures[writer] += 1
    tally.firstFailure ??= why
  }
  const api = openLoop(o.apiPerS, o.seconds, 256, async (i) => {
    const body = orderBody(o.bookIds, i)
    for (let attempt = 1; ; attempt += 1) {
      const answer = await o.client.post('/orders', body).catch((error: unknown) => {
        fail('api', `POST /orders failed without an answer: ${String(error)}`)
        return undefined
      })
      if (!answer) return
      if (answer.status === 201) {
        tally.apiOrders += 1
        if (answer.json.id) tally.apiOrderIds.push(answer.json.id)
        else fail('api', 'POST /orders answered 201 without the order id')
        return
      }
      if (answer.status === 503) {
        tally.shedByMinute[minuteNow()] = (tally.shedByMinute[minuteNow()] ?? 0) + 1
        if (attempt < shedTries) {
          await delay(1000)
          continue
        }
      }
      fail('api', `POST /orders answered ${answer.status} (try ${attempt})`)
      return
    }
  })
  const bulk = openLoop(o.bulkPerS / o.perTx, o.seconds, 64, async (i) => {
    const commit = await writeOrders(o.sql, o.books, o.perTx, i * o.perTx).catch((error: unknown) => {
      fail('bulk', `bulk writer: ${String(error)}`)
      return undefined
    })
    if (!commit) return
    tally.bulkOrders += commit.eventIds.length
    const held = tally.commitsByMinute[minuteNow()] ?? []
    held.push(commit)
    tally.commitsByMinute[minuteNow()] = held
  })
  return {
    tally,
    started,
    /** Settles once every call offered has been answered (or failed). */
    done: Promise.all([api, bulk]),
  }
}
