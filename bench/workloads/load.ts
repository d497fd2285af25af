import { setTimeout as delay } from 'node:timers/promises'
import { Agent, request } from 'undici'
import { waitUntil } from '../../lib/wait-until.ts'

/** One client for the whole run: undici keeps connections open as a real caller's pool would. */
export function apiClient(apiUrl: string, connections: number) {
  const agent = new Agent({ connections, pipelining: 1, headersTimeout: 30_000, bodyTimeout: 30_000 })
  const post = async (path: string, body: unknown): Promise<{ status: number; json: { id?: string } }> => {
    const response = await request(`${apiUrl}${path}`, {
      method: 'POST',
      dispatcher: agent,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    })
    return { status: response.statusCode, json: (await response.body.json()) as { id?: string } }
  }
  return { post, close: () => agent.close() }
}

export type ApiClient = ReturnType<typeof apiClient>

/** Polls GET /health until the API answers 200 (it is still starting when the rig returns). */
export async function waitForApi(apiUrl: string, timeoutMs = 60_000) {
  await waitUntil(
    `the API at ${apiUrl} to become healthy`,
    () =>
      request(`${apiUrl}/health`).then(
        async (r) => {
          await r.body.dump()
          return r.statusCode === 200
        },
        // Not listening yet: still starting.
        () => false,
      ),
    { timeoutMs, intervalMs: 200 },
  )
}

/** Books with stock that lasts the whole run, so every order is accepted. */
export async function seedBooks(client: ApiClient, count: number): Promise<string[]> {
  const ids: string[] = []
  for (let i = 0; i < count; i += 1) {
    const answer = await client.post('/books', {
      title: `Bench ${i}`,
      author: 'Bench',
      price: 9.99,
      stock: 1_000_000,
    })
    if (answer.status !== 201 || !answer.json.id) throw new Error(`seeding a book answered ${answer.status}`)
    ids.push(answer.json.id)
  }
  return ids
}

export const orderBody = (bookIds: string[], i: number) => ({
  customerId: crypto.randomUUID(),
  bookId: bookIds[i % bookIds.length],
  quantity: 1 + (i % 3),
})

/**
 * Runs `op` from `concurrency` workers back to back for `seconds` (closed loop) and returns each
 * completed call's latency in ms. Failures are counted, never retried, and fail the phase.
 */
export async function closedLoop(concurrency: number, seconds: number, op: (i: number) => Promise<void>) {
  const latencies: number[] = []
  let failures = 0
  let next = 0
  const started = performance.now()
  const end = started + seconds * 1000
  const worker = async () => {
    while (performance.now() < end) {
      const i = next++
      const t0 = performance.now()
      try {
        await op(i)
        latencies.push(performance.now() - t0)
      } catch {
        failures += 1
      }
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker))
  return { latencies, failures, seconds: (performance.now() - started) / 1000 }
}

/**
 * Offers `ratePerS` calls a second for `seconds` (open loop: a call starts on schedule whether or
 * not earlier ones finished, as independent users do), up to `maxInFlight` at once. Calls not
 * started when the time is up are not made: an overloaded system shows as a shortfall in the
 * achieved rate, not as a longer run.
 */
export async function openLoop(
  ratePerS: number,
  seconds: number,
  maxInFlight: number,
  op: (i: number) => Promise<void>,
) {
  let completed = 0
  let failures = 0
  let inFlight = 0
  let begun = 0
  // Callers waiting for a free slot; each finished call wakes one.
  const waiting: Array<() => void> = []
  const settled: Promise<void>[] = []
  const started = performance.now()
  const end = started + seconds * 1000
  for (let i = 0; performance.now() < end; i += 1) {
    const due = started + (i / ratePerS) * 1000
    if (due >= end) break
    const wait = due - performance.now()
    if (wait > 1) await delay(wait)
    if (inFlight >= maxInFlight) await new Promise<void>((resolve) => waiting.push(resolve))
    inFlight += 1
    begun += 1
    settled.push(
      op(i)
        .then(
          () => {
            completed += 1
          },
          () => {
            failures += 1
          },
        )
        .finally(() => {
          inFlight -= 1
          waiting.shift()?.()
        }),
    )
  }
  await Promise.all(settled)
  const elapsed = (performance.now() - started) / 1000
  return {
    offered: Math.round(ratePerS * seconds),
    started: begun,
    completed,
    failures,
    seconds: elapsed,
    achievedPerS: completed / elapsed,
  }
}
