import { type DoctorTargets, redriveGroupOf } from 'outbox-cdc'
import { z } from 'zod'
import { type ConnectorEnv, loadConnectorConfig } from '../connector/config.ts'
import { npmCommands, stackStatusHint } from '../lib/commands.ts'
import { consumerGroup, inboxRetention, parseEnv, postgresUrl } from '../lib/config.ts'
import { deadLetterTopic } from '../lib/events.ts'

const doctorEnv = z.object({
  DATABASE_ADMIN_URL: postgresUrl.optional(),
  CONSUMER_GROUP: consumerGroup,
  /** The fulfilment service's group; empty: fulfilment is not part of this pipeline, not checked. */
  FULFILMENT_GROUP: z.union([z.literal(''), consumerGroup]).default('outbox-cdc-fulfilment'),
  DOCTOR_MAX_SLOT_RETAINED_BYTES: z.coerce
    .number()
    .int()
    .min(0)
    .default(512 * 1024 * 1024),
  DOCTOR_MAX_CONSUMER_LAG: z.coerce.number().int().min(0).default(10_000),
  DOCTOR_STALE_AFTER_S: z.coerce.number().int().min(1).default(60),
  /** The consumers' INBOX_RETENTION, which the inbox findings hold the topics' retention to. */
  INBOX_RETENTION: inboxRetention,
})

/** The bookstore's pipeline: its two consumer groups, which its own checks (freshness, saga) read. */
export interface BookstoreTargets extends DoctorTargets {
  consumerGroup: string
  /** The fulfilment service's group, whose lag over the order topic is checked too; none: not checked. */
  fulfilmentGroup?: string
  /** INBOX_RETENTION in ms, null when off: both inboxes are reported against it. */
  inboxRetentionMs?: number | null
}

/** A group's inbox for the doctor to report on, when the retention it is held to is known. */
const inboxOf = (table: string, retentionMs: number | null | undefined) =>
  retentionMs === undefined ? {} : { inbox: { table, retentionMs } }

/** What the toolkit's checks need, derived from the bookstore's names: its groups, tables and commands. */
export function bookstoreTargets(
  t: Omit<BookstoreTargets, 'consumers' | 'deadLetters' | 'outboxTables'> &
    Partial<Pick<BookstoreTargets, 'outboxTables'>>,
): BookstoreTargets {
  return {
    outboxTables: ['public.outbox'],
    commands: npmCommands,
    reachHint: stackStatusHint,
    ...t,
    consumers: [
      {
        group: t.consumerGroup,
        check: 'consumer.group',
        start: 'start the consumer (npm run consumer, or npm start)',
        ...inboxOf('consumed_events', t.inboxRetentionMs),
      },
      ...(t.fulfilmentGroup
        ? [
            {
              group: t.fulfilmentGroup,
              topics: [`${t.namespace}.order`],
              check: 'fulfilment.group',
              start: 'start fulfilment (npm run fulfilment, or npm start)',
              ...inboxOf('fulfilment_inbox', t.inboxRetentionMs),
            },
          ]
        : []),
    ],
    deadLetters: { topic: deadLetterTopic(t.namespace), redriveGroup: redriveGroupOf(t.consumerGroup) },
  }
}

/** What the doctor reads, parsed once: by `npm run doctor` and by the console, the same way. */
export interface DoctorSetup {
  connector: ConnectorEnv
  targets: BookstoreTargets
  /**
   * The application database, reached as the admin role when DATABASE_ADMIN_URL is set (it may
   * read pg_replication_slots fully), else as the application's own role.
   */
  databaseUrl: string
}

export function loadDoctorSetup(env: Record<string, string | undefined>): DoctorSetup {
  const connector = loadConnectorConfig(env)
  const own = parseEnv(doctorEnv, env, 'doctor')
  // The admin URL is the application database's server; read the application database with it.
  const url = new URL(own.DATABASE_ADMIN_URL ?? connector.DATABASE_URL)
  url.pathname = new URL(connector.DATABASE_URL).pathname
  return {
    connector,
    databaseUrl: url.toString(),
    targets: bookstoreTargets({
      connectorName: connector.CONNECTOR_NAME,
      slotName: connector.CONNECTOR_SLOT_NAME,
      publication: connector.CONNECTOR_PUBLICATION,
      namespace: connector.TOPIC_NAMESPACE,
      consumerGroup: own.CONSUMER_GROUP,
      ...(own.FULFILMENT_GROUP ? { fulfilmentGroup: own.FULFILMENT_GROUP } : {}),
      maxSlotRetainedBytes: own.DOCTOR_MAX_SLOT_RETAINED_BYTES,
      maxConsumerLag: own.DOCTOR_MAX_CONSUMER_LAG,
      staleAfterS: own.DOCTOR_STALE_AFTER_S,
      inboxRetentionMs: own.INBOX_RETENTION,
    }),
  }
}
