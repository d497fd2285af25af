import type { Kafka } from 'kafkajs'
import type postgres from 'postgres'
import { deadLetterTopicOf } from '../events/topics.ts'
import {
  type InboxPruner,
  type InboxPrunerStatus,
  type InboxPruningOptions,
  startInboxPruner,
} from '../inbox/pruner.ts'
import { quietWhileDisconnecting } from '../kafka/client.ts'
import {
  type DeadLetterTopicSettings,
  defaultDeadLetterTopicSettings,
  ensureDeadLetterTopic,
} from '../kafka/dead-letter-topic.ts'
import type { Logger } from '../logger.ts'
import { type OutboxTableName, qualifiedName } from '../outbox/table-name.ts'
import { besideInbox, defaultParkedLetters } from '../schema/sql.ts'
import { applyBatch, applyEvent, type InboxApp, type OnRefused } from './apply-event.ts'
import { ConsumerLifecycle, type ConsumerState } from './consumer-state.ts'
import { publishDeadLetter } from './dead-letter.ts'
import { ConsumerError } from './errors.ts'
import { createGroupMembership, type MembershipVerdict } from './group-membership.ts'
import { type BatchRule, type ConsumerStats, handleBatch } from './handle-batch.ts'
import { kafkajsClients, runSettings, sessionTimeoutMs } from './kafkajs-clients.ts'
import type { ConsumerMetrics } from './metrics.ts'
import { countParkedLetters, postgresParkedLetters, requireParkedLettersTable } from './parked-letters.ts'
import type { RetryPolicy } from './process-message.ts'
import { reportRefusals } from './refusals.ts'
import { createStopGuard } from './stop-guard.ts'
import { createTopicWatch } from './topic-watch.ts'

export type { ConsumerState } from './consumer-state.ts'
export type { ConsumerStats } from './handle-batch.ts'

export interface EventConsumer {
  /**
   * Resolves once subscribed to the topics that exist; the others are read once they appear. A
   * stop() during it ends it early: it then resolves with the consumer stopping or stopped.
   */
  start(): Promise<void>
  /**
   * Stops after the message in hand; resolved offsets are committed, the rest is redelivered. It
   * first waits for a group join in flight (as long as the group's rebalance takes). Called again,
   * it returns the same stop.
   */
  stop(): Promise<void>
  readonly state: ConsumerState
  readonly stats: ConsumerStats
  /** The topics read, and those still waited for (named ones missing, or the pattern unmatched). */
  readonly topics: { reading: string[]; waitingFor: string[] }
  /** Whether kafkajs is in the group now (see createGroupMembership), and why not. */
  readonly group: MembershipVerdict
  /** Where pruning the inbox stands; null when `inboxPruning` was not given. */
  readonly pruning: InboxPrunerStatus | null
}

export interface EventConsumerOptions {
  kafka: Kafka
  /** postgres.js: each batch is one transaction on it, with the inbox rows and the handlers' writes. */
  sql: postgres.Sql
  groupId: string
  namespace: string
  log: Logger
  retry: RetryPolicy
  /** Partitions worked on at once; order within each partition is kept regardless. */
  partitionsConcurrently?: number
  /** Records of a partition applied in one transaction (1: each in its own); 500 when not given. */
  batchSize?: number
  metrics?: ConsumerMetrics
  /** How `<namespace>-dlq` is created at start if it does not exist yet; the defaults when not given. */
  deadLetterTopic?: DeadLetterTopicSettings
  /** What it applies and where it records it (defineInboxApp). */
  app: InboxApp
  /** The topics to read; every `<namespace>.*` topic when not given. Either may not exist yet. */
  topics?: string[]
  /** How often the topic list is read for wanted topics that appeared; 5000 when not given. */
  topicWatchIntervalMs?: number
  /** Called once when the consumer cannot go on; the process should exit non-zero. */
  onFatal?: (error: Error) => void
  /** Called for each state change a handler refused, after it is logged and counted. */
  onRefused?: OnRefused
  /** Deletes inbox rows no path can bring back (see startInboxPruner); the inbox grows for ever without. */
  inboxPruning?: InboxPruningOptions
  /**
   * Once an event is dead-lettered, later events of its key on the partition are parked behind it
   * (sent to the dead letters as parked) until a redrive has applied them all, in order; other keys
   * flow on. True when not given; false applies later events of the key at once, as they come.
   */
  keepKeyOrder?: boolean
  /** Where parked keys are kept: `outbox_cdc_parked_letters` beside the inbox when not given. */
  parkedLetters?: OutboxTableName
}

/**
 * Consumes every `<namespace>.*` topic (or the `topics` named) in `groupId`, also those created
 * after it started: each is read from its beginning once it appears (see createTopicWatch). One
 * deleted while read fails the consumer (TOPIC_DELETED, through `onFatal`): kafkajs cannot drop
 * it and would read none of the others, while a fresh start reads those that exist.
 * Records are applied in batches of a partition, one by one when a batch fails (see handleBatch);
 * an offset is resolved only once its record and every one before it is done, and only resolved
 * offsets are committed. A crash therefore redelivers, and the inbox makes redelivery a no-op.
 * start() creates the dead-letter topic if it is missing (a consumer may start before
 * its connector is provisioned), so the first dead letter never needs the broker to auto-create it.
 */
export function createEventConsumer(options: EventConsumerOptions): EventConsumer {
  const { sql, log, app } = options
  // A bad inbox name fails here, before anything connects: not at the first batch.
  qualifiedName(app.inbox)
  const { consumer, producer, admin } = kafkajsClients(options.kafka, options.groupId, {
    mayRestart: () => !guard.requested && lifecycle.state !== 'failed',
  })
  const stats: ConsumerStats = { applied: 0, duplicates: 0, deadLettered: 0, parked: 0, retries: 0 }
  const dlq = deadLetterTopicOf(options.namespace)
  const lifecycle = new ConsumerLifecycle()
  const guard = createStopGuard()
  let stopped: Promise<void> | undefined
  const keepKeyOrder = options.keepKeyOrder ?? true
  const parkedTable = options.parkedLetters ?? besideInbox(app.inbox, defaultParkedLetters)
  if (keepKeyOrder) qualifiedName(parkedTable)

  // Only the first fatal error is reported, and none once stop() has begun.
  const fail = (error: Error) => {
    if (lifecycle.move('failed')) options.onFatal?.(error)
  }
  const onRefused = reportRefusals(options, log)
  const rule: BatchRule = {
    batchSize: options.batchSize ?? 500,
    retry: options.retry,
    deadLetterTopic: dlq,
    applyBatch: (records) => applyBatch(sql, records, app, onRefused),
    applyEvent: (record) => applyEvent(sql, record, app, onRefused),
    publishDeadLetter: (message) => publishDeadLetter(producer, dlq, message, options.groupId),
    hasFailed: () => lifecycle.state === 'failed',
    onFatal: fail,
    log,
    stats,
    metrics: options.metrics,
    keyOrder: {
      group: options.groupId,
      ...(keepKeyOrder
        ? {
            parked: postgresParkedLetters(sql, {
              table: parkedTable,
              inbox: app.inbox,
              group: options.groupId,
            }),
          }
        : {}),
    },
  }
  const membership = createGroupMembership({ staleAfterMs: sessionTimeoutMs })
  // kafkajs restarts itself after most errors (and logs each crash), out of the group until it
  // has joined again; when it gives up, so do we, loudly.
  consumer.on(consumer.events.CRASH, ({ payload }) => {
    membership.crashed(payload.error)
    // A restart is a join of kafkajs's own, which a stop must wait for (see stop-guard.ts).
    if (payload.restart) guard.restartBegan()
    else guard.restartEnded()
    if (!payload.restart) fail(payload.error)
  })
  consumer.on(consumer.events.GROUP_JOIN, () => {
    guard.restartEnded()
    membership.joined()
    if (lifecycle.state === 'starting' || lifecycle.state === 'waiting') lifecycle.move('running')
  })
  consumer.on(consumer.events.HEARTBEAT, () => membership.alive())
  consumer.on(consumer.events.FETCH, () => membership.alive())
  const watch = createTopicWatch({
    admin,
    selection: { namespace: options.namespace, ...(options.topics ? { topics: options.topics } : {}) },
    intervalMs: options.topicWatchIntervalMs ?? 5000,
    log,
    subscribe: subscribeTo,
    active: () => ['starting', 'waiting', 'running'].includes(lifecycle.state),
    canSubscribe: () => !runningInKafkajs || membership.verdict().inGroup,
    onTopicsGone: (topics) =>
      fail(
        new ConsumerError(
          'TOPIC_DELETED',
          `${topics.join(', ')} deleted while being read: kafkajs cannot drop a topic, so nothing is read until the consumer starts afresh (and reads the topics that exist)`,
        ),
      ),
  })
  let runningInKafkajs = false
  let pruner: InboxPruner | undefined

  return {
    get state(): ConsumerState {
      return lifecycle.state
    },
    stats,
    get topics() {
      return { reading: watch.topics, waitingFor: watch.waitingFor }
    },
    get group() {
      return membership.verdict()
    },
    get pruning() {
      return pruner?.status ?? null
    },
    async start() {
      lifecycle.require('starting')
      try {
        await connectAndRun()
      } catch (error) {
        // A stop overtook the start (Kafka still unreachable, say): stopped, not failed.
        if (guard.requested) return
        // The caller gets the rejection; the state says the consumer is not consuming.
        lifecycle.move('failed')
        throw error
      }
    },
    stop() {
      // One stop, however often asked for: a second call (SIGINT and SIGTERM both) waits for it.
      stopped ??= stopOnce()
      return stopped
    },
  }

  async function stopOnce() {
    guard.request()
    // Never started: stopped for good, and a start() after this is refused.
    if (lifecycle.move('stopped')) return
    // A failed consumer stays failed; disconnecting still leaves the group cleanly.
    lifecycle.move('stopping')
    // Every join ended (joined or crashed), kafkajs's stop finds its runner running, lets the
    // batch in hand finish and leaves the group; none is left joining with nobody to stop it.
    await guard.settle()
    await consumer.stop()
    await pruner?.stop()
    await watch.stop()
    await disconnectClients()
    lifecycle.move('stopped')
  }

  async function disconnectClients() {
    await quietWhileDisconnecting(options.kafka, async () => {
      await consumer.disconnect()
      await producer.disconnect()
      await admin.disconnect()
    })
  }

  /** A start the stop overtook: its clients may have connected after the stop disconnected them. */
  async function abandoned(): Promise<boolean> {
    if (!guard.requested) return false
    await disconnectClients()
    return true
  }

  async function connectAndRun() {
    if (keepKeyOrder) await requireParkedLettersTable(sql, parkedTable)
    else {
      // Letters parked while it was on are still waited for if it is turned on again.
      const held = await countParkedLetters(sql, parkedTable, options.groupId).catch(() => 0)
      if (held > 0)
        log.warn(
          { parkedLetters: held, table: qualifiedName(parkedTable) },
          'keepKeyOrder is off, but letters parked earlier still hold their keys back should it be turned on again: redrive them, or dlq release the keys',
        )
    }
    if (guard.requested) return
    await admin.connect()
    if (await abandoned()) return
    await ensureDeadLetterTopic(
      admin,
      options.namespace,
      options.deadLetterTopic ?? defaultDeadLetterTopicSettings,
    )
    if (await abandoned()) return
    await producer.connect()
    await consumer.connect()
    if (await abandoned()) return
    await watch.start()
    if (await abandoned()) return
    if (watch.topics.length === 0) lifecycle.move('waiting')
    if (options.inboxPruning && !guard.requested && lifecycle.state !== 'failed')
      pruner = startInboxPruner({
        ...options.inboxPruning,
        sql,
        kafka: options.kafka,
        admin,
        groupId: options.groupId,
        inbox: app.inbox,
        deadLetterTopic: dlq,
        topics: () => watch.topics,
        log,
        onPruned: (rows) => options.metrics?.inboxPruned.inc(rows),
      })
  }

  /**
   * Adds `topics` to what kafkajs reads. kafkajs subscribes only while stopped, so it is stopped
   * first: stop() lets the batch in hand finish (handleBatch ends at the record in hand once it
   * sees the consumer is not running), commits every resolved offset and leaves the group; run()
   * then rejoins and fetches each partition from its committed offset, so nothing is skipped and
   * nothing resolved is applied again. A new topic has no committed offset and is read from its
   * beginning, so nothing written to it before the watch noticed is lost.
   */
  async function subscribeTo(topics: string[]) {
    // Subscribing refreshes metadata, which would connect clients a stop has disconnected.
    if (guard.requested) return
    if (runningInKafkajs) await consumer.stop()
    try {
      await consumer.subscribe({ topics, fromBeginning: true })
    } finally {
      // Run again even if subscribe failed: the topics already read must go on being read. kafkajs
      // keeps the new ones subscribed even so (it records them before refreshing metadata): one
      // that exists is read once run() refreshes, one deleted meanwhile the watch sees go. Unless
      // a stop was asked for meanwhile: then no join begins (the guard says why).
      await guard.join(() => {
        runningInKafkajs = true
        return consumer.run(
          runSettings(options.partitionsConcurrently ?? 1, (payload) => handleBatch(rule, payload)),
        )
      })
    }
  }
}
