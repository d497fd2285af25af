/**
 * Names shared by the database setup, the migrations and the connector. The migration that
 * grants the replication role SELECT on the outbox spells `outbox_cdc` too; change both together.
 */
export const replicationRole = 'outbox_cdc'
export const outboxPublication = 'outbox_publication'
export const outboxSlot = 'outbox_slot'

/** The properties file (under the local stack's secrets) that Connect's file provider reads. */
export const connectorSecretsFile = 'connector.properties'
export const connectorPasswordKey = 'database.password'

/**
 * The table the connector's heartbeat rewrites (migration 0003 puts it in the publication). Its
 * inserts reach the slot but are no events: the connector's Filter drops them before Kafka.
 */
export const heartbeatTable = 'public.outbox_heartbeat'
