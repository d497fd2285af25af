import { join } from 'node:path'
import {
  consoleUrl,
  consoleUrlWithToken,
  createConnectClient,
  createKafka,
  parseBrokers,
  provisionConnector,
} from 'outbox-cdc'
import { request } from 'undici'
import { loadConnectorConfig, provisionOptionsOf } from '../connector/config.ts'
import { migrateDatabase } from '../db/migrate.ts'
import { connectSecurityOfEnv, kafkaSecurityOfEnv } from '../lib/config.ts'
import { loadConsoleConfig, prepareConsoleToken } from '../lib/console-config.ts'
import { describeFailure } from '../lib/run-service.ts'
import { createSupervisor, tsxArgs } from '../lib/supervisor.ts'
import { waitUntil } from '../lib/wait-until.ts'
import type { ComponentName } from '../stack/lib/component.ts'
import { loadStackConfig, repoRoot } from '../stack/lib/config.ts'
import { consoleReporter } from '../stack/lib/report.ts'
import { componentsOwnedBy, stackUp, stopComponents } from '../stack/lib/stack.ts'
import { withLocalStackDefaults } from '../stack/local-env.ts'
import { runCli } from './cli.ts'
import { curlExamples } from './curl-examples.ts'

/**
 * `npm start`: the whole pipeline from a fresh clone. Brings up the stack, migrates, registers
 * the connector, runs the API, the consumer, fulfilment and the console. On every way out (Ctrl-C
 * at any step, a step that fails, a service given up on) it stops what it started; a stack that
 * was already running is left running. What an earlier `npm start` left behind because it was
 * killed outright (kill -9, a closed terminal) is taken over and stopped with the rest.
 */
runCli(async () => {
  const stackConfig = loadStackConfig()
  const reporter = consoleReporter()
  const owner = { pid: process.pid, marker: 'scripts/start.ts' }
  let services: ReturnType<typeof createSupervisor> | undefined

  let stopping = false
  const stopAll = async (code: number) => {
    if (stopping) return
    stopping = true
    if (services) {
      console.log('\nStopping the API, the consumer, fulfilment and the console …')
      await services.stop('SIGTERM')
    }
    // Every node and worker this run started or took over, however far it got: a component
    // still starting is stopped too (its record is written before the wait).
    const owned = componentsOwnedBy(stackConfig, owner.pid)
    if (owned.length > 0) console.log(`Stopping ${owned.join(', ')} …`)
    await stopComponents(stackConfig, owned)
    process.exit(code)
  }
  // Installed before anything starts: Ctrl-C during a first run's minute-long steps stops it all.
  process.on('SIGINT', () => void stopAll(0))
  process.on('SIGTERM', () => void stopAll(0))

  try {
    await run()
  } catch (error) {
    // Interrupted: the stop in progress exits; its error (a process it killed) is no news.
    if (stopping) return new Promise<never>(() => {})
    // A coded error as one line after a blank one (the steps' output stands above it).
    const failure = describeFailure(error)
    console.error(failure === error ? error : `\n${failure}`)
    await stopAll(1)
  }
  return 0

  async function run() {
    const { outcomes } = await stackUp(stackConfig, reporter, owner)
    const adopted = (Object.keys(outcomes) as ComponentName[]).filter((n) => outcomes[n] === 'adopted')
    if (adopted.length > 0)
      reporter.info(
        `${adopted.join(', ')} were left running by an earlier npm start that did not stop them; this one stops them when it stops.`,
      )
    const env = withLocalStackDefaults()
    const connectorEnv = loadConnectorConfig(env)

    await reporter.step('migrate the database', () => migrateDatabase(connectorEnv.DATABASE_URL))
    await reporter.step(`register connector ${connectorEnv.CONNECTOR_NAME}`, async () => {
      const admin = createKafka({
        brokers: parseBrokers(connectorEnv.KAFKA_BROKERS),
        clientId: 'outbox-cdc-start',
        security: kafkaSecurityOfEnv(env),
      }).admin()
      await admin.connect()
      await provisionConnector(
        admin,
        createConnectClient(connectorEnv.CONNECT_URL, 10_000, { security: connectSecurityOfEnv(env) }),
        provisionOptionsOf(connectorEnv),
        reporter.info,
      ).finally(() => admin.disconnect())
    })

    const apiPort = env.API_PORT ?? '3000'
    const childEnv = { ...process.env, ...env, API_PORT: apiPort } as NodeJS.ProcessEnv
    const consoleConfig = loadConsoleConfig(childEnv)
    // Generated into the stack's secrets on first start (the console reads the same file).
    const consoleToken = prepareConsoleToken(childEnv)
    const entries = {
      api: ['api/server.ts'],
      consumer: ['consumer/main.ts'],
      fulfilment: ['fulfilment/main.ts'],
      console: ['scripts/outbox-cdc.ts', 'console'],
    } as const
    // The supervisor the services expect: the consumer exits 1 on purpose when it cannot go on
    // (uncommitted, to resume after a restart). A service that keeps dying is given up on.
    const maxRestarts = 5
    services = createSupervisor({
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

    for (const [name, [entry, ...args]] of Object.entries(entries)) {
      services?.start(name, { args: [...tsxArgs(join(repoRoot, entry)), ...args], env: childEnv })
    }

    const apiUrl = `http://127.0.0.1:${apiPort}`
    await reporter.step('wait for the API', () =>
      // No deadline: the supervisor gives up on an API that keeps dying, and Ctrl-C stops the wait.
      waitUntil(
        'the API to answer',
        async () =>
          stopping ||
          (await request(`${apiUrl}/health`)
            .then(async (r) => {
              await r.body.dump()
              return r.statusCode === 200
            })
            .catch(() => false)),
        { timeoutMs: Number.POSITIVE_INFINITY, intervalMs: 200 },
      ),
    )
    const consoleAddress = consoleUrl(consoleConfig.CONSOLE_HOST, consoleConfig.CONSOLE_PORT)
    console.log(`\nThe pipeline is running. API docs: ${apiUrl}/docs\nTry:\n${curlExamples(apiUrl)}`)
    // The token is in the fragment, which the browser never sends: it stays out of request logs.
    console.log(
      `\nOps console: ${consoleUrlWithToken(consoleAddress, consoleToken)}\n(read-only without the #token part)`,
    )
    console.log(
      '\n`npm run smoke` checks a book and an order end to end. Ctrl-C stops everything started here.',
    )
    await new Promise(() => {})
  }
})
