import { type ChildProcess, spawn } from 'node:child_process'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { logLevel } from 'kafkajs'
import { createKafka, type TailedEvent } from 'outbox-cdc'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { repoRoot } from '../../stack/lib/config.ts'
import { bookPayload, eventRecord } from '../consumer-fixture.ts'
import { createTopics, uniqueName } from '../support.ts'

const stack = inject('stack')

/**
 * `npm run consumer:replay` and `npm run events:tail`, as processes, on a namespace that has a
 * nested namespace under it (`<ns>.v2.book`, `<ns>.v2-dlq`) and its own dead-letter topic
 * (`<ns>-dlq`) beside its event topic `<ns>.book`: replay moves the group's offsets of
 * `<ns>.<aggregate>` topics only, and the tail prints `<ns>.<aggregate>` events only.
 */
describe('replay and events tail beside a nested namespace and the dead-letter topic', () => {
  const kafka = createKafka({
    brokers: stack.kafka.brokers,
    clientId: 'it-nested-tools',
    logLevel: logLevel.NOTHING,
  })
  const admin = kafka.admin()
  const ns = uniqueName('it.nt').toLowerCase()
  const own = `${ns}.book`
  const others = [`${ns}.v2.book`, `${ns}-dlq`, `${ns}.v2-dlq`]
  const groups: string[] = []

  const send = async (topic: string, count: number, title = topic) => {
    const records = Array.from({ length: count }, (_, i) => eventRecord(bookPayload(`${title} ${i}`)))
    const producer = kafka.producer({ allowAutoTopicCreation: false })
    await producer.connect()
    await producer.send({ topic, acks: -1, messages: records })
    await producer.disconnect()
    return records.map((r) => r.key?.toString())
  }
  /** The CLI as `npm run` starts it, on this namespace and group. */
  const cli = (args: string[], groupId = 'unused') => {
    const child: ChildProcess = spawn(
      process.execPath,
      ['--import', 'tsx', join(repoRoot, 'scripts', 'outbox-cdc.ts'), ...args],
      {
        cwd: repoRoot,
        env: {
          ...process.env,
          KAFKA_BROKERS: stack.kafka.brokers.join(','),
          TOPIC_NAMESPACE: ns,
          CONSUMER_GROUP: groupId,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    )
    const lines: string[] = []
    let stderr = ''
    child.stderr?.on('data', (chunk) => {
      stderr += chunk
    })
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => lines.push(line))
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
    return { child, lines, exited, stderr: () => stderr }
  }

  beforeAll(async () => {
    await admin.connect()
    await createTopics(admin, {
      topics: [{ topic: own, numPartitions: 2 }, ...others.map((topic) => ({ topic, numPartitions: 2 }))],
    })
    for (const topic of [own, ...others]) await send(topic, 3)
  })
  afterAll(async () => {
    await admin.deleteGroups(groups).catch(() => {})
    const mine = (await admin.listTopics()).filter((t) => t.startsWith(ns))
    await admin.deleteTopics({ topics: mine }).catch(() => {})
    await admin.disconnect()
  })

  const committed = async (groupId: string) => {
    const result: Record<string, string[]> = {}
    for (const { topic, partitions } of await admin.fetchOffsets({ groupId, topics: [own, ...others] }))
      result[topic] = partitions.sort((a, b) => a.partition - b.partition).map((p) => p.offset)
    return result
  }
  const ends = async (topic: string) =>
    (await admin.fetchTopicOffsets(topic)).sort((a, b) => a.partition - b.partition).map((p) => p.high)

  it('consumer:replay --from beginning moves the group on <ns>.book only, not <ns>.v2.book nor the dead-letter topics', async () => {
    const groupId = uniqueName('it-nested-replay')
    groups.push(groupId)
    // The group has read every topic to its end (a group may well hold offsets on others).
    for (const topic of [own, ...others])
      await admin.setOffsets({
        groupId,
        topic,
        partitions: (await ends(topic)).map((offset, partition) => ({ partition, offset })),
      })
    const before = await committed(groupId)

    const replay = cli(['replay', '--from', 'beginning'], groupId)
    expect(await replay.exited, replay.stderr()).toBe(0)

    const after = await committed(groupId)
    expect(after[own]).toEqual(['0', '0'])
    for (const topic of others) expect(after[topic], topic).toEqual(before[topic])
    const moved = replay.lines.filter((l) => l.includes('→ offset'))
    expect(moved.map((l) => l.split('[')[0])).toEqual([own, own])
  }, 120_000)

  it('events tail --from-beginning prints the <ns>.book events only, old and new', async () => {
    const tail = cli(['events', 'tail', '--from-beginning', '--json'])
    const events = () => tail.lines.map((l) => JSON.parse(l) as TailedEvent)
    try {
      await expect.poll(() => events().length, { timeout: 60_000 }).toBeGreaterThanOrEqual(3)
      for (const topic of others) await send(topic, 2, 'later')
      const [marker] = await send(own, 1, 'marker')
      await expect.poll(() => events().some((e) => e.key === marker), { timeout: 30_000 }).toBe(true)
      expect(new Set(events().map((e) => e.topic))).toEqual(new Set([own]))
      expect(events()).toHaveLength(4)
    } finally {
      tail.child.kill('SIGINT')
      expect(await tail.exited, tail.stderr()).toBe(0)
    }
  })
})
