/**
 * Topic names. Debezium's EventRouter routes each event to `<namespace>.<aggregate>`; dead
 * letters go beside the namespace, not under it, so a `<namespace>.*` subscription never reads
 * them back.
 */

export const defaultNamespace = 'outbox.events'

export const topicOf = (namespace: string, aggregate: string) => `${namespace}.${aggregate}`

export const deadLetterTopicOf = (namespace: string) => `${namespace}-dlq`

/**
 * Whether `topic` is one of `namespace`'s event topics: what `<namespace>.*` means wherever topics
 * are listed. The rest after `<namespace>.` is one aggregate: no '.', so a nested namespace's
 * topics (`outbox.events.v2.invoice` under `outbox.events`) are not this one's, and no `-dlq` ending,
 * so neither is a nested namespace's dead-letter topic.
 */
export function isEventTopicOf(namespace: string, topic: string): boolean {
  const prefix = `${namespace}.`
  if (!topic.startsWith(prefix)) return false
  const aggregate = topic.slice(prefix.length)
  return aggregate.length > 0 && !aggregate.includes('.') && !aggregate.endsWith('-dlq')
}

/** An aggregate name that is a topic's last part on its own (see isEventTopicOf). */
export const aggregateNamePattern = /^[a-z0-9][a-z0-9_-]*$/

/** An event type: the Kafka `event_type` header and the key handlers are found by. */
export const eventTypePattern = /^[A-Za-z][A-Za-z0-9_.-]*$/

/** An aggregate that can be a topic's last part: the pattern, and no `-dlq` ending (dead letters' own). */
export const isAggregateName = (aggregate: string) =>
  aggregateNamePattern.test(aggregate) && !aggregate.endsWith('-dlq')

/** A namespace: a topic-name prefix, with no leading or trailing '.'. */
export const isNamespace = (namespace: string) =>
  /^[A-Za-z0-9._-]+$/.test(namespace) && !namespace.startsWith('.') && !namespace.endsWith('.')

/** Kafka's longest topic name. */
export const maxTopicNameLength = 249
