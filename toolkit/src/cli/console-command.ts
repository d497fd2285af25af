import { readFileSync } from 'node:fs'
import { consoleUrlWithToken, startConsole } from '../console/start-console.ts'
import { doctorChecks } from '../doctor/run-doctor.ts'
import { OptionsError } from '../errors.ts'
import { connectSecurityOf, kafkaSecurityOf } from './clients.ts'
import type { CliConfig } from './config.ts'
import { type Command, flagsOf } from './context.ts'
import { doctorDatabaseUrl, doctorTargetsOf } from './doctor-command.ts'
import { parkedTableOf } from './kafka-commands.ts'

/** The environment variable that holds the console's token (a secret: never in the config file). */
export const consoleTokenVariable = 'OUTBOX_CDC_CONSOLE_TOKEN'

/** The actions' token: the environment's, else the first line of `console.tokenFile`. */
export function consoleTokenOf(config: CliConfig, env: NodeJS.ProcessEnv = process.env): string {
  const file = config.console.tokenFile
  let token = env[consoleTokenVariable]
  if (!token && file) {
    try {
      token = readFileSync(file, 'utf8').split('\n')[0]?.trim()
    } catch (error) {
      throw new OptionsError(`console.tokenFile ${file} cannot be read: ${(error as Error).message}`)
    }
  }
  if (!token)
    throw new OptionsError(
      `the console's actions need a token: set ${consoleTokenVariable} or console.tokenFile`,
    )
  if (token.length < 32) throw new OptionsError('the console token must be at least 32 characters')
  return token
}

/** The console's options from the CLI's config: the same targets and checks as `doctor`. */
export function consoleOptionsOf(config: CliConfig, token: string) {
  const c = config.console
  return {
    postgresUrl: doctorDatabaseUrl(config),
    brokers: config.kafka.brokers,
    kafkaSecurity: kafkaSecurityOf(config),
    connectUrl: config.connect.url,
    connectSecurity: connectSecurityOf(config),
    targets: doctorTargetsOf(config),
    checks: [...doctorChecks, ...config.doctor.checks],
    stages: c.stages,
    writerUrl: c.writerUrl,
    consumerUrl: c.consumerUrl,
    host: c.host,
    port: c.port,
    allowedHosts: c.allowedHosts,
    sampleMs: c.sampleMs,
    timeoutMs: c.timeoutMs,
    parkedLetters: parkedTableOf({ config }),
    token,
  }
}

/**
 * `console [--print-url]`: the ops page until Ctrl-C. The URL it prints leaves the token out (the
 * line may end up in a log); `--print-url` prints it with the token, for the operator's own terminal.
 */
export const consoleCommand: Command = async (c) => {
  const { values } = flagsOf(c.args, { 'print-url': { type: 'boolean' } })
  const token = consoleTokenOf(c.config)
  const running = await startConsole({
    ...consoleOptionsOf(c.config, token),
    onAction: (line) => c.out(`${new Date().toISOString()} ${line}`),
    log: {
      debug: () => {},
      info: () => {},
      warn: (_fields, message) => c.err(`console: ${message ?? ''}`),
      error: (fields, message) =>
        c.err(`console: ${message ?? ''}: ${(fields as { err?: Error }).err?.message ?? ''}`),
      fatal: (_fields, message) => c.err(`console: ${message ?? ''}`),
    },
  })
  c.out(
    values['print-url']
      ? consoleUrlWithToken(running.url, token)
      : `console listening on ${running.url} (actions need the token: open it with #token=<token>)`,
  )
  await c.untilStopped()
  await running.stop()
  return 0
}
