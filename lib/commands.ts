import type { CommandNamer } from 'outbox-cdc'

/**
 * The toolkit's operations as this repo's npm scripts run them, so every hint the doctor, the
 * console and the slot tools print names a command that exists here: `npm run slots:drop -- x`.
 */
export const npmCommands: CommandNamer = (operation, args) => {
  if (operation === 'migrate') return 'run npm run db:migrate'
  if (operation === 'start consumer') return `start the consumer of group ${args ?? '?'} (npm start)`
  if (operation === 'start writer') return 'start the API: npm run api (or npm start)'
  const script = `npm run ${operation === 'replay' ? 'consumer:replay' : operation.replace(' ', ':')}`
  return args ? `${script} -- ${args}` : script
}

/** Said after "is Postgres up?" and the like. */
export const stackStatusHint = 'npm run stack:status'
