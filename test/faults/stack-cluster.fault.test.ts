import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createKafka } from 'outbox-cdc'
import { afterAll, describe, expect, it, vi } from 'vitest'
import { repoRoot } from '../../stack/lib/config.ts'
import { findFreePortRun } from '../../stack/lib/ports.ts'
import { processesUnder } from '../support.ts'
import { mainConfig, ownStackEnv, runScript, tsx } from './own-stack.ts'

interface Member {
  name: string
  pid: number | null
  healthy: boolean
}

/**
 * STACK_KAFKA_NODES=3 STACK_CONNECT_WORKERS=2 on a stack folder of its own: what stack:up starts,
 * what stack:status says (also once a worker is gone), and that stack:down stops every node even
 * when it is not told how many there are.
 */
describe.skipIf(mainConfig.env.STACK_MODE !== 'native')(
  'a three-node Kafka and two Connect workers',
  async () => {
    const stackDir = mkdtempSync(join(tmpdir(), 'outbox-cluster-it-'))
    const base = await findFreePortRun(9)
    const env = ownStackEnv(stackDir, {
      POSTGRES_PORT: String(base),
      KAFKA_PORT: String(base + 1),
      KAFKA_CONTROLLER_PORT: String(base + 4),
      CONNECT_PORT: String(base + 7),
    })
    const cluster = { STACK_KAFKA_NODES: '3', STACK_CONNECT_WORKERS: '2' }
    const cli = (script: string, args: string[] = [], extra: Record<string, string> = cluster) =>
      runScript({ ...env, ...extra }, script, args)
    const status = () => JSON.parse(cli('stack-status', ['--json']).output)

    afterAll(() => {
      cli('stack-down', ['--purge'], {})
      rmSync(stackDir, { recursive: true, force: true })
    }, 120_000)

    it('starts three voters and two workers, and replicates a new topic three times', {
      timeout: 300_000,
    }, async () => {
      const up = cli('stack-up')
      expect(up.code, up.output).toBe(0)
      const s = status()
      expect(s.ok).toBe(true)
      expect(s.kafka.brokers).toEqual([1, 2, 3].map((n) => `127.0.0.1:${base + n}`))
      expect(s.kafka.nodes.map((n: Member) => [n.name, n.healthy])).toEqual([
        ['kafka', true],
        ['kafka-2', true],
        ['kafka-3', true],
      ])
      expect(s.connect.workers.map((w: Member & { url: string }) => [w.name, w.url, w.healthy])).toEqual([
        ['connect', `http://127.0.0.1:${base + 7}`, true],
        ['connect-2', `http://127.0.0.1:${base + 8}`, true],
      ])
      expect(s.connect.url).toBe(`http://127.0.0.1:${base + 7}`)
      // Later commands on the folder know its shape without being told it again.
      const plain = JSON.parse(cli('stack-status', ['--json'], {}).output)
      expect(plain.kafka.nodes).toHaveLength(3)
      expect(plain.connect.workers).toHaveLength(2)
      // Another node count for this folder is refused before anything starts.
      const processes = processesUnder(stackDir).length
      const other = cli('stack-up', [], { STACK_KAFKA_NODES: '1' })
      expect(other.code).toBe(1)
      expect(other.output).toMatch(/TOPOLOGY_MISMATCH: .*runs 3 Kafka node\(s\)/)
      expect(processesUnder(stackDir)).toHaveLength(processes)
      const admin = createKafka({ brokers: s.kafka.brokers, clientId: 'cluster-it' }).admin()
      await admin.connect()
      try {
        await admin.createTopics({ topics: [{ topic: 'cluster-it', numPartitions: 3 }] })
        const { topics } = await admin.fetchTopicMetadata({ topics: ['cluster-it'] })
        expect(topics[0]?.partitions.map((p) => p.replicas.length)).toEqual([3, 3, 3])
        // Connect's own topics too: a worker's offsets survive a lost broker.
        const internal = await admin.fetchTopicMetadata({ topics: ['_connect-offsets', '_connect-configs'] })
        for (const topic of internal.topics)
          expect(new Set(topic.partitions.map((p) => p.replicas.length)), topic.name).toEqual(new Set([3]))
      } finally {
        await admin.disconnect()
      }
    })

    it('names a worker that answers as connect.url when worker 1 is gone, and says the stack is not whole', {
      timeout: 120_000,
    }, () => {
      const first = status().connect.workers[0] as Member
      expect(first.pid).toBeGreaterThan(0)
      process.kill(first.pid as number, 'SIGKILL')
      const s = status()
      expect(s.ok).toBe(false)
      expect(s.connect.workers.map((w: Member) => w.healthy)).toEqual([false, true])
      expect(s.connect.url).toBe(`http://127.0.0.1:${base + 8}`)
      expect(cli('stack-status').code).toBe(1)
      // The commands go to the worker that runs: Connect itself answers (no such connector yet).
      const asked = cli('connector', ['status'])
      expect(asked.output).not.toMatch(/not reachable/)
      expect(asked.output).toMatch(/NOT_FOUND/)
    })

    it('stops every node and worker on stack:down, even without STACK_KAFKA_NODES', {
      timeout: 240_000,
    }, () => {
      expect(processesUnder(stackDir).length).toBeGreaterThan(0)
      const down = cli('stack-down', [], {})
      expect(down.code, down.output).toBe(0)
      expect(down.output).toMatch(/kafka-3 +stopped|kafka-3 +killed/)
      expect(processesUnder(stackDir)).toEqual([])
    })

    it('npm start runs the whole pipeline on the folder (smoke passes), and Ctrl-C stops every node it started', {
      timeout: 360_000,
    }, async () => {
      expect(processesUnder(stackDir)).toEqual([])
      const ports = await findFreePortRun(4)
      const service = {
        API_PORT: String(ports),
        CONSUMER_HEALTH_PORT: String(ports + 1),
        CONSOLE_PORT: String(ports + 2),
        FULFILMENT_HEALTH_PORT: String(ports + 3),
      }
      // The folder's saved shape (three nodes, two workers) is what npm start brings up.
      const start = spawn(tsx, [join(repoRoot, 'scripts', 'start.ts')], {
        env: { ...env, ...service },
        stdio: ['ignore', 'pipe', 'pipe'],
      })
      let output = ''
      start.stdout.on('data', (chunk: Buffer) => {
        output += chunk.toString()
      })
      start.stderr.on('data', (chunk: Buffer) => {
        output += chunk.toString()
      })
      const exited = new Promise<number | null>((resolve) => start.on('exit', (code) => resolve(code)))
      try {
        await vi.waitFor(() => expect(output).toContain('npm run smoke'), { timeout: 300_000, interval: 500 })
        const smoke = cli('smoke', [], service)
        expect(smoke.code, smoke.output).toBe(0)
        // Both ends of the saga, through fulfilment as npm start runs it.
        expect(smoke.output).toMatch(/\[OK\] order \S+ fulfilled/)
        expect(smoke.output).toMatch(/\[OK\] order \S+ cancelled/)
        expect(JSON.parse(cli('stack-status', ['--json'], {}).output).kafka.nodes).toHaveLength(3)
        // The console it started: its URL printed with the token generated into the folder's secrets.
        const printed = /Ops console: (http:\/\/127\.0\.0\.1:\d+\/)#token=([0-9a-f]+)/.exec(output)
        expect(printed?.[1]).toBe(`http://127.0.0.1:${ports + 2}/`)
        expect(printed?.[2]).toBe(
          readFileSync(join(stackDir, 'secrets', 'console-token.password'), 'utf8').trim(),
        )
        await vi.waitFor(
          async () => {
            // As the page asks (the console answers only calls with its header).
            const overview = (await (
              await fetch(`${printed?.[1]}api/overview`, { headers: { 'x-console': '1' } })
            ).json()) as {
              stages: { id: string; severity: string }[]
            }
            expect(overview.stages.find((st) => st.id === 'connector')?.severity).toBe('ok')
          },
          { timeout: 60_000, interval: 1000 },
        )
      } finally {
        start.kill('SIGINT')
      }
      expect(await exited).toBe(0)
      expect(output).toMatch(/Stopping .*kafka-3/)
      expect(output).toMatch(/Stopping .*connect-2/)
      expect(processesUnder(stackDir)).toEqual([])
      await expect(fetch(`http://127.0.0.1:${ports + 2}/api/overview`)).rejects.toThrow()
    })
  },
)
