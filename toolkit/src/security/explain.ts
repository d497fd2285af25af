import { CodedError } from '../errors.ts'

export type ConnectionFailureCode =
  | 'KAFKA_AUTH_FAILED'
  | 'KAFKA_TLS_FAILED'
  | 'KAFKA_CONNECTION_CLOSED'
  | 'POSTGRES_TLS_FAILED'

/** A secured cluster that refused us, said in its terms: who refused what, and which setting to look at. */
export class ConnectionFailure extends CodedError<ConnectionFailureCode> {}

interface Failing {
  name?: string
  message?: string
  code?: string
  cause?: unknown
}

/** The error and its causes, outermost first (kafkajs wraps the one that counts). */
function chain(error: unknown): Failing[] {
  const links: Failing[] = []
  for (
    let e = error as Failing | undefined;
    e && typeof e === 'object' && links.length < 5;
    e = e.cause as Failing
  )
    links.push(e)
  return links
}

/** Node's codes for a certificate it does not trust or was not issued for, and a TLS handshake that failed. */
const tlsCode = /^(ERR_TLS_|ERR_SSL_|CERT_|UNABLE_TO_|SELF_SIGNED_|DEPTH_ZERO_|EPROTO$)/

export interface ExplainContext {
  brokers: string[]
  /** What the Kafka clients were given: whether they spoke TLS, and as whom. */
  kafkaTls: boolean
  saslUser?: string | undefined
}

/**
 * kafkajs's and Node's connection errors, which name neither the component nor the setting, made
 * into ones that do. Anything else comes back as it was. Messages carry no secret: only users,
 * addresses and what the server or the TLS layer said.
 */
export function explainConnectionError(error: unknown, context: ExplainContext): unknown {
  // One of ours already says what failed and where (a Connect TLS failure, a slot refusal).
  if (error instanceof CodedError) return error
  const links = chain(error)
  const kafka = links.some((e) => e.name?.startsWith('KafkaJS'))
  const where = context.brokers.join(',')
  const sasl = links.find((e) => e.name === 'KafkaJSSASLAuthenticationError')
  if (sasl)
    return new ConnectionFailure(
      'KAFKA_AUTH_FAILED',
      `Kafka at ${where} refused the SASL credentials of user ${context.saslUser ?? '(none)'}: ${sasl.message} (check kafka.sasl: the mechanism, the user and its password file or variable)`,
      { cause: error },
    )
  const tls = links.find((e) => e.code !== undefined && tlsCode.test(e.code))
  if (tls && kafka)
    return new ConnectionFailure(
      'KAFKA_TLS_FAILED',
      `TLS with Kafka at ${where} failed: ${tls.message?.replace(/^Connection error: /, '')} (${tls.code}; the brokers' CA goes in kafka.tls.caFile, a client certificate in certFile and keyFile)`,
      { cause: error },
    )
  if (tls)
    return new ConnectionFailure(
      'POSTGRES_TLS_FAILED',
      `TLS with Postgres failed: ${tls.message} (${tls.code}; the server's CA goes in sslrootcert, or postgres.tls.caFile)`,
      { cause: error },
    )
  const closed = links.find((e) => e.name === 'KafkaJSConnectionClosedError')
  if (closed)
    return new ConnectionFailure(
      'KAFKA_CONNECTION_CLOSED',
      context.kafkaTls
        ? `Kafka at ${where} closed every connection before answering: is this port a TLS listener?`
        : `Kafka at ${where} closed every connection before answering, as a TLS or SASL listener does to a plaintext client: set kafka.tls (a CA file, or true) and kafka.sasl`,
      { cause: error },
    )
  return error
}
