import { describe, expect, it } from 'vitest'
import type { SlotInfo } from '../slots/slots.ts'
import { dropWhatAnOrphanMakes } from './orphan-slot.ts'

const slotName = 'slot_a'
const slot = (over: Partial<SlotInfo> = {}): SlotInfo => ({
  slotName,
  plugin: 'pgoutput',
  slotType: 'logical',
  database: 'app',
  active: false,
  activePid: null,
  restartLsn: '0/1',
  confirmedFlushLsn: '0/1',
  retainedBytes: 0,
  walStatus: 'reserved',
  ...over,
})

/**
 * A Postgres of one slot name over time: `script` says what `find` sees at each look (a slot, or
 * undefined); the last entry holds from then on. A drop empties it until the script's next entry.
 */
function world(script: Array<SlotInfo | undefined>, owner?: string) {
  let look = 0
  let dropped = false
  const drops: number[] = []
  const lines: string[] = []
  return {
    drops,
    lines,
    deps: {
      find: async () => {
        const seen = script[Math.min(look, script.length - 1)]
        look += 1
        if (dropped) {
          // After a drop the slot stays gone unless the script brings one back later.
          const next = script.slice(look).find((s) => s !== undefined)
          if (!next) return undefined
          dropped = false
        }
        return seen
      },
      drop: async () => {
        drops.push(look)
        dropped = true
      },
      owner: async () => owner,
      log: (line: string) => lines.push(line),
    },
  }
}

const options = { slotName, database: 'app', watchMs: 300, timeoutMs: 2000, pollMs: 10 }

describe('dropWhatAnOrphanMakes (connector delete --drop-slot on a lost slot)', () => {
  it('drops the slot the orphaned task made again, and says so', async () => {
    const w = world([undefined, undefined, slot(), slot()])
    await dropWhatAnOrphanMakes(w.deps, options)
    expect(w.drops).toHaveLength(1)
    expect(w.lines.join('\n')).toMatch(/orphaned task .* created slot_a again; dropping that too/)
  })

  it('waits until the orphan has let go of the slot it made, and never ends a session to drop it', async () => {
    const w = world([
      undefined,
      slot({ active: true, activePid: 7 }),
      slot({ active: true, activePid: 7 }),
      slot(),
    ])
    await dropWhatAnOrphanMakes(w.deps, options)
    expect(w.drops).toHaveLength(1)
  })

  it('leaves a returned slot to the connector that now names it (registered meanwhile), dropping nothing', async () => {
    const w = world([undefined, slot({ active: true, activePid: 9 })], 'orders-connector')
    await dropWhatAnOrphanMakes(w.deps, options)
    expect(w.drops).toHaveLength(0)
    expect(w.lines.join('\n')).toMatch(/connector orders-connector now names it: left to that connector/)
  })

  it('leaves alone a slot of that name on another database', async () => {
    const w = world([undefined, slot({ database: 'billing' })])
    await dropWhatAnOrphanMakes(w.deps, options)
    expect(w.drops).toHaveLength(0)
    expect(w.lines.join('\n')).toMatch(/not the deleted connector's, left alone/)
  })

  it('keeps a returned slot that stays held, naming the pid, instead of killing its session', async () => {
    const w = world([undefined, slot({ active: true, activePid: 42 })])
    await expect(dropWhatAnOrphanMakes(w.deps, { ...options, timeoutMs: 500 })).rejects.toThrow(
      /held by pid 42.*so it is kept/,
    )
    expect(w.drops).toHaveLength(0)
  })

  it('goes on when the slot vanishes of itself before the drop (its making failed)', async () => {
    const w = world([undefined, slot({ active: true, activePid: 3 }), undefined])
    await dropWhatAnOrphanMakes(w.deps, options)
    expect(w.drops).toHaveLength(0)
  })

  it('returns at once when nothing comes back within the watch', async () => {
    const w = world([undefined])
    const started = Date.now()
    await dropWhatAnOrphanMakes(w.deps, options)
    expect(w.drops).toHaveLength(0)
    expect(w.lines).toEqual([])
    expect(Date.now() - started).toBeLessThan(options.timeoutMs)
  })

  it('treats a drop that loses a race (the slot gone, or taken, meanwhile) as the slot coming and going', async () => {
    const w = world([undefined, slot()])
    let first = true
    const drop = async () => {
      if (first) {
        first = false
        throw Object.assign(new Error('replication slot "slot_a" does not exist'), { code: '42704' })
      }
      await w.deps.drop()
    }
    await dropWhatAnOrphanMakes({ ...w.deps, drop }, options)
    expect(w.drops).toHaveLength(1)
  })
})
