import { describe, expect, it } from 'vitest'
import type { TestProject } from 'vitest/node'
import { loadStackConfig } from '../../stack/lib/config.ts'
import { stackStatus } from '../../stack/lib/status.ts'
import setup from '../global-setup.ts'

const config = loadStackConfig()

/**
 * docs/testing.md: the global setup reuses a running stack and stops afterwards only what it
 * started. This run's own setup has the stack up, so a second setup finds every component
 * running, starts nothing, and its teardown must leave them all running.
 */
describe.skipIf(config.env.STACK_MODE !== 'native')("the tests' global setup", () => {
  it('stops afterwards only what it started: a stack it found running stays running', {
    timeout: 120_000,
  }, async () => {
    const before = await stackStatus(config)
    expect(before.ok, 'the stack runs before the second setup').toBe(true)
    const project = { provide: () => undefined } as unknown as TestProject
    const teardown = await setup(project)
    await teardown()
    const after = await stackStatus(config)
    expect(after.ok, 'every component still answers after its teardown').toBe(true)
    expect(after.postgres.pid).toBe(before.postgres.pid)
    expect(after.kafka.nodes.map((n) => n.pid)).toEqual(before.kafka.nodes.map((n) => n.pid))
    expect(after.connect.workers.map((w) => w.pid)).toEqual(before.connect.workers.map((w) => w.pid))
  })
})
