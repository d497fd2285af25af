import { existsSync } from 'node:fs'
import { join } from 'node:path'
import type { Component } from './component.ts'
import { portEnvVar, repoRoot, type StackConfig } from './config.ts'
import { StackError } from './errors.ts'
import { localPostgresUrls, postgresAnswers, postgresComponent } from './postgres.ts'
import { serverMajor } from './postgres-binaries.ts'
import {
  addressName,
  addressTargetFile,
  currentPrimary,
  otherNode,
  pointAddressAt,
  retiredMarker,
} from './postgres-standby.ts'
import { isOurs, readRecord } from './processes.ts'

/**
 * The address clients use when the stack has a standby: POSTGRES_PORT, forwarded to the primary
 * (stack/postgres-address.ts). Started after the primary, before the standby. Node itself runs it
 * with tsx's loader, so a failover's SIGHUP reaches it (tsx's wrapper would not pass it on).
 */
export function postgresAddressComponent(config: StackConfig): Component {
  const dir = join(config.stackDir, addressName)
  const port = config.env.POSTGRES_PORT
  const file = addressTargetFile(config)
  return {
    name: addressName,
    dir,
    ports: [{ port, envVar: portEnvVar.postgres }],
    async prepare() {
      // The node the address points at keeps its name; its port is the configuration's of today.
      pointAddressAt(config, currentPrimary(config))
    },
    launch() {
      return {
        command: process.execPath,
        args: [
          '--import',
          import.meta.resolve('tsx'),
          join(repoRoot, 'stack', 'postgres-address.ts'),
          '127.0.0.1',
          String(port),
          file,
        ],
        marker: file,
      }
    },
    // A query through it answers only once it listens and its primary does.
    probe: () => postgresAnswers(localPostgresUrls(config).adminUrl),
  }
}

/**
 * Starts the stack's Postgres with a standby: the primary (the node the address points at), then
 * the address, then the standby, copied from the primary on its first start. Refuses, before
 * anything starts, a server too old for failover slots, and a folder whose Postgres runs in the
 * other shape.
 */
export async function startPostgresWithStandby(
  config: StackConfig,
  pgBin: string,
  start: (component: Component) => Promise<void>,
): Promise<void> {
  const major = Number(serverMajor(pgBin) ?? 0)
  if (major < 17)
    throw new StackError(
      'PREREQUISITE_MISSING',
      `STACK_POSTGRES_STANDBY needs Postgres 17 or later (failover slots); this stack runs ${major || 'an unknown major'}. ` +
        'Set STACK_POSTGRES_VERSION=17 or 18 on a new stack folder.',
    )
  assertShape(config, true)
  const primary = currentPrimary(config)
  await start(postgresComponent(config, pgBin, primary))
  await start(postgresAddressComponent(config))
  await start(postgresComponent(config, pgBin, otherNode(primary)))
}

/**
 * Refuses to start Postgres in one shape while it runs in the other: alone on POSTGRES_PORT, or as
 * two nodes behind the address there. Each holds the other's port.
 */
export function assertShape(config: StackConfig, standby: boolean): void {
  const running = (name: string) => {
    const record = readRecord(join(config.stackDir, name, 'process.json'))
    return record && isOurs(record) ? record : undefined
  }
  // Alone after a failover, Postgres would start the old primary's data, or a standby's.
  if (!standby && currentPrimary(config) !== 'postgres')
    throw new StackError(
      'TOPOLOGY_MISMATCH',
      `this stack's primary is ${currentPrimary(config)} since a failover: it runs with its standby (STACK_POSTGRES_STANDBY=1), ` +
        'or start over with `npm run stack:down -- --purge`.',
    )
  if (
    !standby &&
    (existsSync(retiredMarker(config, 'postgres')) ||
      existsSync(join(config.stackDir, 'postgres', 'data', 'standby.signal')))
  )
    throw new StackError(
      'TOPOLOGY_MISMATCH',
      "this stack's first Postgres node is a standby or a retired primary: it runs with its standby (STACK_POSTGRES_STANDBY=1), " +
        'or start over with `npm run stack:down -- --purge`.',
    )
  const single = running('postgres')
  const runsAlone = single?.ports[0] === config.env.POSTGRES_PORT && !running(addressName)
  const runsWithStandby = running(addressName) !== undefined
  if ((standby && runsAlone) || (!standby && runsWithStandby))
    throw new StackError(
      'TOPOLOGY_MISMATCH',
      `this stack's Postgres runs ${runsAlone ? 'alone' : 'with a standby'}, and STACK_POSTGRES_STANDBY=${standby ? 1 : 0} asks for ` +
        `${standby ? 'a standby' : 'it alone'}: stop it first (npm run stack:down), then start again.`,
    )
}
