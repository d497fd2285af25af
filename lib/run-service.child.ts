import { setTimeout as delay } from 'node:timers/promises'
import { runService } from './run-service.ts'

/**
 * A service for run-service.test.ts to run as a real process, shaped by the environment. It
 * prints a line at each step, which the test reads. `never` makes a step hang; an open interval
 * stands for the sockets a real service holds, which keep its process alive.
 */
const env = process.env
const wait = (ms: string | undefined) =>
  ms === 'never' ? new Promise<void>(() => {}) : delay(Number(ms ?? 0))
const say = (line: string) => process.stdout.write(`${line}\n`)

runService(
  async (control) => {
    if (env.FAIL_BUILD === 'coded')
      throw Object.assign(new Error('the config names no database'), { code: 'CONFIG_INVALID' })
    if (env.FAIL_BUILD === 'plain') throw new Error('something unexpected')
    const open = setInterval(() => {}, 60_000)
    return {
      async start() {
        say('starting')
        await wait(env.START_MS)
        say('started')
        if (env.EXIT_AFTER_START) control.exit(Number(env.EXIT_AFTER_START))
      },
      async stop() {
        say('stopping')
        await wait(env.STOP_MS)
        clearInterval(open)
        say('stopped')
      },
      onSignal: (signal) => say(`signal ${signal}`),
      onForcedExit: (why) => say(`forced ${why}`),
    }
  },
  {
    stopTimeoutMs: Number(env.STOP_TIMEOUT_MS ?? 60_000),
    ...(env.FORCED_EXIT_CODE ? { forcedExitCode: Number(env.FORCED_EXIT_CODE) } : {}),
  },
)
