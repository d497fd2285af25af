import { listParkedKeys, type ParkedKey, releaseParkedKey } from '../consumer/parked-letters.ts'
import { redriveGroupOf } from '../doctor/dead-letters.ts'
import { deadLetterTopicOf } from '../events/topics.ts'
import { defaultHorizonOf, readInboxHorizon } from '../inbox/prune-sql.ts'
import type { OutboxTableName } from '../outbox/table-name.ts'
import { besideInbox, defaultParkedLetters } from '../schema/sql.ts'
import { connectPostgres } from '../security/postgres.ts'
import { type DeadLetter, listDeadLetters, redriveDeadLetters } from '../tools/dlq.ts'
import { matchesFilter, startEventTail, type TailedEvent } from '../tools/event-tail.ts'
import { parseReplayFrom, ReplayRefused, replayGroup } from '../tools/replay.ts'
import { kafkaOf as kafkaOfConfig } from './clients.ts'
import { type CliContext, type Command, flagsOf, UsageError } from './context.ts'

const kafkaOf = (c: CliContext, use: string) => kafkaOfConfig(c.config, `outbox-cdc-${use}`)
const namespaceOf = (c: CliContext) => c.config.connector.namespace
/** The group `dlq redrive` records its progress in (the doctor reads the same one). */
export const redriveGroupOfConfig = (c: Pick<CliContext, 'config'>) =>
  c.config.consumer.redriveGroup ?? redriveGroupOf(c.config.consumer.group)

const letterLine = (l: DeadLetter) =>
  `${l.at ?? '?'}  ${l.errorCode ?? '?'}  ${l.eventType ?? '?'} ${l.eventId ?? '?'}  from ${l.original.topic}[${l.original.partition}]@${l.original.offset}` +
  `${l.group ? `  group ${l.group}` : ''}  after ${l.attempts ?? '?'} attempt(s): ${l.errorMessage ?? ''}`

const parkedLine = (p: ParkedKey) =>
  `parked  ${p.group}  ${p.topic} key ${p.key}: ${p.waiting} event(s) waiting behind ${p.head} since ${p.since}`

/** Where the consumers keep their parked keys: the config's, or the default beside its inbox. */
export const parkedTableOf = (c: Pick<CliContext, 'config'>) => {
  const { parkedLetters, inbox } = c.config.consumer
  return parkedLetters ?? (inbox ? besideInbox(inbox, defaultParkedLetters) : undefined)
}

async function parkedKeysOf(c: CliContext, group: string | undefined): Promise<ParkedKey[] | undefined> {
  const table = parkedTableOf(c)
  if (!table) return undefined
  const sql = connectPostgres(c.config.postgres.url, { max: 1, onnotice: () => {}, connect_timeout: 10 })
  try {
    return await listParkedKeys(sql, table, group)
  } finally {
    await sql.end()
  }
}

/** `dlq <list|redrive>`: the namespace's dead-letter topic, every group's or one's (--group). */
export const dlqCommands: Record<string, Command> = {
  async list(c) {
    const { values } = flagsOf(c.args, { json: { type: 'boolean' }, group: { type: 'string' } })
    const topic = deadLetterTopicOf(namespaceOf(c))
    const letters = await listDeadLetters(kafkaOf(c, 'dlq'), topic, { group: values.group })
    if (values.json) {
      c.out(JSON.stringify(letters, null, 2))
      return 0
    }
    for (const letter of letters) c.out(letterLine(letter))
    c.out(`${letters.length} dead letter(s) in ${topic}${values.group ? ` for group ${values.group}` : ''}`)
    const parked = await parkedKeysOf(c, values.group).catch((error: unknown) => {
      c.err(`warning: could not read the parked keys: ${(error as Error).message}`)
      return undefined
    })
    if (parked) {
      for (const key of parked) c.out(parkedLine(key))
      c.out(`${parked.length} key(s) parked behind a dead letter`)
    }
    return 0
  },
  /**
   * Lets a parked key go: its letters are no longer waited for (they stay in the dead-letter
   * topic, and a redrive applies them as they come). For a key whose first letter can never be
   * applied, or was kept no longer than the topic's retention.
   */
  async release(c) {
    const { values } = flagsOf(c.args, {
      group: { type: 'string' },
      key: { type: 'string' },
      topic: { type: 'string' },
    })
    if (!values.group || !values.key) throw new UsageError('--group and --key are required')
    const table = parkedTableOf(c)
    if (!table) throw new UsageError('the config names no inbox (consumer.inbox) nor consumer.parkedLetters')
    const sql = connectPostgres(c.config.postgres.url, { max: 1, onnotice: () => {}, connect_timeout: 10 })
    try {
      const released = await releaseParkedKey(sql, table, {
        group: values.group,
        key: values.key,
        topic: values.topic,
      })
      c.out(
        released === 0
          ? `group ${values.group} holds no key ${values.key} back; nothing released`
          : `released key ${values.key} of group ${values.group}: ${released} letter(s) no longer waited for (they stay in the dead letters; a redrive applies them as they come)`,
      )
      return 0
    } finally {
      await sql.end()
    }
  },
  /**
   * Sends each dead letter not yet redriven back to its topic, for the group that wrote it; with
   * --group, only that group's (its progress kept apart); --dry-run only shows them.
   */
  async redrive(c) {
    const { values } = flagsOf(c.args, { 'dry-run': { type: 'boolean' }, group: { type: 'string' } })
    const dryRun = values['dry-run'] ?? false
    const topic = deadLetterTopicOf(namespaceOf(c))
    const { group } = values
    // A run for one group must not move the position of the run for all: that one would then
    // pass over the other groups' letters without sending them.
    const progress = group ? `${redriveGroupOf(group)}-only` : redriveGroupOfConfig(c)
    const sent = await redriveDeadLetters(kafkaOf(c, 'dlq'), topic, progress, {
      dryRun,
      ...(group ? { group } : {}),
      onLetter: (letter) => c.out(`${dryRun ? 'would send' : 'sending'} ${letterLine(letter)}`),
    })
    c.out(
      dryRun
        ? `${sent} dead letter(s) would be sent back`
        : `${sent} dead letter(s) sent back to their topics`,
    )
    return 0
  },
}

/**
 * `replay --from <beginning|ISO timestamp|offset> [--force]`: moves the consumer group back; the
 * inbox skips what it applied. With `consumer.inbox` configured, a move below the horizon its
 * pruner reached is refused (nothing moves) unless --force, which says what may be applied again.
 */
export const replayCommand: Command = async (c) => {
  const { values } = flagsOf(c.args, { from: { type: 'string' }, force: { type: 'boolean' } })
  if (!values.from) throw new UsageError('--from is required: beginning, an ISO timestamp, or an offset')
  const from = parseReplayFrom(values.from)
  const { group, inbox, inboxHorizon } = c.config.consumer
  const force = values.force ?? false
  let horizon: Awaited<ReturnType<typeof readInboxHorizon>> | undefined
  if (inbox)
    try {
      horizon = await horizonOf(c, inbox, inboxHorizon ?? defaultHorizonOf(inbox))
    } catch (error) {
      // Without the horizon nothing tells a safe move from one below it: refused, unless forced.
      if (!force)
        throw new ReplayRefused(
          `cannot read the inbox's horizon, so cannot tell whether the replay would apply pruned events again: ${(error as Error).message}. Replay once the database answers, or add --force`,
        )
      c.err(
        `warning: the inbox's horizon could not be read (${(error as Error).message}); replaying without it`,
      )
    }
  const { moved, belowHorizon } = await replayGroup(kafkaOf(c, 'replay'), group, namespaceOf(c), from, {
    ...(horizon ? { horizon } : {}),
    force,
  })
  for (const m of moved) c.out(`${m.topic}[${m.partition}] → offset ${m.offset}`)
  for (const b of belowHorizon)
    c.err(
      `warning: ${b.topic}[${b.partition}] moved to ${b.offset}, below the inbox's horizon ${b.belowOffset} (pruned up to ${b.prunedBefore}): events there whose rows were pruned will be applied again`,
    )
  c.out(`group ${group} will re-read from there; the inbox skips what it already applied`)
  return 0
}

async function horizonOf(c: CliContext, inbox: OutboxTableName, horizon: OutboxTableName) {
  const sql = connectPostgres(c.config.postgres.url, { max: 1, onnotice: () => {}, connect_timeout: 10 })
  try {
    return await readInboxHorizon(sql, inbox, horizon)
  } finally {
    await sql.end()
  }
}

/** The prefix of the group `events tail` reads through while it runs (deleted when it stops). */
export const eventsTailGroupPrefix = 'outbox-cdc-events-tail-'

const eventLines = (e: TailedEvent) =>
  `${e.at}  ${e.topic}[${e.partition}]@${e.offset}  key=${e.key ?? '-'}  ${e.eventType ?? '?'}  ${e.eventId ?? '?'}\n` +
  JSON.stringify(e.payload, null, 2)

/**
 * `events tail`: prints the events of every event topic as they arrive (with --from-beginning,
 * every one still kept first), filtered by exact type and key, until Ctrl-C; then deletes the
 * consumer group it read through.
 */
export const eventsTailCommand: Command = async (c) => {
  const { values } = flagsOf(c.args, {
    'from-beginning': { type: 'boolean' },
    type: { type: 'string' },
    key: { type: 'string' },
    json: { type: 'boolean' },
  })
  const namespace = namespaceOf(c)
  const filter = { type: values.type, key: values.key }
  let shown = 0
  const tail = startEventTail({
    kafka: kafkaOf(c, 'events-tail'),
    namespace,
    fromBeginning: values['from-beginning'] ?? false,
    groupPrefix: eventsTailGroupPrefix,
    onEvent: (event) => {
      if (!matchesFilter(event, filter)) return
      shown += 1
      c.out(values.json ? JSON.stringify(event) : eventLines(event))
    },
    onError: (error) => c.err(`Kafka: ${(error as Error).message} (trying again)`),
    onTopics: (topics) => {
      if (values.json) return
      c.err(
        topics.length > 0
          ? `reading ${topics.join(', ')}`
          : `no ${namespace}.* topic yet: waiting for one (it is read from its first event)`,
      )
    },
  })
  if (!values.json)
    c.err(
      `Following ${namespace}.* ${values['from-beginning'] ? 'from the beginning' : 'from now on'}; Ctrl-C stops.`,
    )
  await c.untilStopped()
  await tail.stop()
  if (!values.json) c.err(`\n${shown} event(s) shown; no consumer group left behind.`)
  return 0
}
