import { loadStackConfig } from '../stack/lib/config.ts'
import { stackDown } from '../stack/lib/stack.ts'
import { hasFlag, runCli } from './cli.ts'

runCli(async () => {
  const config = loadStackConfig()
  const purge = hasFlag('--purge')
  const results = await stackDown(config, { purge })
  for (const [name, outcome] of Object.entries(results)) console.log(`  ${name.padEnd(9)} ${outcome}`)
  if (purge) console.log(`Deleted data, logs and secrets under ${config.stackDir} (the jars stay).`)
  return 0
})
