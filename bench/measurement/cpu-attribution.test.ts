import { describe, expect, it } from 'vitest'
import { type ProcessSample, parseStat, tallyByComponent } from './cpu-attribution.ts'

/** A /proc/<pid>/stat line as Linux 6 writes it (52 fields), with the times given. */
const statLine = (pid: number, comm: string, ppid: number, t: [number, number, number, number]) =>
  `${pid} (${comm}) S ${ppid} ${pid} ${pid} 0 -1 4194560 1163 0 0 0 ${t.join(' ')} 20 0 1 0 2271 ` +
  '226586624 4404 18446744073709551615 1 1 0 0 0 0 0 16781312 134235655 0 0 0 17 1 0 0 0 0 0 0 0 0 0 0 0 0 0'

const rig = { stackDir: '/tmp/outbox-bench-x', repoRoot: '/repo', selfPid: 10, postmasterPid: 100 }
const sample = (
  pid: number,
  comm: string,
  ppid: number,
  t: [number, number, number, number],
  cmdline = '',
) => ({
  stat: parseStat(statLine(pid, comm, ppid, t)),
  cmdline,
})

describe('CPU by process from /proc', () => {
  it('reads the fields after the command name, even when the name holds spaces and parentheses', () => {
    const stat = parseStat(statLine(4242, 'postgres: x (y) z', 100, [12, 3, 40, 5]))
    expect(stat).toEqual({
      pid: 4242,
      comm: 'postgres: x (y) z',
      state: 'S',
      ppid: 100,
      utime: 12,
      stime: 3,
      cutime: 40,
      cstime: 5,
    })
  })

  it("counts a backend that exited between two samples, through the postmaster's cutime/cstime", () => {
    const before: ProcessSample[] = [
      sample(
        100,
        'postgres',
        1,
        [50, 10, 0, 0],
        '/usr/lib/postgresql/15/bin/postgres -D /tmp/outbox-bench-x/postgres/data',
      ),
      sample(101, 'postgres', 100, [300, 40, 0, 0], 'postgres: outbox outbox 127.0.0.1(40000) idle'),
    ]
    // The backend did 200 + 20 more ticks, then its pool closed; the postmaster reaped it.
    const after: ProcessSample[] = [
      sample(
        100,
        'postgres',
        1,
        [51, 10, 500, 60],
        '/usr/lib/postgresql/15/bin/postgres -D /tmp/outbox-bench-x/postgres/data',
      ),
    ]
    const used = (tallyByComponent(after, rig).postgres ?? 0) - (tallyByComponent(before, rig).postgres ?? 0)
    expect(used).toBe(1 + 200 + 20)
  })

  it("counts only this rig's Postgres: another server's backends are not its children", () => {
    const samples: ProcessSample[] = [
      sample(100, 'postgres', 1, [5, 5, 0, 0]),
      sample(101, 'postgres', 100, [7, 3, 0, 0], 'postgres: walsender cdc 127.0.0.1(1) streaming'),
      sample(200, 'postgres', 1, [900, 900, 900, 900], 'postgres -D /var/lib/postgresql/15/main'),
      sample(201, 'postgres', 200, [800, 800, 0, 0], 'postgres: outbox outbox 127.0.0.1(2) idle'),
    ]
    expect(tallyByComponent(samples, rig).postgres).toBe(20)
  })

  it('names the other components by command line, and leaves out the bench itself', () => {
    const samples: ProcessSample[] = [
      sample(10, 'node', 1, [999, 0, 0, 0], 'node --import tsx /repo/bench/run.ts'),
      sample(
        20,
        'java',
        1,
        [10, 1, 0, 0],
        'java -cp x kafka.Kafka /tmp/outbox-bench-x/kafka/server.properties',
      ),
      sample(
        21,
        'java',
        1,
        [20, 2, 0, 0],
        'java -cp x ConnectDistributed /tmp/outbox-bench-x/connect/worker.properties',
      ),
      sample(22, 'node', 10, [30, 3, 0, 0], 'node --import tsx /repo/api/server.ts'),
      sample(23, 'node', 10, [40, 4, 0, 0], 'node --import tsx /repo/consumer/main.ts'),
      sample(24, 'node', 10, [50, 5, 0, 0], 'node --import tsx /repo/bench/relay/relay-process.ts'),
      sample(
        25,
        'java',
        1,
        [60, 6, 0, 0],
        'java -cp x kafka.Kafka /work/main/.stack/kafka/server.properties',
      ),
    ]
    expect(tallyByComponent(samples, rig)).toEqual({
      kafka: 11,
      connect: 22,
      api: 33,
      consumer: 44,
      relay: 55,
    })
  })

  it('counts no Postgres when its pid file could not be read', () => {
    const samples = [sample(100, 'postgres', 1, [5, 5, 0, 0], 'postgres: checkpointer')]
    expect(tallyByComponent(samples, { ...rig, postmasterPid: undefined })).toEqual({})
  })
})
