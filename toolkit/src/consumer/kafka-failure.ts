import kafkajs from 'kafkajs'

/**
 * True for an error raised by a kafkajs call (heartbeat, commit, send): every kafkajs error is a
 * KafkaJSError and is named `KafkaJS…`; the name also catches one thrown by a second copy of the
 * library, where `instanceof` fails. Such an error says the Kafka side failed — a rebalance, a
 * coordinator that moved, a broker that timed out — and never that the event is bad, so it must
 * not decide between retrying and dead-lettering the record in hand.
 * (kafkajs builds its exports by spreading, which Node cannot name from ESM: hence the default import.)
 */
export function isKafkaFailure(error: unknown): error is Error {
  return error instanceof kafkajs.KafkaJSError || (error instanceof Error && error.name.startsWith('KafkaJS'))
}

/** The protocol error type (`REBALANCE_IN_PROGRESS`, `NOT_COORDINATOR_FOR_GROUP`, …) of a kafkajs error, if it has one. */
export function kafkaErrorType(error: unknown): string | undefined {
  const type = isKafkaFailure(error) ? (error as { type?: unknown }).type : undefined
  return typeof type === 'string' ? type : undefined
}
