import { openDatabase } from '../db/client.ts'
import { createLogger } from '../lib/logger.ts'
import { withLocalStackDefaults } from '../stack/local-env.ts'
import { buildApp } from './app.ts'
import { loadApiConfig } from './config.ts'

/** How long SIGINT/SIGTERM waits for requests in flight before exiting anyway (as the consumer). */
const shutdownTimeoutMs = 15_000

/**
 * The API process: refuses to start on bad config, drains requests on SIGINT/SIGTERM and exits
 * with 1 when that takes longer than `shutdownTimeoutMs`.
 */
async function main() {
  const config = loadApiConfig(withLocalStackDefaults())
  const log = createLogger('api', config.LOG_LEVEL)
  const database = openDatabase(config.DATABASE_URL, {
    max: config.DB_POOL_MAX,
    applicationName: 'outbox-cdc-api',
  })
  const app = await buildApp({
    db: database.db,
    logger: log,
    bodyLimitBytes: config.API_BODY_LIMIT_BYTES,
    idempotency: {
      keyTtlHours: config.IDEMPOTENCY_KEY_TTL_HOURS,
      cleanupIntervalMs: config.IDEMPOTENCY_CLEANUP_INTERVAL_S * 1000,
    },
  })

  let closing = false
  const shutdown = async (signal: string) => {
    if (closing) return
    closing = true
    log.info({ signal, shutdownTimeoutMs }, 'shutting down: finishing requests in flight')
    // A request or a pool that never finishes must not keep a stopped API alive forever.
    const forced = setTimeout(() => {
      log.error({ shutdownTimeoutMs }, 'shutdown timed out: exiting with requests still open')
      process.exit(1)
    }, shutdownTimeoutMs)
    forced.unref()
    await app.close()
    await database.close()
    process.exit(0)
  }
  process.on('SIGINT', () => void shutdown('SIGINT'))
  process.on('SIGTERM', () => void shutdown('SIGTERM'))

  await app.listen({ host: config.API_HOST, port: config.API_PORT })
}

main().catch((error: unknown) => {
  console.error(error instanceof Error && 'code' in error ? `${error.code}: ${error.message}` : error)
  process.exit(1)
})
