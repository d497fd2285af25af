import { loadDoctorSetup } from '../doctor/config.ts'
import { createLogger } from '../lib/logger.ts'
import { loadStackConfig } from '../stack/lib/config.ts'
import { ensureSecret } from '../stack/lib/secrets.ts'
import { withLocalStackDefaults } from '../stack/local-env.ts'
import { loadConsoleConfig } from './config.ts'
import { consoleTokenSecret, startConsole } from './start-console.ts'

/** `npm run console`: the page on CONSOLE_HOST:CONSOLE_PORT until SIGINT/SIGTERM. */
async function main() {
  const env = withLocalStackDefaults()
  const config = loadConsoleConfig(env)
  const doctor = loadDoctorSetup(env)
  const token = config.CONSOLE_TOKEN ?? ensureSecret(loadStackConfig(env).secretsDir, consoleTokenSecret)
  const log = createLogger('console', config.LOG_LEVEL)
  const running = await startConsole({ config, doctor, token, log })
  // The URL without the token: this line may end up in a log. npm start prints the full one.
  log.info({ url: running.url }, 'console listening (actions need the token: see the README)')
  let closing = false
  const shutdown = async () => {
    if (closing) return
    closing = true
    const forced = setTimeout(() => process.exit(1), 10_000)
    forced.unref()
    await running.stop()
    process.exit(0)
  }
  process.on('SIGINT', () => void shutdown())
  process.on('SIGTERM', () => void shutdown())
}

main().catch((error: unknown) => {
  console.error(error instanceof Error && 'code' in error ? `${error.code}: ${error.message}` : error)
  process.exit(1)
})
