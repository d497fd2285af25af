import { describe, expect, it } from 'vitest'
import { untilReleased } from './delete.ts'

describe('untilReleased (connector:delete --drop-slot)', () => {
  it("says so when the deleted connector's task never lets go of its slot, instead of going on to drop it", async () => {
    expect(await untilReleased(async () => false, 300)).toBe(false)
  })

  it('goes on as soon as the task has let go', async () => {
    let checks = 0
    expect(await untilReleased(async () => ++checks >= 3, 5000)).toBe(true)
    expect(checks).toBe(3)
  })
})
