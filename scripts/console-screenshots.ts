import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { setTimeout as delay } from 'node:timers/promises'
import { consoleUrlWithToken } from 'outbox-cdc'
import type { Page } from 'playwright-core'
import { request } from 'undici'
import { consoleTokenSecret, loadConsoleConfig } from '../lib/console-config.ts'
import { waitUntil } from '../lib/wait-until.ts'
import { loadStackConfig, repoRoot } from '../stack/lib/config.ts'
import { readSecret } from '../stack/lib/secrets.ts'
import { withLocalStackDefaults } from '../stack/local-env.ts'
import { launchBrowser } from '../test/chromium.ts'
import { runCli } from './cli.ts'

const out = join(repoRoot, 'docs')

async function post(url: string, body: unknown, headers: Record<string, string> = {}) {
  const response = await request(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  })
  const json = (await response.body.json()) as { id: string }
  if (response.statusCode !== 201) throw new Error(`${url} answered ${response.statusCode}`)
  return json
}

/** A steady trickle of books and orders, so the charts have something to draw. */
async function writeLoad(apiUrl: string, seconds: number) {
  const until = Date.now() + seconds * 1000
  let written = 0
  while (Date.now() < until) {
    const book = await post(`${apiUrl}/books`, {
      title: `Book ${written}`,
      author: 'A',
      price: 9.5,
      stock: 100,
    })
    await post(
      `${apiUrl}/orders`,
      { customerId: crypto.randomUUID(), bookId: book.id, quantity: 1 },
      { 'idempotency-key': crypto.randomUUID() },
    )
    written += 2
    await delay(100)
  }
  return written
}

/** Widths a person reads the page at: a laptop's full screen, and half of a wide one. */
const widths = [1400, 1000]

/** `<name>.png` at the first width, `<name>-<width>.png` at the others; the page as it scrolls. */
async function shoot(page: Page, name: string) {
  for (const [i, width] of widths.entries()) {
    await page.setViewportSize({ width, height: 1000 })
    // The charts size themselves to their box on a resize; give them a frame to do it.
    await page.evaluate(
      'new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)))',
    )
    await page.screenshot({
      path: join(out, i === 0 ? `${name}.png` : `${name}-${width}.png`),
      fullPage: true,
    })
  }
  await page.setViewportSize({ width: widths[0] as number, height: 1000 })
}

const stage = (page: Page, id: string) => page.locator(`[data-stage="${id}"]`).getAttribute('data-severity')
const waitFor = (what: string, check: () => Promise<boolean>, timeoutMs = 30_000) =>
  waitUntil(what, check, { timeoutMs, intervalMs: 250 })

/**
 * `npm run console:screenshots`, on a pipeline `npm start` runs: writes events for a minute,
 * then saves the healthy page and the page with the connector paused (from its own button) to
 * docs/, and resumes the connector.
 */
runCli(async () => {
  const env = withLocalStackDefaults()
  const config = loadConsoleConfig(env)
  const token = config.CONSOLE_TOKEN ?? readSecret(loadStackConfig(env).secretsDir, consoleTokenSecret)
  if (!token) throw new Error('no console token yet: run npm start first')
  const browser = await launchBrowser()
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } })
    await page.goto(consoleUrlWithToken(`http://127.0.0.1:${config.CONSOLE_PORT}/`, token))
    await waitFor(
      'every stage green',
      async () => (await page.locator('#summary').textContent()) === 'every stage is healthy',
    )
    console.log('writing books and orders for 60 s …')
    console.log(`${await writeLoad(config.apiUrl, 60)} events written`)
    await delay(2 * config.CONSOLE_SAMPLE_MS)
    mkdirSync(out, { recursive: true })
    await shoot(page, 'console-healthy')
    await page.locator('[data-connector-action="pause"]').click()
    await waitFor('the connector stage red', async () => (await stage(page, 'connector')) === 'fail')
    await writeLoad(config.apiUrl, 10)
    await delay(2 * config.CONSOLE_SAMPLE_MS)
    await shoot(page, 'console-paused')
    await page.locator('[data-connector-action="resume"]').click()
    await waitFor('the connector stage green', async () => (await stage(page, 'connector')) === 'ok', 60_000)
    console.log(
      `saved ${join(out, 'console-healthy.png')}, console-paused.png and their ${widths.slice(1).join(', ')} px copies; the connector is running again`,
    )
    return 0
  } finally {
    await browser.close()
  }
})
