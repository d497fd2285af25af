import { createInterface } from 'node:readline'
import { createKafka } from 'outbox-cdc'
import postgres from 'postgres'
import { z } from 'zod'
import { parseEnv } from '../../lib/config.ts'
import { runService } from '../../lib/run-service.ts'
import { PollingRelay } from './polling-relay.ts'

/**
 * The polling relay as a process of its own, as it would run beside a service: the bench starts
 * it (relay-child.ts), reads `ready` on stdout once its producer is connected, writes `go` on
 * its stdin to make it poll (so a backlog is timed from then, not from a process start), and
 * stops it with SIGTERM; it then prints `{"published":n}`. Its CPU is the `relay` component.
 */
const relayEnvSchema = z.object({
  RELAY_DATABASE_URL: z.string().min(1),
  RELAY_KAFKA_BROKERS: z.string().min(1),
  RELAY_INTERVAL_MS: z.coerce.number().int().min(1).max(60_000),
  RELAY_BATCH_SIZE: z.coerce.number().int().min(1).max(100_000),
  RELAY_NAMESPACE: z.string().min(1),
})

runService(
  async () => {
    const env = parseEnv(relayEnvSchema, process.env, 'relay')
    const sql = postgres(env.RELAY_DATABASE_URL, { max: 1, onnotice: () => {} })
    const kafka = createKafka({ brokers: env.RELAY_KAFKA_BROKERS.split(','), clientId: 'bench-relay' })
    const relay = new PollingRelay(sql, kafka, {
      intervalMs: env.RELAY_INTERVAL_MS,
      batchSize: env.RELAY_BATCH_SIZE,
      namespace: env.RELAY_NAMESPACE,
    })
    return {
      async start() {
        await relay.connect()
        process.stdout.write('ready\n')
        const input = createInterface({ input: process.stdin })
        input.on('line', (line) => {
          if (line === 'go') relay.begin()
        })
      },
      async stop() {
        await relay.stop()
        await sql.end({ timeout: 5 })
        process.stdout.write(`${JSON.stringify({ published: relay.published })}\n`)
      },
    }
  },
  // Generous: a stop only waits for the relay's batch in hand and the pool's close (5 s).
  { stopTimeoutMs: 30_000 },
)
