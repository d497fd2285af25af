import { type ChildProcess, spawn } from 'node:child_process'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { ensureTopics, type TailedEvent } from 'outbox-cdc'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { repoRoot } from '../../stack/lib/config.ts'
import { type Pipeline, startPipeline } from '../pipeline.ts'

const stack = inject('stack')
/** The CLI's group prefix, spelled out: a test that imported it would start the CLI itself. */
const groupPrefix = 'outbox-cdc-events-tail-'

/** `npm run events:tail` as a user runs it: a process, its output, Ctrl-C. */
describe('npm run events:tail', () => {
  let p: Pipeline
  beforeAll(async () => {
    p = await startPipeline(stack, { consumer: false })
  })
  afterAll(async () => {
    await p?.stop()
  })

  const addBook = async (title: string) => {
    const response = await p.app.inject({
      method: 'POST',
      url: '/books',
      payload: { title, author: 'T', price: 1, stock: 5 },
    })
    expect(response.statusCode).toBe(201)
    return response.json() as { id: string }
  }
  const tail = (args: string[], namespace = p.namespace, json = true) => {
    // As `npm run events:tail` starts it: node with tsx's loader, no tsx process in between.
    const child: ChildProcess = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        join(repoRoot, 'scripts', 'outbox-cdc.ts'),
        'events',
        'tail',
        ...(json ? ['--json'] : []),
        ...args,
      ],
      {
        cwd: repoRoot,
        env: { ...process.env, KAFKA_BROKERS: stack.kafka.brokers.join(','), TOPIC_NAMESPACE: namespace },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    )
    const events: TailedEvent[] = []
    let stdout = ''
    let stderr = ''
    child.stderr?.on('data', (chunk) => {
      stderr += chunk
    })
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      stdout += `${line}\n`
      if (json) events.push(JSON.parse(line))
    })
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
    return { child, events, exited, stdout: () => stdout, stderr: () => stderr }
  }
  const tailGroups = async () =>
    (await p.admin.listGroups()).groups.map((g) => g.groupId).filter((g) => g.startsWith(groupPrefix))

  it('prints new events of one type as they arrive, skips the history, commits nothing, and leaves no group after Ctrl-C', async () => {
    const before = await addBook('written before the tail started')
    const t = tail(['--type', 'BookAdded'])
    // It starts at the end: write until one arrives, then one more that must arrive too.
    await expect
      .poll(
        async () => {
          if (t.events.length === 0) await addBook('probe')
          return t.events.length
        },
        { timeout: 60_000, interval: 1000 },
      )
      .toBeGreaterThan(0)
    expect(await tailGroups()).toHaveLength(1)
    const order = await p.app.inject({
      method: 'POST',
      url: '/orders',
      headers: { 'idempotency-key': crypto.randomUUID() },
      payload: { customerId: crypto.randomUUID(), bookId: before.id, quantity: 1 },
    })
    expect(order.statusCode).toBe(201)
    const last = await addBook('written after the order')
    await expect.poll(() => t.events.some((e) => e.key === last.id), { timeout: 30_000 }).toBe(true)

    expect(t.events.every((e) => e.eventType === 'BookAdded' && e.topic === `${p.namespace}.book`)).toBe(true)
    expect(t.events.some((e) => e.key === before.id)).toBe(false)
    expect(t.events.find((e) => e.key === last.id)).toMatchObject({
      payload: { id: last.id, title: 'written after the order' },
      eventId: expect.stringMatching(/^[0-9a-f-]{36}$/),
    })

    // It has read and printed, and committed nothing: the group it reads through holds no offset.
    const [group = ''] = await tailGroups()
    const committed = await p.admin.fetchOffsets({ groupId: group, topics: [`${p.namespace}.book`] })
    const offsets = committed.flatMap((topic) => topic.partitions.map((partition) => partition.offset))
    expect(offsets.length).toBeGreaterThan(0)
    expect(new Set(offsets)).toEqual(new Set(['-1']))

    // Ctrl-C in a terminal can arrive twice (the terminal, and a parent relaying it).
    t.child.kill('SIGINT')
    t.child.kill('SIGINT')
    expect(await t.exited, t.stderr()).toBe(0)
    expect(await tailGroups()).toEqual([])
  })

  it('reads an event topic created after it started from its first event', async () => {
    const namespace = `${p.namespace}-late`
    const t = tail([], namespace, false)
    // It has looked and found no topic at all: what comes now is new.
    await expect.poll(() => t.stderr(), { timeout: 30_000 }).toContain('topic yet: waiting for one')
    const topic = `${namespace}.book`
    await ensureTopics(p.admin, [{ topic: topic, partitions: 1 }])
    try {
      const producer = p.kafka.producer()
      await producer.connect()
      const keys = ['k1', 'k2', 'k3']
      await producer.send({
        topic,
        acks: -1,
        messages: keys.map((key) => ({
          key,
          value: '{}',
          headers: { id: crypto.randomUUID(), event_type: 'BookAdded' },
        })),
      })
      await producer.disconnect()
      await expect
        .poll(() => [...t.stdout().matchAll(/key=(k\d)/g)].map((m) => m[1]), { timeout: 60_000 })
        .toEqual(keys)
      t.child.kill('SIGINT')
      expect(await t.exited, t.stderr()).toBe(0)
    } finally {
      await p.admin.deleteTopics({ topics: [topic] })
    }
  })

  it('with --from-beginning and --key shows that aggregate history first', async () => {
    const book = await addBook('history')
    await addBook('another')
    const t = tail(['--from-beginning', '--key', book.id])
    await expect.poll(() => t.events.length, { timeout: 60_000 }).toBeGreaterThan(0)
    expect(t.events.map((e) => [e.key, e.eventType])).toEqual([[book.id, 'BookAdded']])
    t.child.kill('SIGINT')
    expect(await t.exited, t.stderr()).toBe(0)
    expect(await tailGroups()).toEqual([])
  })

  it('refuses an unknown option with its usage, and starts nothing', async () => {
    const t = tail(['--frm-beginning'])
    expect(await t.exited).toBe(2)
    expect(t.stderr()).toMatch(/usage: npm run events:tail/)
  })
})
