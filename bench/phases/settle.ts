import { setTimeout as delay } from 'node:timers/promises'
import { waitUntil } from '../../lib/wait-until.ts'
import type { Rig } from '../../stack/rig.ts'
import { cpuByComponent } from '../measurement/cpu.ts'
import { stableAt } from '../workloads/consume.ts'
import { bulkEventsWritten } from '../workloads/throughput.ts'

/** Waits until a consumer group has members with partitions, so no run starts with a rebalance. */
export async function waitForGroup(rig: Rig, groupId: string, timeoutS = 60) {
  const admin = rig.kafka.admin()
  await admin.connect()
  try {
    await waitUntil(`consumer group ${groupId} to become stable`, () => stableAt(admin, groupId), {
      timeoutMs: timeoutS * 1000,
      intervalMs: 100,
    })
  } finally {
    await admin.disconnect()
  }
}

/**
 * Waits until the consumer has applied every event written so far: one per book and order row,
 * plus the events the bulk writer put straight into the outbox.
 */
export async function quiesce(rig: Rig, timeoutS = 600) {
  let behind = 0
  await waitUntil(
    'the consumer to apply every event written',
    async () => {
      const [row] = await rig.sql<{ written: number; applied: number }[]>`
        select (select count(*) from books) + (select count(*) from orders) + ${bulkEventsWritten()}::int as written,
               (select count(*) from consumed_events where topic like 'outbox.events.%') as applied`
      behind = Number(row?.written) - Number(row?.applied)
      return behind <= 0
    },
    { timeoutMs: timeoutS * 1000, intervalMs: 250, progress: () => `${behind} events behind` },
  )
}

/** The stack's processes (not the bench) together use at most this share of one core while idle. */
export const idleCoreShare = 0.4

/**
 * Samples the CPU of the stack's processes (the load generator left out) each second until one
 * second used at most `idleCoreShare` of a core, so a round does not start while the last one's
 * work (a JVM's GC, autovacuum, a drain) still runs. Gives up after `timeoutS` and says so: the
 * run goes on, the figure is then from a busier machine.
 */
export async function waitForIdleCpu(stackDir: string, timeoutS = 60) {
  const stackSeconds = () =>
    Object.entries(cpuByComponent(stackDir))
      .filter(([component]) => component !== 'load generator')
      .reduce((sum, [, s]) => sum + s, 0)
  const started = performance.now()
  let last = stackSeconds()
  let lastAt = performance.now()
  for (;;) {
    await delay(1000)
    const now = stackSeconds()
    const share = (now - last) / ((performance.now() - lastAt) / 1000)
    if (share <= idleCoreShare) return { idle: true, coreShare: Math.round(share * 100) / 100 }
    if (performance.now() - started > timeoutS * 1000)
      return { idle: false, coreShare: Math.round(share * 100) / 100 }
    last = now
    lastAt = performance.now()
  }
}

/** Before a measured round: everything written so far applied, and the stack idle again. */
export async function settle(rig: Rig, say: (line: string) => void) {
  await quiesce(rig)
  const { idle, coreShare } = await waitForIdleCpu(rig.stackDir)
  if (!idle) say(`  the stack still used ${coreShare} of a core after 60 s; measuring anyway`)
}
