import { join } from 'node:path'
import { setTimeout as delay } from 'node:timers/promises'
import { request } from 'undici'
import { loadConnectorConfig } from '../connector/config.ts'
import { provisionConnector } from '../connector/provision.ts'
import { consoleUrl, loadConsoleConfig } from '../console/config.ts'
import { consoleTokenSecret, consoleUrlWithToken } from '../console/start-console.ts'
import { migrateDatabase } from '../db/migrate.ts'
import { createConnectClient } from '../lib/connect-client.ts'
import { createKafka, parseBrokers } from '../lib/kafka.ts'
import { createSupervisor, tsxArgs } from '../lib/supervisor.ts'
import type { ComponentName } from '../stack/lib/component.ts'
import { loadStackConfig, repoRoot } from '../stack/lib/config.ts'
import { consoleReporter } from '../stack/lib/report.ts'
import { ensureSecret } from '../stack/lib/secrets.ts'
import { stackUp, stopComponents } from '../stack/lib/stack.ts'
import { withLocalStackDefaults } from '../stack/local-env.ts'
import { runCli } from './cli.ts'
import { curlExamples } from './curl-examples.ts'

/**
 * `npm start`: the whole pipeline from a fresh clone. Brings up the stack, migrates, registers
 * the connector, runs the API and the consumer, and on Ctrl-C stops everything it started
 * (a stack that was already running before is left running).
 */
runCli(async () => {
  const stackConfig = loadStackConfig()
  const reporter = consoleReporter()
  const { outcomes } = await stackUp(stackConfig, reporter)
  const env = withLocalStackDefaults()
  const connectorEnv = loadConnectorConfig(env)

  await reporter.step('migrate the database', () => migrateDatabase(connectorEnv.DATABASE_URL))
  await reporter.step(`register connector ${connectorEnv.CONNECTOR_NAME}`, async () => {
    const admin = createKafka({
      brokers: parseBrokers(connectorEnv.KAFKA_BROKERS),
      clientId: 'outbox-cdc-start',
    }).admin()
    await admin.connect()
    await provisionConnector(
      admin,
      createConnectClient(connectorEnv.CONNECT_URL),
      connectorEnv,
      reporter.info,
    ).finally(() => admin.disconnect())
  })

  const apiPort = env.API_PORT ?? '3000'
  const childEnv = { ...process.env, ...env, API_PORT: apiPort } as NodeJS.ProcessEnv
  const consoleConfig = loadConsoleConfig(childEnv)
  // Generated into the stack's secrets on first start (the console reads the same file).
  const consoleToken = consoleConfig.CONSOLE_TOKEN ?? ensureSecret(stackConfig.secretsDir, consoleTokenSecret)
  const entries = {
    api: 'api/server.ts',
    consumer: 'consumer/main.ts',
    fulfilment: 'fulfilment/main.ts',
    console: 'console/main.ts',
  } as const
  // The supervisor the services expect: the consumer exits 1 on purpose when it cannot go on
  // (uncommitted, to resume after a restart). A service that keeps dying is given up on.
  const maxRestarts = 5
  const services = createSupervisor({
    cwd: repoRoot,
    policy: { initialDelayMs: 1000, maxDelayMs: 30_000, healthyAfterMs: 60_000, maxRestarts },
    // Prefixed lines, so the two services' output interleaves readably.
    output: { line: (name, line) => console.log(`[${name}] ${line}`) },
    onExit: (name, { code, signal, restart, delayMs }) => {
      const how = signal ?? `code ${code}`
      if (delayMs === undefined) {
        console.error(`${name} exited (${how}) ${restart} times in a row; stopping everything.`)
        void stopAll(1)
      } else {
        console.error(
          `${name} exited (${how}); restarting it in ${delayMs / 1000} s (restart ${restart} of ${maxRestarts})`,
        )
      }
    },
  })

  let stopping = false
  const stopAll = async (code: number) => {
    if (stopping) return
    stopping = true
    console.log('\nStopping the API, the consumer, fulfilment and the console …')
    await services.stop('SIGTERM')
    // Every node and worker it started, not only the first of each.
    const startedHere = (Object.keys(outcomes) as ComponentName[]).filter(
      (name) => outcomes[name] === 'started',
    )
    if (startedHere.length > 0) console.log(`Stopping ${startedHere.join(', ')} …`)
    await stopComponents(stackConfig, startedHere)
    process.exit(code)
  }
  process.on('SIGINT', () => void stopAll(0))
  process.on('SIGTERM', () => void stopAll(0))
  for (const [name, entry] of Object.entries(entries)) {
    services.start(name, { args: tsxArgs(join(repoRoot, entry)), env: childEnv })
  }

  const apiUrl = `http://127.0.0.1:${apiPort}`
  await reporter.step('wait for the API', async () => {
    for (;;) {
      const ok = await request(`${apiUrl}/health`)
        .then(async (r) => {
          await r.body.dump()
          return r.statusCode === 200
        })
        .catch(() => false)
      if (ok || stopping) return
      await delay(200)
    }
  })
  const consoleAddress = consoleUrl(consoleConfig, consoleConfig.CONSOLE_PORT)
  console.log(`\nThe pipeline is running. API docs: ${apiUrl}/docs\nTry:\n${curlExamples(apiUrl)}`)
  // The token is in the fragment, which the browser never sends: it stays out of request logs.
  console.log(
    `\nOps console: ${consoleUrlWithToken(consoleAddress, consoleToken)}\n(read-only without the #token part)`,
  )
  console.log(
    '\n`npm run smoke` checks a book and an order end to end. Ctrl-C stops everything started here.',
  )
  await new Promise(() => {})
  return 0
})
