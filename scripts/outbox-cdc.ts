import { processIo, runMain, runOutboxCli } from 'outbox-cdc'
import { bookstoreCliConfig } from '../lib/cli-config.ts'
import { prepareConsoleToken } from '../lib/console-config.ts'
import { withLocalStackDefaults } from '../stack/local-env.ts'

/**
 * The toolkit's CLI with the bookstore's config (from the environment, with the local stack's
 * defaults): every `npm run connector:*`, `slots:*`, `dlq:*`, `doctor`, `consumer:replay` and
 * `events:tail` and `console` is this, with the command's words.
 */
runMain(() => {
  const argv = process.argv.slice(2)
  const env = withLocalStackDefaults()
  if (argv[0] === 'console') prepareConsoleToken(env)
  return runOutboxCli(argv, bookstoreCliConfig(env, argv), processIo())
})
