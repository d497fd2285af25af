import { KafkaJSConnectionError, KafkaJSNumberOfRetriesExceeded } from 'kafkajs'
import { describe, expect, it } from 'vitest'
import { explainConnectionError } from './explain.ts'

const context = { brokers: ['b-1:9096'], kafkaTls: true, saslUser: 'billing' }
// kafkajs's types leave these two out; their runtime classes differ from Error only by name.
const named = (name: string, message: string) => Object.assign(new Error(message), { name })
const retried = (e: Error) => new KafkaJSNumberOfRetriesExceeded(e, { retryCount: 5, retryTime: 1000 })

describe('connection errors, said in the terms of what refused', () => {
  it('names the user whose SASL credentials a broker refused', () => {
    const error = explainConnectionError(
      named('KafkaJSSASLAuthenticationError', 'SASL SCRAM SHA512 authentication failed: invalid credentials'),
      context,
    ) as Error & { code: string; retryable: boolean }
    expect(error.code).toBe('KAFKA_AUTH_FAILED')
    expect(error.message).toMatch(
      /Kafka at b-1:9096 refused the SASL credentials of user billing: .*invalid credentials/,
    )
    expect(error.retryable).toBe(false)
  })

  it('says TLS failed and where the CA goes, through kafkajs wrapping the TLS error', () => {
    const tls = Object.assign(
      new KafkaJSConnectionError('Connection error: unable to verify the first certificate'),
      {
        code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
      },
    )
    const error = explainConnectionError(retried(tls), context) as Error & { code: string }
    expect(error.code).toBe('KAFKA_TLS_FAILED')
    expect(error.message).toMatch(
      /TLS with Kafka at b-1:9096 failed: unable to verify the first certificate .*kafka\.tls\.caFile/,
    )
  })

  it('tells a plaintext client that the broker wants TLS or SASL, instead of "Closed connection"', () => {
    const closed = named('KafkaJSConnectionClosedError', 'Closed connection')
    const error = explainConnectionError(retried(closed), { ...context, kafkaTls: false }) as Error & {
      code: string
    }
    expect(error.code).toBe('KAFKA_CONNECTION_CLOSED')
    expect(error.message).toMatch(/as a TLS or SASL listener does to a plaintext client: set kafka\.tls/)
  })

  it("names Postgres for a TLS error that is not Kafka's, and leaves any other error as it was", () => {
    const tls = Object.assign(new Error('self-signed certificate in certificate chain'), {
      code: 'SELF_SIGNED_CERT_IN_CHAIN',
    })
    expect((explainConnectionError(tls, context) as Error).message).toMatch(
      /^TLS with Postgres failed: .*sslrootcert/,
    )
    const other = new Error('relation "outbox" does not exist')
    expect(explainConnectionError(other, context)).toBe(other)
  })
})
