import { describe, expect, it } from 'vitest'
import { pollUntil } from './poll.ts'

describe("pollUntil (connector:delete --drop-slot's waits for the task to stop and let go)", () => {
  it("says so when the deleted connector's task never lets go of its slot, instead of going on to drop it", async () => {
    expect(await pollUntil(async () => false, 300)).toBe(false)
  })

  it('goes on as soon as the task has let go', async () => {
    let checks = 0
    expect(await pollUntil(async () => ++checks >= 3, 5000)).toBe(true)
    expect(checks).toBe(3)
  })
})
