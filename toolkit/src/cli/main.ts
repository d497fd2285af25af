#!/usr/bin/env node
import { loadCliConfig } from './config.ts'
import { processIo, runMain, runOutboxCli, usage } from './run.ts'

/**
 * The `outbox-cdc` command: `outbox-cdc [--config <file>] <command> [arguments]`. The config file
 * names the service's Postgres, Kafka, Connect and connector; OUTBOX_CDC_DATABASE_URL,
 * OUTBOX_CDC_DATABASE_ADMIN_URL, OUTBOX_CDC_KAFKA_BROKERS and OUTBOX_CDC_CONNECT_URL override its
 * addresses, so passwords can stay out of the file.
 */
runMain(async () => {
  const argv = process.argv.slice(2)
  let file: string | undefined
  const at = argv.findIndex((arg) => arg === '--config' || arg.startsWith('--config='))
  if (at >= 0) {
    const arg = argv[at] as string
    file = arg.includes('=') ? arg.slice('--config='.length) : argv[at + 1]
    argv.splice(at, arg.includes('=') ? 1 : 2)
    if (!file) {
      console.error(`--config needs a file\n${usage()}`)
      return 2
    }
  }
  if (argv.length === 0 || argv[0] === '--help' || argv[0] === 'help') {
    console.log(`outbox-cdc [--config <file>] <command>\n${usage()}`)
    return argv.length === 0 ? 2 : 0
  }
  return runOutboxCli(argv, await loadCliConfig(file), processIo())
})
