import { readTarget, startForwarder } from './lib/forwarder.ts'

/**
 * The Postgres address of a stack with a standby (STACK_POSTGRES_STANDBY): a process of its own,
 * like the servers, so it outlives the command that started it. It forwards
 * `<host>:<port>` to the node its target file names, and reads that file again on SIGHUP, which is
 * how a failover moves it.
 *
 *   tsx stack/postgres-address.ts <host> <port> <target file>
 */
const [host, port, file] = process.argv.slice(2)
if (!host || !port || !file) {
  console.error('usage: postgres-address.ts <host> <port> <target file>')
  process.exit(2)
}
const say = (message: string) => console.log(`${new Date().toISOString()} ${message}`)
try {
  const forwarder = await startForwarder({ host, port: Number(port), target: readTarget(file) })
  const where = () => `${forwarder.target.node} (${forwarder.target.host}:${forwarder.target.port})`
  say(`listening on ${host}:${port}, forwarding to ${where()}`)
  process.on('SIGHUP', () => {
    try {
      const target = readTarget(file)
      const dropped = forwarder.connections
      forwarder.retarget(target)
      say(`now forwarding to ${where()}; dropped ${dropped} connection(s) to the old target`)
    } catch (error) {
      // A bad file moves nothing: the address keeps its target, and says why.
      say(`target unchanged, still ${where()}: ${error instanceof Error ? error.message : String(error)}`)
    }
  })
  for (const signal of ['SIGINT', 'SIGTERM'] as const)
    process.on(signal, () => {
      say(`stopping on ${signal}`)
      void forwarder.close().then(() => process.exit(0))
    })
} catch (error) {
  console.error(error instanceof Error ? error.message : String(error))
  process.exit(1)
}
