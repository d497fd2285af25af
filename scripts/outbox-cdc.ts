import { processIo, runMain, runOutboxCli } from 'outbox-cdc'
import { bookstoreCliConfig } from '../lib/cli-config.ts'
import { withLocalStackDefaults } from '../stack/local-env.ts'

/**
 * The toolkit's CLI with the bookstore's config (from the environment, with the local stack's
 * defaults): every `npm run connector:*`, `slots:*`, `dlq:*`, `doctor`, `consumer:replay` and
 * `events:tail` is this, with the command's words.
 */
runMain(() => {
  const argv = process.argv.slice(2)
  return runOutboxCli(argv, bookstoreCliConfig(withLocalStackDefaults(), argv), processIo())
})
