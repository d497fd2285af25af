import { afterEach, describe, expect, it } from 'vitest'
import { stopOnSignals } from './signals.ts'

describe("the soak's signal handling", () => {
  let remove: (() => void) | undefined
  afterEach(() => remove?.())

  it('stops once on the first of SIGINT, SIGTERM or SIGHUP and exits only after the stop is done; a second signal waits', async () => {
    for (const first of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
      const events: string[] = []
      let finish = () => {}
      const stopped = new Promise<void>((resolve) => {
        finish = resolve
      })
      remove = stopOnSignals(
        async (signal) => {
          events.push(`stop on ${signal}`)
          await stopped
          events.push('stopped')
        },
        () => {},
        (code) => events.push(`exit ${code}`),
      )
      process.emit(first, first)
      process.emit('SIGINT', 'SIGINT')
      await new Promise((resolve) => setImmediate(resolve))
      expect(events).toEqual([`stop on ${first}`])
      finish()
      await new Promise((resolve) => setImmediate(resolve))
      expect(events).toEqual([`stop on ${first}`, 'stopped', 'exit 130'])
      remove()
      remove = undefined
    }
  })

  it('exits even when stopping fails, saying why', async () => {
    const lines: string[] = []
    const exits: number[] = []
    remove = stopOnSignals(
      async () => {
        throw new Error('Kafka already gone')
      },
      (line) => lines.push(line),
      (code) => exits.push(code),
    )
    process.emit('SIGTERM', 'SIGTERM')
    await new Promise((resolve) => setImmediate(resolve))
    expect(exits).toEqual([130])
    expect(lines.at(-1)).toContain('Kafka already gone')
  })
})
