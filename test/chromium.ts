import { existsSync } from 'node:fs'
import { type Browser, chromium } from 'playwright-core'

/**
 * Where the console is looked at by its browser tests and `npm run console:screenshots`
 * (playwright-core is a dev dependency: the console itself never loads it).
 */

/** Debian's chromium (apt-get install chromium); CHROMIUM_PATH names another build. */
export const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'

/**
 * A headless Chromium from the machine, never a downloaded one. The flags keep it off the
 * network it would otherwise call at start (updates, sync, Google's hosts), which this machine
 * refuses; `--no-sandbox` because CI runs as root, where Chromium's sandbox will not start.
 */
export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(chromiumPath))
    throw new Error(`no Chromium at ${chromiumPath}: apt-get install chromium (or set CHROMIUM_PATH)`)
  return chromium.launch({
    executablePath: chromiumPath,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  })
}
