import type { Admin } from 'kafkajs'
import { isEventTopicOf } from '../events/topics.ts'
import type { Logger } from '../logger.ts'

/** What a consumer reads: the topics it names, or every `<namespace>.*` topic (isEventTopicOf). */
export interface TopicSelection {
  namespace: string
  topics?: string[]
}

/**
 * Of the topics `listed` on the broker, those `selection` wants, and what it still waits for: the
 * named topics not listed, or the pattern while nothing matches it. Pure, so both cases are tested
 * without a broker.
 */
export function selectTopics(selection: TopicSelection, listed: readonly string[]) {
  if (selection.topics) {
    const present = new Set(listed)
    return {
      wanted: selection.topics.filter((t) => present.has(t)),
      waitingFor: selection.topics.filter((t) => !present.has(t)),
    }
  }
  const wanted = listed.filter((t) => isEventTopicOf(selection.namespace, t)).sort()
  return { wanted, waitingFor: wanted.length === 0 ? [`${selection.namespace}.*`] : [] }
}

export interface TopicWatchOptions {
  admin: Admin
  selection: TopicSelection
  intervalMs: number
  log: Logger
  /** Called with topics not read yet (every partition has a leader); resolves once they are read. */
  subscribe: (topics: string[]) => Promise<void>
  /** False once the consumer stops or fails: no more subscriptions. */
  active: () => boolean
  /**
   * False while kafkajs is out of its group after a crash it restarts from: its restart timer
   * would start a second runner beside the one a re-subscribe starts. The topics wait a check.
   */
  canSubscribe: () => boolean
  /**
   * Called with topics handed to `subscribe` that no longer exist (missing from the topic list at
   * two checks in a row, so a broker whose metadata lags a creation is not taken for a deletion).
   * kafkajs cannot unsubscribe, and with a deleted topic among its subscriptions every restart
   * fails again: none of the other topics is read until the consumer starts afresh.
   */
  onTopicsGone: (topics: string[]) => void
}

/**
 * Watches the broker's topic list and hands each wanted topic to `subscribe` once it exists and
 * its partitions have leaders. kafkajs 2.2.4 matches a subscription against the metadata it has
 * at subscribe time and never again, and a named topic that does not exist fails its start; so
 * the consumer subscribes only to topics that exist and this watch brings in the rest, whatever
 * the order of start-up (a consumer started before its connector is registered, or before a topic another service will write).
 * A failed check (the broker away) is logged and tried again at the next interval. A topic read
 * that is deleted is reported to `onTopicsGone` (the consumer fails, for a fresh start).
 */
export function createTopicWatch(options: TopicWatchOptions) {
  const { admin, log } = options
  const subscribed = new Set<string>()
  /** Topics read that the last check did not list. */
  let missingOnce = new Set<string>()
  let waitingFor: string[] = []
  let timer: NodeJS.Timeout | undefined
  let inFlight: Promise<void> = Promise.resolve()
  let stopped = false

  async function check() {
    const listed = await admin.listTopics()
    const present = new Set(listed)
    const missing = [...subscribed].filter((t) => !present.has(t))
    const gone = missing.filter((t) => missingOnce.has(t))
    missingOnce = new Set(missing)
    if (gone.length > 0) {
      if (options.active()) options.onTopicsGone(gone)
      return
    }
    const selected = selectTopics(options.selection, listed)
    const fresh = selected.wanted.filter((t) => !subscribed.has(t))
    const ready = fresh.length > 0 ? await withLeaders(admin, fresh) : []
    waitingFor = [...selected.waitingFor, ...fresh.filter((t) => !ready.includes(t))]
    if (ready.length === 0 || !options.active() || !options.canSubscribe()) return
    log.info({ topics: ready }, 'new topics to read: subscribing, from their beginning')
    // Counted as read before subscribing: kafkajs records a topic before the metadata refresh that
    // may fail (the topic deleted since this check), and reads it from then on whatever the outcome,
    // so a topic deleted meanwhile is one this watch must see go.
    for (const t of ready) subscribed.add(t)
    await options.subscribe(ready)
  }

  const schedule = () => {
    // A check that ends after stop() (the start's own, say) sets no timer.
    if (stopped) return
    timer = setTimeout(() => {
      inFlight = check()
        .catch((error: unknown) => log.warn({ err: error }, 'topic watch failed; trying again'))
        .finally(() => {
          if (options.active()) schedule()
        })
    }, options.intervalMs)
  }

  return {
    /** Subscribes to what exists now (errors reach the caller), then keeps watching. */
    async start() {
      await check()
      if (waitingFor.length > 0)
        log.info({ waitingFor }, 'waiting for topics to exist; each is read from its beginning once it does')
      schedule()
    },
    /** Stops watching, once a subscription in progress has finished. */
    async stop() {
      stopped = true
      clearTimeout(timer)
      await inFlight
      clearTimeout(timer)
    },
    /** The topics read so far. */
    get topics(): string[] {
      return [...subscribed]
    },
    /** Named topics that do not exist yet, or the pattern while nothing matches it. */
    get waitingFor(): string[] {
      return waitingFor
    },
  }
}

/** Those of `topics` whose every partition has a leader: subscribing to one that has not fails. */
async function withLeaders(admin: Admin, topics: string[]): Promise<string[]> {
  const { topics: metadata } = await admin.fetchTopicMetadata({ topics })
  return metadata
    .filter((t) => t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0))
    .map((t) => t.name)
}
