import 'vitest'
import type { TestProject } from 'vitest/node'
import type { ComponentName } from '../stack/lib/component.ts'
import { loadStackConfig } from '../stack/lib/config.ts'
import { consoleReporter } from '../stack/lib/report.ts'
import { type StackInfo, stackUp, stopComponents } from '../stack/lib/stack.ts'

declare module 'vitest' {
  export interface ProvidedContext {
    stack: StackInfo & {
      /** The local stack's secrets folder (Connect's file provider reads there); null in Docker. */
      secretsDir: string | null
      /** Where Connect reaches Postgres, when not at the host and port the tests use (Docker). */
      connectorDatabase: { host: string; port: number } | null
    }
  }
}

/**
 * Starts the stack once for the whole run, or reuses one that `npm run stack:up` left running.
 * Only what this setup started is stopped afterwards, so a developer's running stack survives.
 */
export default async function setup(project: TestProject) {
  const config = loadStackConfig()
  if (config.env.STACK_MODE === 'testcontainers') {
    const { startComposeStack } = await import('./compose-stack.ts')
    const started = await startComposeStack()
    project.provide('stack', {
      ...started.info,
      secretsDir: null,
      connectorDatabase: { host: 'postgres', port: 5432 },
    })
    return started.stop
  }

  const { info, outcomes } = await stackUp(
    config,
    consoleReporter((line) => console.log(`[stack] ${line}`)),
  )
  project.provide('stack', { ...info, secretsDir: config.secretsDir, connectorDatabase: null })
  const startedHere = (Object.keys(outcomes) as ComponentName[]).filter(
    (name) => outcomes[name] === 'started',
  )

  return async () => {
    await stopComponents(config, startedHere)
  }
}
