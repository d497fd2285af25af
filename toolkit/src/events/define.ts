import { z } from 'zod'
import { EventContractError } from '../errors.ts'
import {
  aggregateNamePattern,
  deadLetterTopicOf,
  defaultNamespace,
  eventTypePattern,
  isAggregateName,
  isNamespace,
  topicOf,
} from './topics.ts'

/**
 * One event type, defined once: its aggregate (which names its topic), its payload schema, and
 * the aggregate id an event is keyed by (its Kafka key, so one aggregate's events keep their order).
 */
export interface EventDefinition<
  Type extends string = string,
  Aggregate extends string = string,
  Payload extends z.ZodType = z.ZodType,
> {
  readonly type: Type
  readonly aggregate: Aggregate
  readonly payload: Payload
  readonly aggregateId: (payload: z.output<Payload>) => string
}

export function defineEvent<
  const Type extends string,
  const Aggregate extends string,
  Payload extends z.ZodType,
>(definition: EventDefinition<Type, Aggregate, Payload>): EventDefinition<Type, Aggregate, Payload> {
  if (!eventTypePattern.test(definition.type)) {
    throw new EventContractError(
      'INVALID_EVENT_DEFINITION',
      `event type ${JSON.stringify(definition.type)} must match ${eventTypePattern}`,
    )
  }
  if (!isAggregateName(definition.aggregate)) {
    throw new EventContractError(
      'INVALID_EVENT_DEFINITION',
      `aggregate ${JSON.stringify(definition.aggregate)} of ${definition.type} must match ` +
        `${aggregateNamePattern} and not end in -dlq: it is the last part of a topic name`,
    )
  }
  return Object.freeze({ ...definition })
}

/** An event as an outbox row carries it; `id` becomes the Kafka `id` header and the inbox key. */
export interface OutboxEvent<Type extends string = string, Payload = unknown> {
  id: string
  aggregateType: string
  aggregateId: string
  eventType: Type
  payload: Payload
}

type Definitions = readonly EventDefinition<string, string, z.ZodType>[]

/** The event types of a registry. */
export type EventTypeOf<C extends EventRegistry> = C['types'][number]

/** The payload of event type `T` of registry `C`, as handlers receive it. */
export type PayloadOf<C extends EventRegistry, T extends EventTypeOf<C>> = z.output<
  Extract<C['definitions'][number], { type: T }>['payload']
>

/** An event of registry `C`, of any of its types (a union, narrowed by `eventType`). */
export type EventOf<C extends EventRegistry, T extends EventTypeOf<C> = EventTypeOf<C>> = {
  [K in T]: OutboxEvent<K, PayloadOf<C, K>>
}[T]

export interface EventRegistry<Defs extends Definitions = Definitions> {
  /** Topics are `<namespace>.<aggregate>`; dead letters go to `<namespace>-dlq`. */
  readonly namespace: string
  readonly definitions: Defs
  readonly types: ReadonlyArray<Defs[number]['type']>
  readonly aggregates: ReadonlyArray<Defs[number]['aggregate']>
  /** Every event topic, one per aggregate. */
  readonly topics: readonly string[]
  readonly deadLetterTopic: string
  topicOf(aggregate: Defs[number]['aggregate']): string
  isEventType(value: string): value is Defs[number]['type']
  definitionOf<T extends Defs[number]['type']>(type: T): Extract<Defs[number], { type: T }>
  /**
   * A new event of `type`: the payload is checked against its schema (what is appended is what the
   * schema outputs), the aggregate id taken from it, and a fresh random id given unless passed.
   */
  create<T extends Defs[number]['type']>(
    type: T,
    payload: z.input<Extract<Defs[number], { type: T }>['payload']>,
    options?: { id?: string },
  ): OutboxEvent<T, z.output<Extract<Defs[number], { type: T }>['payload']>>
  /** A received payload checked against its type's schema; INVALID_PAYLOAD or UNKNOWN_EVENT_TYPE if it is not one. */
  parsePayload<T extends Defs[number]['type']>(
    type: T,
    payload: unknown,
  ): z.output<Extract<Defs[number], { type: T }>['payload']>
  /** Each type's payload as JSON Schema (draft 2020-12), as it travels (the schema's output). */
  jsonSchemas(): Record<Defs[number]['type'], Record<string, unknown>>
}

/** The registry of a service's events: every name and schema the rest of the toolkit needs. */
export function defineEvents<const Defs extends Definitions>(
  definitions: Defs,
  options: { namespace?: string } = {},
): EventRegistry<Defs> {
  const namespace = options.namespace ?? defaultNamespace
  if (!isNamespace(namespace)) {
    throw new EventContractError(
      'INVALID_EVENT_DEFINITION',
      `namespace ${JSON.stringify(namespace)} must be a topic-name prefix ([A-Za-z0-9._-], no leading or trailing '.')`,
    )
  }
  const byType = new Map<string, Defs[number]>()
  for (const definition of definitions) {
    if (byType.has(definition.type)) {
      throw new EventContractError(
        'INVALID_EVENT_DEFINITION',
        `event type ${definition.type} is defined twice`,
      )
    }
    byType.set(definition.type, definition)
  }
  const aggregates = [...new Set(definitions.map((d) => d.aggregate))]
  type Type = Defs[number]['type']

  const definitionOf = (type: string) => {
    const definition = byType.get(type)
    if (!definition) {
      throw new EventContractError(
        'UNKNOWN_EVENT_TYPE',
        `unknown event type ${JSON.stringify(type)}; this registry has ${[...byType.keys()].join(', ')}`,
      )
    }
    return definition
  }
  const parsePayload = (type: string, payload: unknown) => {
    const result = definitionOf(type).payload.safeParse(payload)
    if (!result.success) {
      throw new EventContractError(
        'INVALID_PAYLOAD',
        `payload does not match ${type}: ${z.prettifyError(result.error).replaceAll('\n', '; ')}`,
      )
    }
    return result.data
  }

  /**
   * The payload as consumers will receive it: through JSON, then parsed by the same schema. A
   * schema whose output is not its own input (z.date(), transforms) or not JSON (bigint) would
   * append events that every consumer dead-letters: refused here, at the writer.
   */
  const travelled = (type: string, parsed: unknown) => {
    let received: unknown
    try {
      received = JSON.parse(JSON.stringify(parsed) ?? 'undefined')
    } catch (cause) {
      throw new EventContractError('INVALID_PAYLOAD', `payload of ${type} does not survive JSON`, { cause })
    }
    const again = definitionOf(type).payload.safeParse(received)
    if (!again.success) {
      throw new EventContractError(
        'INVALID_PAYLOAD',
        `payload of ${type} does not survive JSON: its schema refuses what it sent ` +
          `(${z.prettifyError(again.error).replaceAll('\n', '; ')}); keep payload schemas to JSON types, ` +
          'without transforms (z.iso.datetime() rather than z.date())',
      )
    }
    return received
  }

  return Object.freeze({
    namespace,
    definitions,
    types: definitions.map((d) => d.type),
    aggregates,
    topics: aggregates.map((aggregate) => topicOf(namespace, aggregate)),
    deadLetterTopic: deadLetterTopicOf(namespace),
    topicOf: (aggregate: string) => topicOf(namespace, aggregate),
    isEventType: (value: string): value is Type => byType.has(value),
    definitionOf: definitionOf as EventRegistry<Defs>['definitionOf'],
    create: ((type: string, payload: unknown, createOptions: { id?: string } = {}) => {
      const definition = definitionOf(type)
      const parsed = travelled(type, parsePayload(type, payload))
      return {
        id: createOptions.id ?? crypto.randomUUID(),
        aggregateType: definition.aggregate,
        aggregateId: definition.aggregateId(parsed),
        eventType: type,
        payload: parsed,
      }
    }) as EventRegistry<Defs>['create'],
    parsePayload: parsePayload as EventRegistry<Defs>['parsePayload'],
    jsonSchemas: () =>
      Object.fromEntries(
        definitions.map((d) => [d.type, z.toJSONSchema(d.payload, { io: 'output', unrepresentable: 'any' })]),
      ) as unknown as Record<Type, Record<string, unknown>>,
  })
}
