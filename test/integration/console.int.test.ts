import type { AddressInfo } from 'node:net'
import {
  consoleUrlWithToken,
  isRunning,
  parseBrokers,
  type RunningConsole,
  startConsole,
  startHealthServer,
} from 'outbox-cdc'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { bookstoreChecks } from '../../doctor/checks.ts'
import { deadLetterTopic } from '../../lib/events.ts'
import { launchBrowser } from '../chromium.ts'
import { doctorTargetsOf, type Pipeline, startPipeline } from '../pipeline.ts'

const stack = inject('stack')
const token = 'c'.repeat(48)

/**
 * The ops console in a real browser (Debian's chromium) on a pipeline of its own: the API and the
 * consumer's health server listen for real, so the console reads them as it does under npm start.
 */
describe('ops console in a browser', () => {
  let p: Pipeline
  let apiUrl: string
  let consumerHealth: Awaited<ReturnType<typeof startHealthServer>>
  let ops: RunningConsole
  let browser: Browser

  /** The console as the bookstore runs it (its checks, and the saga's capture on the connector stage). */
  const open = (connectUrl = p.connectorEnv.CONNECT_URL) =>
    startConsole({
      postgresUrl: p.db.url,
      brokers: parseBrokers(p.connectorEnv.KAFKA_BROKERS),
      connectUrl,
      targets: doctorTargetsOf(p, { staleAfterS: 30 }),
      checks: bookstoreChecks,
      stages: { 'saga.capture': ['connector'] },
      writerUrl: apiUrl,
      consumerUrl: `http://127.0.0.1:${(consumerHealth.server.address() as AddressInfo).port}`,
      port: 0,
      sampleMs: 1000,
      parkedLetters: 'outbox_cdc_parked_letters',
      token,
    })
  const severities = (page: Page) =>
    page
      .locator('[data-stage]')
      .evaluateAll((els) =>
        Object.fromEntries(els.map((e) => [e.getAttribute('data-stage'), e.getAttribute('data-severity')])),
      )
  const stageOf = (page: Page, id: string) =>
    page.locator(`[data-stage="${id}"]`).getAttribute('data-severity')
  const newPage = async (url: string) => {
    const page = await browser.newPage()
    await page.goto(url)
    return page
  }
  const addBook = async (title = 'Console') => {
    const response = await fetch(`${apiUrl}/books`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ title, author: 'A', price: 1, stock: 1 }),
    })
    expect(response.status).toBe(201)
    return (await response.json()) as { id: string }
  }

  beforeAll(async () => {
    p = await startPipeline(stack, { connector: { CONNECTOR_HEARTBEAT_INTERVAL_MS: '1000' } })
    await p.app.listen({ host: '127.0.0.1', port: 0 })
    apiUrl = `http://127.0.0.1:${(p.app.server.address() as AddressInfo).port}`
    if (!p.consumer) throw new Error('the pipeline runs a consumer')
    consumerHealth = await startHealthServer(p.consumer, 0, '127.0.0.1', p.consumerMetrics)
    ops = await open()
    browser = await launchBrowser()
  })
  afterAll(async () => {
    await browser?.close()
    await ops?.stop()
    await consumerHealth?.close()
    await p?.stop()
  })

  it('loads on the running pipeline and shows every stage green', async () => {
    const page = await newPage(ops.url)
    await expect
      .poll(() => severities(page), { timeout: 60_000 })
      .toEqual({
        api: 'ok',
        postgres: 'ok',
        slot: 'ok',
        connector: 'ok',
        topics: 'ok',
        consumer: 'ok',
        readModel: 'ok',
      })
    await expect.poll(() => page.locator('#summary').textContent()).toBe('every stage is healthy')
    await page.close()
  })

  it('at 1000 px wide, shows every finding whole and keeps the lag legend from stretching its chart', async () => {
    const page = await browser.newPage({ viewport: { width: 1000, height: 900 } })
    await page.goto(ops.url)
    await addBook('Legend')
    // Lag is drawn once the consumer group has partitions to report.
    await expect
      .poll(() => page.locator('#chart-lag .u-legend .u-series').count(), { timeout: 60_000 })
      .toBeGreaterThan(3)
    // No stage's list or hint is cut off: its box is as tall as its text.
    const clipped = await page
      .locator('.stage ul, .stage .hint')
      .evaluateAll((els) =>
        els
          .filter((e) => e.scrollHeight > e.clientHeight + 1 || e.scrollWidth > e.clientWidth + 1)
          .map((e) => e.textContent),
      )
    expect(clipped).toEqual([])
    // The lag chart's figure is about as tall as the one beside it, however many partitions.
    const height = (id: string) =>
      page.locator(`#${id}`).evaluate((e) => (e.closest('figure') ?? e).getBoundingClientRect().height)
    expect(await height('chart-lag')).toBeLessThan((await height('chart-rates')) * 1.4)
    // The charts follow the window: each fills its box again once the page is wider.
    const misfit = () =>
      page
        .locator('.chart')
        .evaluateAll((els) =>
          els.map((e) =>
            Math.abs((e.querySelector('.u-wrap')?.getBoundingClientRect().width ?? 0) - e.clientWidth),
          ),
        )
    await page.setViewportSize({ width: 1400, height: 900 })
    await expect.poll(async () => Math.max(...(await misfit()))).toBeLessThan(2)
    await page.close()
  })

  it('moves the written and applied charts when events are written', async () => {
    const page = await newPage(ops.url)
    const drawn = async () => ({
      written: Number(await page.locator('#chart-rates').getAttribute('data-written')),
      applied: Number(await page.locator('#chart-rates').getAttribute('data-applied')),
    })
    await expect.poll(() => page.locator('#chart-rates canvas').count()).toBe(1)
    const before = await drawn()
    for (let i = 0; i < 5; i += 1) await addBook(`chart ${i}`)
    await expect
      .poll(
        async () => {
          const now = await drawn()
          return now.written > before.written && now.applied > before.applied
        },
        { timeout: 30_000 },
      )
      .toBe(true)
    await page.close()
  })

  it('turns the connector red within 10 s of a pause from the page, and green again on resume', async () => {
    const page = await newPage(consoleUrlWithToken(ops.url, token))
    await expect.poll(() => stageOf(page, 'connector'), { timeout: 30_000 }).toBe('ok')
    await page.locator('[data-connector-action="pause"]').click()
    await expect.poll(() => stageOf(page, 'connector'), { timeout: 10_000, interval: 200 }).toBe('fail')
    await expect(page.locator('[data-stage="connector"]').textContent()).resolves.toContain('PAUSED')
    // The top of the page says which stage and why, not only that one is broken.
    await expect(page.locator('#summary').textContent()).resolves.toMatch(
      /^Connector and task: broken \(.*PAUSED/,
    )
    await expect(page.locator('#connector-outcome').textContent()).resolves.toMatch(/^pause: done/)
    await page.locator('[data-connector-action="resume"]').click()
    await expect.poll(() => stageOf(page, 'connector'), { timeout: 30_000 }).toBe('ok')
    expect(isRunning(await p.connect.status(p.connectorEnv.CONNECTOR_NAME))).toBe(true)
    await page.close()
  })

  it('lists a poison event as a dead letter, and redrives it from the page only after confirmation', async () => {
    const page = await newPage(consoleUrlWithToken(ops.url, token))
    const eventId = crypto.randomUUID()
    const producer = p.kafka.producer()
    await producer.connect()
    await producer.send({
      topic: `${p.namespace}.book`,
      acks: -1,
      messages: [
        { key: eventId, value: '{"not":"a book"}', headers: { id: eventId, event_type: 'BookAdded' } },
      ],
    })
    await producer.disconnect()
    const copiesOnTopic = () =>
      p.records.filter((r) => r.headers.id === eventId && r.topic === `${p.namespace}.book`).length
    const row = page.locator(`#dlq-rows tr[data-event-id="${eventId}"]`)
    await expect.poll(() => row.count(), { timeout: 30_000 }).toBe(1)
    await expect(row.textContent()).resolves.toContain('INVALID_PAYLOAD')
    expect(await page.locator('#dlq-topic').textContent()).toContain(deadLetterTopic(p.namespace))
    // Its key is held back now: later events of it would be parked behind it.
    const parkedKey = page.locator(`#dlq-parked tr[data-parked-key="${eventId}"]`)
    // (The consumer records the key just after the letter: Refresh reads it again.)
    await expect
      .poll(
        async () => {
          await page.locator('#dlq-refresh').click()
          return parkedKey.count()
        },
        { timeout: 30_000, interval: 500 },
      )
      .toBe(1)
    await expect(parkedKey.textContent()).resolves.toContain(eventId)

    // The preview sends nothing; cancelling it sends nothing.
    // The preview reads the dead-letter topic to its end first: seconds under CI's load, so the
    // polls wait as long as the redrive's own below (vitest's default is one second).
    await page.locator('#dlq-preview').click()
    await expect.poll(() => page.locator('#dlq-confirm').isVisible(), { timeout: 30_000 }).toBe(true)
    expect(await page.locator('#dlq-confirm-text').textContent()).toContain(eventId)
    await page.locator('#dlq-confirm-no').click()
    await expect
      .poll(() => page.locator('#dlq-outcome').textContent(), { timeout: 15_000 })
      .toContain('nothing sent')
    expect(copiesOnTopic()).toBe(1)

    await page.locator('#dlq-preview').click()
    await page.locator('#dlq-confirm-yes').click()
    await expect
      .poll(() => page.locator('#dlq-outcome').textContent(), { timeout: 30_000 })
      .toBe('1 dead letter(s) sent back to their topics')
    await expect.poll(copiesOnTopic, { timeout: 15_000 }).toBe(2)
    await page.close()
  })

  it('refuses an action without the token, and its buttons say read-only', async () => {
    const page = await newPage(ops.url)
    await expect(page.locator('#mode').textContent()).resolves.toMatch(/^read-only/)
    expect(await page.locator('[data-connector-action="pause"]').isDisabled()).toBe(true)
    const refused = await page.evaluate(async () => {
      // Everything the page sends but the token: its header and a CSRF token of its own.
      const { csrfToken } = (await (await fetch('/api/csrf', { headers: { 'x-console': '1' } })).json()) as {
        csrfToken: string
      }
      const response = await fetch('/api/connector/pause', {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-csrf-token': csrfToken, 'x-console': '1' },
        body: '{}',
      })
      return { status: response.status, body: await response.json() }
    })
    expect(refused).toMatchObject({ status: 401, body: { code: 'TOKEN_REQUIRED' } })
    expect(isRunning(await p.connect.status(p.connectorEnv.CONNECTOR_NAME))).toBe(true)
    await page.close()
  })

  it('takes the token out of the address bar, keeps it from the server, and is sent no secret', async () => {
    const urls: string[] = []
    const bodies: Promise<string>[] = []
    const page = await browser.newPage()
    page.on('request', (request) => urls.push(request.url()))
    page.on('response', (response) => bodies.push(response.text().catch(() => '')))
    await page.goto(consoleUrlWithToken(ops.url, token))
    await expect.poll(() => page.locator('#mode').textContent()).toBe('actions enabled')
    // A full round of the page's polling: overview, history, events and the dead-letter list.
    await expect
      .poll(() => urls.filter((u) => u.includes('/api/dead-letters')).length, { timeout: 15_000 })
      .toBeGreaterThan(0)
    await expect
      .poll(() => urls.filter((u) => u.includes('/api/events')).length, { timeout: 10_000 })
      .toBeGreaterThan(1)
    expect(page.url()).not.toContain(token)
    expect(urls.filter((url) => url.includes(token))).toEqual([])
    const secrets = [token, decodeURIComponent(new URL(p.db.url).password)].filter((s) => s.length > 0)
    expect(secrets.length).toBeGreaterThan(1)
    for (const body of await Promise.all(bodies))
      for (const secret of secrets) expect(body).not.toContain(secret)
    await page.close()
  })

  it('stays useful when Connect is unreachable: that stage says so, the rest and the tail keep working', async () => {
    const blind = await open('http://127.0.0.1:9')
    try {
      const page = await newPage(blind.url)
      await expect.poll(() => stageOf(page, 'connector'), { timeout: 30_000 }).toBe('fail')
      await expect(page.locator('[data-stage="connector"]').textContent()).resolves.toContain(
        'could not check',
      )
      // The consumer stage may be amber: the dead letters of the test above are still there.
      await expect
        .poll(async () => Object.values(await severities(page)).filter((s) => s === 'fail').length, {
          timeout: 30_000,
        })
        .toBe(2)
      expect(await severities(page)).toMatchObject({
        api: 'ok',
        postgres: 'ok',
        topics: 'ok',
        readModel: 'ok',
      })
      // Which slots a connector owns is Connect's to say: that stage cannot tell either.
      await expect(page.locator('[data-stage="slot"]').textContent()).resolves.toContain('could not check')
      const book = await addBook('seen while Connect is away')
      await expect
        .poll(() => page.locator(`#event-rows tr[data-key="${book.id}"]`).count(), { timeout: 30_000 })
        .toBe(1)
      await page.close()
    } finally {
      await blind.stop()
    }
  })
})
