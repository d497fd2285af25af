import { readFileSync, renameSync, writeFileSync } from 'node:fs'
import { createConnection, createServer, type Server, type Socket } from 'node:net'
import { z } from 'zod'
import { StackError } from './errors.ts'

/**
 * The local stack's stand-in for what, in production, makes one address follow the primary: a DNS
 * name, a virtual IP, CloudNativePG's `-rw` service, an RDS endpoint. Every client (the API, the
 * consumers, fulfilment, Debezium) connects here; each connection is passed, byte for byte, to the
 * node the target file names. Moving the address drops every connection it carries, as a VIP
 * moved off a dead primary does: a client reconnects, and reaches the new primary.
 */

export const targetSchema = z.object({
  host: z.string().min(1),
  port: z.number().int().min(1).max(65_535),
  /** Which node of the stack this is (a component's name), for status and logs. */
  node: z.string().min(1),
})
export type Target = z.infer<typeof targetSchema>

/** The target in `file`; a missing, unreadable or malformed file is an error that names it. */
export function readTarget(file: string): Target {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (cause) {
    throw new StackError(
      'ADDRESS_TARGET_INVALID',
      `the Postgres address has no target: cannot read ${file}`,
      { cause },
    )
  }
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (cause) {
    throw new StackError('ADDRESS_TARGET_INVALID', `${file} is not JSON: ${String(cause)}`, { cause })
  }
  const parsed = targetSchema.safeParse(json)
  if (!parsed.success)
    throw new StackError(
      'ADDRESS_TARGET_INVALID',
      `${file} is not a target: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'} ${i.message}`).join('; ')}`,
    )
  return parsed.data
}

/** Writes `target` to `file` in one rename: a forwarder reading it never sees half a file. */
export function writeTarget(file: string, target: Target): void {
  const checked = targetSchema.parse(target)
  const temporary = `${file}.${process.pid}.tmp`
  writeFileSync(temporary, `${JSON.stringify(checked)}\n`, { mode: 0o644 })
  renameSync(temporary, file)
}

export interface Forwarder {
  readonly server: Server
  readonly target: Target
  /** Client connections carried now. */
  readonly connections: number
  /** Points the address at `target` and drops every connection carried to the old one. */
  retarget(target: Target): void
  close(): Promise<void>
}

/** Listens on `host:port` and carries each connection to the current target. */
export async function startForwarder(options: {
  host: string
  port: number
  target: Target
}): Promise<Forwarder> {
  let target = targetSchema.parse(options.target)
  const pairs = new Set<{ client: Socket; upstream: Socket }>()
  const server = createServer({ noDelay: true }, (client) => {
    const upstream = createConnection({ host: target.host, port: target.port, noDelay: true })
    const pair = { client, upstream }
    pairs.add(pair)
    // Either side ending or failing ends both: a client must see its server go, never hang.
    const end = () => {
      pairs.delete(pair)
      client.destroy()
      upstream.destroy()
    }
    for (const socket of [client, upstream]) {
      socket.on('error', end)
      socket.on('close', end)
    }
    client.pipe(upstream)
    upstream.pipe(client)
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port, options.host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  const dropAll = () => {
    for (const { client, upstream } of pairs) {
      client.destroy()
      upstream.destroy()
    }
    pairs.clear()
  }
  return {
    server,
    get target() {
      return target
    },
    get connections() {
      return pairs.size
    },
    retarget(next) {
      target = targetSchema.parse(next)
      dropAll()
    },
    close() {
      dropAll()
      return new Promise((resolve) => server.close(() => resolve()))
    },
  }
}
