import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { describe, expect, it, vi } from 'vitest'
import type { DoctorDeps } from '../doctor/check.ts'
import { finding } from '../doctor/finding.ts'
import { createRecentEvents } from './recent-events.ts'
import { createSampler } from './sampler.ts'

/** Nothing listens on port 9 (discard): the services are "down" for real, answered at once. */
const nowhere = 'http://127.0.0.1:9'

describe('what the console keeps', () => {
  it('keeps samples for keepMs only, and shows services that do not answer as red stages', async () => {
    const sampler = createSampler({
      deps: {} as DoctorDeps,
      targets: {} as never,
      checks: [],
      writerUrl: nowhere,
      consumerUrl: nowhere,
      timeoutMs: 1000,
      keepMs: 0,
      intervalMs: 60_000,
    })
    const first = await sampler.refresh()
    await vi.waitFor(() => expect(Date.now()).toBeGreaterThan(first.t))
    const second = await sampler.refresh()
    expect(sampler.samples()).toEqual([second])
    const stages = Object.fromEntries((sampler.latest()?.stages ?? []).map((s) => [s.id, s]))
    expect(stages.api).toMatchObject({ severity: 'fail', details: [expect.stringContaining('cannot reach')] })
    expect(sampler.latest()).toMatchObject({ written: undefined, applied: undefined })
  })

  it('never shows a password written into a service URL: the page is open to every reader', async () => {
    const sampler = createSampler({
      deps: {} as DoctorDeps,
      targets: {} as never,
      checks: [],
      writerUrl: 'http://ops:api-secret@127.0.0.1:9',
      consumerUrl: 'http://ops:consumer-secret@127.0.0.1:9',
      timeoutMs: 1000,
      keepMs: 60_000,
      intervalMs: 60_000,
    })
    const text = JSON.stringify(await sampler.refresh())
    expect(text).toContain('cannot reach http://127.0.0.1:9/health')
    expect(text).not.toMatch(/secret/)
  })

  it("shows the consumer's own word: out of its group with the reason, and waiting for its topics", async () => {
    let health = {
      status: 503,
      body: { state: 'running', reason: 'kafkajs crashed 4 s ago (boom) and has not rejoined' },
    }
    const server = createServer((_request, response) => {
      response.writeHead(health.status, { 'content-type': 'application/json' })
      response.end(JSON.stringify(health.body))
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const consumerUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    const consumerStage = async () => {
      const sampler = createSampler({
        deps: {} as DoctorDeps,
        targets: {} as never,
        checks: [],
        writerUrl: nowhere,
        consumerUrl,
        timeoutMs: 1000,
        keepMs: 60_000,
        intervalMs: 60_000,
      })
      const sample = await sampler.refresh()
      return sample.stages.find((stage) => stage.id === 'consumer')
    }
    try {
      const out = await consumerStage()
      expect(out?.severity).toBe('fail')
      expect(out?.details.join(' ')).toContain('has not rejoined')
      // Not "start the consumer": it runs. Nor a promise that kafkajs rejoins by itself: it does
      // not while a topic it reads is gone (the consumer then fails and exits, for a fresh start).
      expect(out?.hint ?? '').not.toMatch(/start the consumer/)
      expect(out?.hint ?? '').not.toMatch(/rejoins by itself/)
      expect(out?.hint ?? '').toMatch(/log/)
      health = { status: 200, body: { state: 'waiting', waitingFor: ['ns.*'] } as never }
      const waiting = await consumerStage()
      expect(waiting?.severity).toBe('warn')
      expect(waiting?.details.join(' ')).toMatch(/waiting for ns\.\*/)
    } finally {
      server.close()
    }
  })

  it('keeps the newest events up to its capacity, numbering on across what fell off', () => {
    const events = createRecentEvents(2)
    const event = (key: string) => ({
      at: '',
      topic: 't',
      partition: 0,
      offset: '0',
      key,
      eventType: 'X',
      eventId: null,
      payload: null,
    })
    for (const key of ['a', 'b', 'c']) events.push(event(key))
    const { events: kept, last } = events.after(0, {})
    expect(kept.map((e) => [e.key, e.seq])).toEqual([
      ['b', 2],
      ['c', 3],
    ])
    expect(last).toBe(3)
  })

  it('numbers each console process apart, so a page polling across a restart starts again', () => {
    const before = createRecentEvents(2)
    const after = createRecentEvents(2)
    expect(before.after(0, {}).epoch).not.toBe(after.after(0, {}).epoch)
    expect(before.after(0, {}).epoch).toBe(before.after(5, {}).epoch)
  })

  it("shows a service it was not told of as amber, never green, and every checked group's lag", async () => {
    const lags = (check: string, lag: number) => ({
      name: check,
      hintWhenUnreachable: '',
      run: async () => [
        { ...finding(check, 'ok', 'lag'), data: [{ topic: 'ns.invoice', partition: 0, lag }] },
      ],
    })
    const sampler = createSampler({
      deps: {} as DoctorDeps,
      targets: { consumers: [{ group: 'g' }] } as never,
      checks: [lags('consumer.group', 3), lags('ledger.group', 7)],
      timeoutMs: 1000,
      keepMs: 60_000,
      intervalMs: 60_000,
    })
    const sample = await sampler.refresh()
    const stages = Object.fromEntries(sample.stages.map((s) => [s.id, s]))
    expect(stages.api).toMatchObject({ severity: 'warn', details: [expect.stringMatching(/not watched/)] })
    expect(stages.consumer?.severity).toBe('warn')
    expect(stages.consumer?.hint).toMatch(/consumerUrl/)
    expect(sample.lag).toEqual({ 'ns.invoice[0]': 3, 'ledger ns.invoice[0]': 7 })
  })
})
