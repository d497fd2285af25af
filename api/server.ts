import { openDatabase } from '../db/client.ts'
import { createLogger } from '../lib/logger.ts'
import { runService } from '../lib/run-service.ts'
import { withLocalStackDefaults } from '../stack/local-env.ts'
import { buildApp } from './app.ts'
import { loadApiConfig } from './config.ts'

/** How long SIGINT/SIGTERM waits for requests in flight before exiting anyway (as the consumer). */
const shutdownTimeoutMs = 15_000

/**
 * The API process: refuses to start on bad config, drains requests on SIGINT/SIGTERM and exits
 * with 1 when that takes longer than `shutdownTimeoutMs` (or on a second signal).
 */
runService(
  async () => {
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
      overload: {
        maxInFlight: config.API_MAX_IN_FLIGHT,
        maxEventLoopDelayMs: config.API_MAX_EVENT_LOOP_DELAY_MS,
        maxDatabaseLatencyMs: config.API_MAX_DB_LATENCY_MS,
        retryAfterS: config.API_RETRY_AFTER_S,
      },
      idempotency: {
        keyTtlHours: config.IDEMPOTENCY_KEY_TTL_HOURS,
        cleanupIntervalMs: config.IDEMPOTENCY_CLEANUP_INTERVAL_S * 1000,
      },
    })
    return {
      start: async () => {
        await app.listen({ host: config.API_HOST, port: config.API_PORT })
      },
      stop: async () => {
        await app.close()
        await database.close()
      },
      onSignal: (signal) =>
        log.info({ signal, shutdownTimeoutMs }, 'shutting down: finishing requests in flight'),
      onForcedExit: (why) =>
        log.error(
          { shutdownTimeoutMs, ...(why === 'timeout' ? {} : { signal: why }) },
          why === 'timeout'
            ? 'shutdown timed out: exiting with requests still open'
            : 'signalled again: exiting with requests still open',
        ),
    }
  },
  { stopTimeoutMs: shutdownTimeoutMs, forcedExitCode: 1 },
)
