import { outboxSlot } from '../lib/replication.ts'
import { loadStackConfig } from '../stack/lib/config.ts'
import { failover } from '../stack/lib/failover.ts'
import { consoleReporter } from '../stack/lib/report.ts'
import { hasFlag, runCli } from './cli.ts'

/**
 * `npm run stack:failover [-- --force]`: the standby becomes the primary and the Postgres address
 * follows it, as an operator or Patroni would do it (stack/lib/failover.ts).
 */
runCli(async () => {
  const config = loadStackConfig()
  const outcome = await failover(
    config,
    { force: hasFlag('--force'), connectorSlot: process.env.CONNECTOR_SLOT_NAME ?? outboxSlot },
    consoleReporter(),
  )
  console.log(
    `${outcome.to} is the primary now, behind 127.0.0.1:${config.env.POSTGRES_PORT}; ${outcome.from} is retired. ` +
      `\`npm run stack:up\` makes ${outcome.from} a standby of ${outcome.to} again.`,
  )
  return 0
})
