import { describe, expect, it } from 'vitest'
import type { ConnectClient } from '../connector/connect-client.ts'
import { committedSourceTime } from './source-position.ts'

const answering = (body: unknown) => ({ offsets: async () => body }) as unknown as ConnectClient

describe("Connect's committed source position", () => {
  it('is the commit time of the oldest source partition, in ms: a task behind the others holds it back', async () => {
    const body = {
      offsets: [
        { partition: { server: 'a' }, offset: { lsn: 10, ts_usec: 1_700_000_002_000_000 } },
        { partition: { server: 'b' }, offset: { lsn: 7, ts_usec: 1_700_000_001_000_500 } },
      ],
    }
    expect(await committedSourceTime(answering(body), 'c')).toBe(1_700_000_001_000)
  })

  it('is null while the connector has recorded nothing, and an error for offsets that name no time', async () => {
    expect(await committedSourceTime(answering({ offsets: [] }), 'c')).toBeNull()
    await expect(
      committedSourceTime(answering({ offsets: [{ partition: {}, offset: { position: 3 } }] }), 'c'),
    ).rejects.toThrow(/carry no ts_usec/)
    await expect(committedSourceTime(answering({ nothing: true }), 'c')).rejects.toThrow(
      /not a source connector/,
    )
  })
})
