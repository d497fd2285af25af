import { redactUrl } from 'outbox-cdc'
import { loadStackConfig } from '../stack/lib/config.ts'
import { consoleReporter, formatDuration } from '../stack/lib/report.ts'
import { stackComponents, stackUp } from '../stack/lib/stack.ts'
import { runCli } from './cli.ts'

runCli(async () => {
  const started = performance.now()
  const config = loadStackConfig()
  const reporter = consoleReporter()
  console.log(`Local stack in ${config.stackDir}`)
  const { info, outcomes } = await stackUp(config, reporter)

  const summary = stackComponents(config).map((name) =>
    outcomes[name] === 'already-running'
      ? `${name}: already running, left as it was`
      : `${name}: ${outcomes[name] ?? 'external'}`,
  )
  console.log(`\nStack is up (${formatDuration(performance.now() - started)}):`)
  for (const line of summary) console.log(`  ${line}`)
  console.log(`  postgres  ${redactUrl(info.postgres.url)}`)
  console.log(`  kafka     ${info.kafka.brokers.join(',')}`)
  console.log(`  connect   ${info.connect.workers.join(',')}`)
  console.log(
    `Passwords are in ${config.secretsDir}; \`npm run stack:status\` checks health, \`npm run stack:down\` stops it.`,
  )
  return 0
})
