import { type ConnectClient, type Finding, runDoctor as runChecks, unownedSlots } from 'outbox-cdc'
import postgres from 'postgres'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { bookstoreChecks } from '../../doctor/checks.ts'
import { type BookstoreTargets, bookstoreTargets } from '../../doctor/config.ts'
import { freshnessCheck, freshnessSql, freshnessStreams } from '../../doctor/freshness.ts'
import { stuckOrdersSql } from '../../doctor/saga.ts'
import { bookAdded, deadLetterTopic } from '../../lib/events.ts'
import { doctorTargetsOf, type Pipeline, startPipeline } from '../pipeline.ts'

/** The doctor as `npm run doctor` runs it: the toolkit's checks and the bookstore's. */
const runDoctor = (deps: Parameters<typeof runChecks>[0], t: BookstoreTargets) =>
  runChecks(deps, t, bookstoreChecks)

const stack = inject('stack')

/** npm run doctor's checks, against broken states produced on the real stack. */
describe('doctor', () => {
  let p: Pipeline
  let sql: postgres.Sql
  let targets: BookstoreTargets
  const pipelineOptions = { connector: { CONNECTOR_HEARTBEAT_INTERVAL_MS: '1000' } }
  const targetsOf = (pipeline: Pipeline) => doctorTargetsOf(pipeline)
  /**
   * A pipeline of the test's own, for a test that breaks it for good (stops its consumer, deletes
   * its connector): the shared one stays healthy, so every test passes alone and in any order.
   */
  const ownPipeline = async <T>(
    test: (q: Pipeline, doctorOf: () => ReturnType<typeof runDoctor>, qSql: postgres.Sql) => Promise<T>,
  ) => {
    const q = await startPipeline(stack, pipelineOptions)
    const qSql = postgres(q.db.url, { max: 1, onnotice: () => {} })
    try {
      return await test(
        q,
        () => runDoctor({ sql: qSql, connect: q.connect, kafka: q.kafka }, targetsOf(q)),
        qSql,
      )
    } finally {
      await qSql.end()
      await q.stop().catch(() => {})
    }
  }
  beforeAll(async () => {
    p = await startPipeline(stack, pipelineOptions)
    sql = postgres(p.db.url, { max: 1, onnotice: () => {} })
    targets = targetsOf(p)
  })
  afterAll(async () => {
    await sql?.end()
    await p?.stop()
  })

  const doctor = () => runDoctor({ sql, connect: p.connect, kafka: p.kafka }, targets)
  const failing = (findings: Finding[]) =>
    Object.fromEntries(findings.filter((f) => f.severity !== 'ok').map((f) => [f.check, f]))
  const addBook = async (pipeline: Pipeline = p) => {
    const response = await pipeline.app.inject({
      method: 'POST',
      url: '/books',
      payload: { title: 'D', author: 'A', price: 1, stock: 1 },
    })
    expect(response.statusCode).toBe(201)
    return response.json()
  }

  it('reports a healthy pipeline as ok, with every check present', async () => {
    await addBook()
    await expect.poll(async () => (await doctor()).ok, { timeout: 20_000 }).toBe(true)
    const { findings } = await doctor()
    expect(findings.map((f) => f.check)).toEqual([
      'postgres.wal_level',
      'postgres.publication',
      'postgres.slot',
      'connect.connector',
      'postgres.unowned-slots',
      'kafka.topics',
      'consumer.group',
      'consumer.dead-letters',
      'pipeline.freshness',
    ])
  })

  it('reports the inbox (its size, oldest row and how far it was pruned) and warns when a topic keeps more than INBOX_RETENTION', async () => {
    await addBook()
    await expect.poll(async () => (await doctor()).ok, { timeout: 20_000 }).toBe(true)
    const withInbox = (retentionMs: number) => ({
      ...targets,
      consumers: targets.consumers.map((c) =>
        c.check === 'consumer.group' ? { ...c, inbox: { table: 'consumed_events', retentionMs } } : c,
      ),
    })
    const week = 7 * 86_400_000
    const kept = (
      await runDoctor({ sql, connect: p.connect, kafka: p.kafka }, withInbox(week))
    ).findings.find((f) => f.check === 'consumer.inbox')
    expect(kept).toMatchObject({
      severity: 'ok',
      detail: expect.stringMatching(/rows, oldest 20\d\d-.*never pruned, INBOX_RETENTION 7 d$/),
    })
    const short = (
      await runDoctor({ sql, connect: p.connect, kafka: p.kafka }, withInbox(60_000))
    ).findings.find((f) => f.check === 'consumer.inbox')
    expect(short).toMatchObject({
      severity: 'warn',
      detail: expect.stringContaining(`${p.namespace}.book keeps 7 d`),
      hint: expect.stringContaining('TOPIC_RETENTION_MS'),
    })

    // A database the inbox cannot be read in fails the inbox alone, with a database hint.
    await sql`alter table outbox_cdc_inbox_horizon rename to horizon_away`
    try {
      const { findings } = await runDoctor({ sql, connect: p.connect, kafka: p.kafka }, withInbox(week))
      expect(failing(findings)).toMatchObject({
        'consumer.inbox': { severity: 'fail', hint: expect.stringContaining('Postgres') },
      })
      expect(findings.find((f) => f.check === 'consumer.group')?.severity).toBe('ok')
    } finally {
      await sql`alter table horizon_away rename to outbox_cdc_inbox_horizon`
    }
  })

  it('detects a paused connector', async () => {
    // (A paused task keeps its replication connection, so the slot stays active: not reported.)
    await p.connect.pause(targets.connectorName)
    try {
      await expect
        .poll(async () => failing((await doctor()).findings)['connect.connector'], { timeout: 20_000 })
        .toMatchObject({ detail: expect.stringMatching(/PAUSED/), hint: 'npm run connector:resume' })
      expect((await doctor()).ok).toBe(false)
    } finally {
      await p.connect.resume(targets.connectorName)
    }
    await expect.poll(async () => (await doctor()).ok, { timeout: 30_000 }).toBe(true)
  })

  it('detects a stopped consumer with lag, then stale events', async () => {
    await ownPipeline(async (q, doctorOf) => {
      await addBook(q)
      await expect.poll(async () => (await doctorOf()).ok, { timeout: 20_000 }).toBe(true)
      await q.consumer?.stop()
      await addBook(q)
      await expect
        .poll(async () => failing((await doctorOf()).findings)['consumer.group']?.detail, { timeout: 20_000 })
        .toMatch(/0 member\(s\), lag [1-9]\d*.*nobody is consuming/)
      await expect
        .poll(async () => failing((await doctorOf()).findings)['pipeline.freshness']?.detail, {
          timeout: 20_000,
        })
        .toMatch(/is not applied yet/)
      expect((await doctorOf()).ok).toBe(false)
    })
  })

  it('detects lag growing while the group has members that do not keep up', async () => {
    // A member that joined and then stopped fetching: present in the group, falling behind.
    const groupId = `laggard-${p.id}`
    const laggard = p.kafka.consumer({ groupId })
    await laggard.connect()
    await laggard.subscribe({
      topics: [new RegExp(`^${p.namespace.replaceAll('.', '\\.')}\\.`)],
      fromBeginning: true,
    })
    await laggard.run({ eachMessage: async () => {} })
    laggard.pause([{ topic: `${p.namespace}.book` }, { topic: `${p.namespace}.order` }])
    try {
      for (let i = 0; i < 3; i += 1) await addBook()
      const lagging = () =>
        runDoctor(
          { sql, connect: p.connect, kafka: p.kafka },
          bookstoreTargets({ ...targets, consumerGroup: groupId, maxConsumerLag: 2 }),
        )
      await expect
        .poll(async () => failing((await lagging()).findings)['consumer.group']?.detail, { timeout: 20_000 })
        .toMatch(/1 member\(s\), lag \d+ .*above 2/)
    } finally {
      await laggard.disconnect()
    }
  })

  it('detects a FAILED task and shows its trace', async () => {
    // A publication that does not exist passes validation; the task fails when it starts streaming.
    const name = `${targets.connectorName}-broken`
    const config = {
      ...(await p.connect.getConfig(targets.connectorName)),
      name,
      'slot.name': `${targets.slotName}_b`,
      'publication.name': 'no_such_publication',
    }
    await p.connect.putConfig(name, config)
    try {
      const broken = () =>
        runDoctor({ sql, connect: p.connect, kafka: p.kafka }, { ...targets, connectorName: name })
      await expect
        .poll(async () => failing((await broken()).findings)['connect.connector']?.detail, {
          timeout: 30_000,
        })
        .toMatch(/FAILED:\n[\s\S]*Publication autocreation is disabled/)
      expect(failing((await broken()).findings)['connect.connector']?.hint).toMatch(
        /npm run connector:restart/,
      )
    } finally {
      await p.connect.remove(name)
    }
  })

  it('counts dead letters', async () => {
    const producer = p.kafka.producer()
    await producer.connect()
    await producer.send({ topic: deadLetterTopic(p.namespace), messages: [{ value: 'x' }, { value: 'y' }] })
    await producer.disconnect()
    const found = failing((await doctor()).findings)
    expect(found['consumer.dead-letters']).toMatchObject({
      severity: 'warn',
      detail: expect.stringMatching(/^2 dead letter/),
    })
  })

  it('flags a replication slot that no connector owns, such as one made by hand to decode the tables', async () => {
    const rogue = `rogue_${p.id}`
    await sql`select pg_create_logical_replication_slot(${rogue}, 'test_decoding')`
    try {
      const found = failing((await doctor()).findings)['postgres.unowned-slots']
      // Physical slots are cluster-wide: other files' may be listed beside it, never this
      // database's connector's.
      expect(found).toMatchObject({ severity: 'fail', data: expect.arrayContaining([rogue]) })
      expect(found?.data).not.toContain(p.connectorEnv.CONNECTOR_SLOT_NAME)
      expect(found?.hint).toContain(`npm run slots:drop -- ${rogue}`)
    } finally {
      await sql`select pg_drop_replication_slot(${rogue})`
    }
    const after = (await doctor()).findings.find((f) => f.check === 'postgres.unowned-slots')
    expect(after?.data ?? []).not.toContain(rogue)
  })

  it("does not fail for a physical slot (a standby's or a backup's, never a connector's): an idle one is a warning", async () => {
    const physical = `phys_${p.id}`
    await sql`select pg_create_physical_replication_slot(${physical}, true)`
    try {
      const report = await doctor()
      const unowned = report.findings.find((f) => f.check === 'postgres.unowned-slots')
      expect(unowned?.data ?? []).not.toContain(physical)
      expect(report.findings.find((f) => f.check === 'postgres.physical-slots')).toMatchObject({
        severity: 'warn',
        detail: expect.stringMatching(new RegExp(`${physical}.*no standby streams from it`)),
        hint: expect.stringContaining(`npm run slots:drop -- ${physical}`),
      })
      // Past the retained-WAL limit it fails like any slot, whoever owns it: the disk fills all the same.
      const strict = await runDoctor(
        { sql, connect: p.connect, kafka: p.kafka },
        bookstoreTargets({ ...targets, maxSlotRetainedBytes: 1 }),
      )
      expect(strict.findings.find((f) => f.check === 'postgres.physical-slots')).toMatchObject({
        severity: 'fail',
        detail: expect.stringMatching(new RegExp(`${physical} retains .* above the 1 B limit`)),
      })
    } finally {
      await sql`select pg_drop_replication_slot(${physical})`
    }
  })

  it("flags a slot named like another database's connector's slot: that connector does not own it", async () => {
    // One Connect cluster, two databases, both with the default slot name: the connector of the
    // other database reads its own slot, and a slot of that name here is still nobody's.
    const elsewhere = `elsewhere_${p.id}`
    const decoy = `decoy_${p.id}`
    const connect = {
      list: async () => [elsewhere],
      getConfig: async (name: string) =>
        name === elsewhere ? { 'slot.name': decoy, 'database.dbname': `not_${p.db.name}` } : undefined,
    } as unknown as ConnectClient
    await sql`select pg_create_logical_replication_slot(${decoy}, 'pgoutput')`
    try {
      expect(await unownedSlots(sql, connect)).toContain(decoy)
    } finally {
      await sql`select pg_drop_replication_slot(${decoy})`
    }
  })

  it('detects a deleted connector and the slot it left behind', async () => {
    await ownPipeline(async (q, doctorOf, qSql) => {
      const slot = q.connectorEnv.CONNECTOR_SLOT_NAME
      await q.connect.remove(q.connectorEnv.CONNECTOR_NAME)
      try {
        await expect
          .poll(async () => failing((await doctorOf()).findings)['postgres.slot']?.detail, {
            timeout: 20_000,
          })
          .toMatch(/inactive/)
        expect(failing((await doctorOf()).findings)['connect.connector']).toMatchObject({
          hint: 'npm run connector:register',
        })
        expect(failing((await doctorOf()).findings)['postgres.unowned-slots']).toMatchObject({ data: [slot] })
      } finally {
        // Nobody owns the slot now; left behind, it would hold WAL for every later test.
        await qSql`select pg_drop_replication_slot(slot_name) from pg_replication_slots where slot_name = ${slot} and not active`
      }
    })
  })

  it('reads freshness and stuck orders by index probes alone, so the console sampling them every few seconds costs the same at a million orders', async () => {
    type PlanNode = {
      'Node Type': string
      'Relation Name'?: string
      'Index Name'?: string
      'Actual Loops'?: number
      'Actual Rows'?: number
      Plans?: unknown[]
    }
    const executed: PlanNode[] = []
    const walk = (node: PlanNode) => {
      // Only what ran counts: the freshness check's look through the whole inbox is a branch
      // taken only when a write is stale, never on a pipeline that is keeping up.
      if ((node['Actual Loops'] ?? 1) > 0) executed.push(node)
      for (const child of node.Plans ?? []) walk(child as PlanNode)
    }
    type Explained = { 'QUERY PLAN': Array<{ Plan: PlanNode }> }[]
    const partitions = new Map<string, number>()
    await sql.begin(async (tx) => {
      // Off, a scan is chosen only where no index can answer: what a large table would get too.
      await tx`set local enable_seqscan = off`
      for (const { inbox, sources } of freshnessStreams) {
        const [count] = await tx.unsafe<{ n: number }[]>(
          `select count(*)::int as n from (select distinct topic, partition from ${inbox}) p`,
        )
        partitions.set(inbox, count?.n ?? 0)
        const [row] = await tx.unsafe<Explained>(
          `explain (analyze, format json) ${freshnessSql(inbox, sources)}`,
          [3600],
        )
        walk(row?.['QUERY PLAN'][0]?.Plan ?? { 'Node Type': 'none' })
      }
    })
    const scanned = executed.filter((n) => n['Node Type'] === 'Seq Scan').map((n) => n['Relation Name'])
    // The books are a catalogue, not a stream: scanned, as they are few next to the orders.
    expect(scanned.filter((table) => table !== 'books')).toEqual([])
    const used = new Set(executed.map((n) => n['Index Name']).filter(Boolean))
    for (const index of [
      'consumed_events_position_idx',
      'fulfilment_inbox_position_idx',
      'orders_created_at_idx',
      'orders_cancelled_at_idx',
      'shipments_created_at_idx',
    ])
      expect(used, index).toContain(index)
    // Each inbox is read by position: at most its partitions' last 100 rows, and a probe a partition.
    for (const [inbox, count] of partitions) {
      const read = executed
        .filter((n) => n['Index Name'] === `${inbox}_position_idx`)
        .reduce((sum, n) => sum + (n['Actual Rows'] ?? 0) * (n['Actual Loops'] ?? 1), 0)
      expect(read, inbox).toBeLessThanOrEqual(count * 102 + 1)
    }
    await sql.begin(async (tx) => {
      await tx`set local enable_seqscan = off`
      const [saga] = await tx.unsafe<Explained>(`explain (format json) ${stuckOrdersSql}`, [60])
      executed.length = 0
      walk(saga?.['QUERY PLAN'][0]?.Plan ?? { 'Node Type': 'none' })
    })
    // The placed orders' own index, not created_at's: that one would walk every settled order too.
    expect(executed.map((n) => n['Index Name']).filter(Boolean)).toEqual(['orders_placed_created_at_idx'])
  })

  it('keeps freshness ok once the newest write is applied, however many older-stamped events follow it in its partition; fails when it is not', async () => {
    await ownPipeline(async (q, _doctorOf, qSql) => {
      // The newest write, 90 s old, and its event; then 150 events stamped a second earlier, as a
      // transaction that committed late (or a writer with a slower clock) leaves them, which
      // push it out of its partition's last 100 rows. Then nothing more is written.
      const [book] = await qSql<{ id: string; at: Date }[]>`
        insert into books (id, title, author, price_cents, stock, created_at, updated_at)
        values (gen_random_uuid(), 'Newest', 'Writer', 100, 1, now() - interval '90 seconds', now() - interval '90 seconds')
        returning id::text, created_at as at`
      if (!book) throw new Error('no book')
      const newest = crypto.randomUUID()
      await qSql`insert into consumed_events (event_id, event_type, topic, partition, kafka_offset, occurred_at)
        values (${newest}, 'BookAdded', 'late.book', 0, 1000, ${book.at})`
      await qSql`insert into consumed_events (event_id, event_type, topic, partition, kafka_offset, occurred_at)
        select gen_random_uuid(), 'BookAdded', 'late.book', 0, 1000 + n, ${book.at}::timestamptz - interval '1 second'
        from generate_series(1, 150) as n`
      const check = () =>
        freshnessCheck.run(
          { sql: qSql, connect: q.connect, kafka: q.kafka },
          { ...targetsOf(q), staleAfterS: 60 },
        )
      expect((await check()).map((f) => f.severity)).toEqual(['ok'])
      // Without its event, the same write is stuck, and said so.
      await qSql`delete from consumed_events where event_id = ${newest}`
      const [stuck] = await check()
      expect(stuck?.severity).toBe('fail')
      expect(stuck?.detail).toMatch(/consumed_events has not applied a write 9\d s old/)
    })
  })

  it('keeps freshness ok for a writer whose clock runs ahead of the database, once its event is applied', async () => {
    // A book and its BookAdded written by a service whose clock is 2 s ahead: both times come
    // from that clock, as the API writes them (the row's time, then the event's).
    const [clock] = await sql<{ ahead: Date }[]>`select now() + interval '2 seconds' as ahead`
    if (!clock) throw new Error('no clock')
    const at = clock.ahead.toISOString()
    const event = bookAdded({
      id: crypto.randomUUID(),
      title: 'Skewed',
      author: 'Clock',
      price: 1,
      stock: 1,
      createdAt: at,
      updatedAt: at,
      removedAt: null,
    })
    await sql.begin(async (tx) => {
      await tx`insert into books (id, title, author, price_cents, stock, created_at, updated_at)
        values (${event.aggregateId}, 'Skewed', 'Clock', 100, 1, ${at}, ${at})`
      await tx`insert into outbox (id, aggregate_type, aggregate_id, event_type, payload, created_at)
        values (${event.id}, 'book', ${event.aggregateId}, 'BookAdded', ${sql.json(event.payload)},
                ${at.replace('T', ' ').replace('Z', '')})`
      await tx`delete from outbox where id = ${event.id}`
    })
    await expect
      .poll(async () => (await sql`select 1 from consumed_events where event_id = ${event.id}`).length, {
        timeout: 20_000,
      })
      .toBe(1)
    // Wait until the database's clock has passed the write's own time, then any age counts.
    await expect
      .poll(
        async () => (await sql<{ past: boolean }[]>`select now() > ${at}::timestamptz as past`)[0]?.past,
        {
          timeout: 10_000,
        },
      )
      .toBe(true)
    const fresh = await freshnessCheck.run(
      { sql, connect: p.connect, kafka: p.kafka },
      bookstoreTargets({ ...targets, staleAfterS: 0 }),
    )
    expect(fresh.map((f) => [f.severity, f.detail])).toEqual([['ok', expect.any(String)]])
  })

  it("says fulfilment's inbox is not checked where its table is not in this database (fulfilment split off)", async () => {
    await ownPipeline(async (_q, _doctorOf, qSql) => {
      await qSql`drop table fulfilment_inbox`
      const [fresh] = await freshnessCheck.run(
        { sql: qSql, connect: p.connect, kafka: p.kafka },
        bookstoreTargets({ ...targets, fulfilmentGroup: 'outbox-cdc-fulfilment' }),
      )
      expect(fresh?.detail).toMatch(/fulfilment_inbox is not in this database/)
    })
  })
})
