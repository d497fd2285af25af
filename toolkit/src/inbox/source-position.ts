import { z } from 'zod'
import type { ConnectClient } from '../connector/connect-client.ts'

/** GET …/offsets as Connect 3.5+ answers it for a source connector; Debezium's offset carries `ts_usec`. */
const offsetsSchema = z.object({
  offsets: z.array(
    z.object({
      offset: z.object({ ts_usec: z.number().optional() }).passthrough().nullable(),
    }),
  ),
})

/**
 * The commit time (ms) of the last transaction Connect has recorded as sent for `connector`:
 * Debezium's committed offset names it (`ts_usec`), and nothing before it is ever re-sent. With
 * several source partitions (tasks), the oldest of them. Null while the connector has recorded
 * nothing (new, or its offsets were reset). Throws when Connect does not answer, or answers in a
 * shape that names no time (not a Debezium source connector).
 */
export async function committedSourceTime(connect: ConnectClient, connector: string): Promise<number | null> {
  const parsed = offsetsSchema.safeParse(await connect.offsets(connector))
  if (!parsed.success)
    throw new Error(
      `Connect's offsets for ${connector} are not a source connector's: ${parsed.error.message}`,
    )
  const times = parsed.data.offsets.flatMap((o) =>
    o.offset?.ts_usec === undefined ? [] : [o.offset.ts_usec],
  )
  if (parsed.data.offsets.length > 0 && times.length === 0)
    throw new Error(`Connect's offsets for ${connector} carry no ts_usec: is it a Debezium connector?`)
  return times.length === 0 ? null : Math.floor(Math.min(...times) / 1000)
}
