import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { closeSync, openSync } from 'node:fs'
import { createInterface } from 'node:readline'

/** How soon a service that exited is started again. */
export interface RestartPolicy {
  /** Wait before the first restart; each further one in a row waits twice as long… */
  initialDelayMs: number
  /** …up to this. */
  maxDelayMs: number
  /** A run at least this long counts as healthy: the next exit starts again from `initialDelayMs`. */
  healthyAfterMs: number
  /** Restarts in a row (without a healthy run between) before giving up on the service. */
  maxRestarts: number
}

export const defaultRestartPolicy: RestartPolicy = {
  initialDelayMs: 500,
  maxDelayMs: 30_000,
  healthyAfterMs: 30_000,
  maxRestarts: Number.POSITIVE_INFINITY,
}

/** The wait before restart number `restart` (1 for the first) of a run of quick exits. */
export function restartDelayMs(restart: number, policy: RestartPolicy): number {
  return Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** Math.max(0, restart - 1))
}

/** What to run: `node <args>` with this environment. */
export interface ServiceSpec {
  args: string[]
  env: NodeJS.ProcessEnv
}

/**
 * Node arguments that run a TypeScript entry point with tsx as a loader. One process per service,
 * so a signal (SIGKILL, SIGSTOP) reaches the service itself: through the `tsx` wrapper, its
 * child would live on.
 */
export const tsxArgs = (entryPath: string) => ['--import', 'tsx', entryPath]

/** What the supervisor tells about an exit it did not ask for. */
export interface ServiceExit {
  code: number | null
  signal: NodeJS.Signals | null
  /** Restarts in a row so far, this one included. */
  restart: number
  /** When it will be started again; undefined when the supervisor gave up on it. */
  delayMs: number | undefined
}

export interface SupervisorOptions {
  cwd: string
  policy?: Partial<RestartPolicy>
  /** Where a service's stdout and stderr go: appended to a file, or handed over line by line. */
  output: { file: (name: string) => string } | { line: (name: string, line: string) => void }
  /** Called on every exit the supervisor did not cause, before it restarts (or gives up on) the service. */
  onExit?: (name: string, exit: ServiceExit) => void
}

interface Service {
  spec: ServiceSpec
  child?: ChildProcess
  startedAt: number
  /** False once killed, given up on, or stopped: an exit is then not restarted. */
  supervised: boolean
  restarts: number
  pendingRestart?: NodeJS.Timeout
}

const isRunning = (child: ChildProcess | undefined): child is ChildProcess =>
  child !== undefined && child.exitCode === null && child.signalCode === null

/** A stopped (SIGSTOP) process acts on no signal but SIGKILL until continued, so continue it. */
function send(child: ChildProcess | undefined, signal: NodeJS.Signals) {
  if (!isRunning(child)) return
  child.kill(signal)
  if (signal !== 'SIGKILL') child.kill('SIGCONT')
}

async function waitForExit(child: ChildProcess | undefined) {
  if (isRunning(child)) await once(child, 'exit')
}

/**
 * Runs services as child processes of this one and starts each again when it exits on its own
 * (the consumer exits 1 on purpose when it cannot go on), after a delay that doubles with each
 * exit in a row, so a service that cannot start does not spin. States per service: running,
 * waiting to restart, or not supervised (killed, given up on, or stopped).
 */
export function createSupervisor(options: SupervisorOptions) {
  const policy = { ...defaultRestartPolicy, ...options.policy }
  const services = new Map<string, Service>()
  let stopping = false
  let unexpectedExits = 0

  function spawnService(name: string, service: Service) {
    const output = options.output
    const log = 'file' in output ? openSync(output.file(name), 'a') : undefined
    const child = spawn(process.execPath, service.spec.args, {
      cwd: options.cwd,
      env: service.spec.env,
      stdio: log === undefined ? ['ignore', 'pipe', 'pipe'] : ['ignore', log, log],
    })
    if (log !== undefined) closeSync(log)
    if ('line' in output) {
      for (const stream of [child.stdout, child.stderr]) {
        if (stream) createInterface({ input: stream }).on('line', (line) => output.line(name, line))
      }
    }
    service.child = child
    service.startedAt = Date.now()
    child.on('exit', (code, signal) => onExit(name, service, child, code, signal))
  }

  function onExit(
    name: string,
    service: Service,
    child: ChildProcess,
    code: number | null,
    signal: NodeJS.Signals | null,
  ) {
    if (stopping || !service.supervised || service.child !== child) return
    unexpectedExits += 1
    if (Date.now() - service.startedAt >= policy.healthyAfterMs) service.restarts = 0
    service.restarts += 1
    const givingUp = service.restarts > policy.maxRestarts
    const delayMs = givingUp ? undefined : restartDelayMs(service.restarts, policy)
    if (givingUp) service.supervised = false
    options.onExit?.(name, { code, signal, restart: service.restarts, delayMs })
    if (delayMs === undefined) return
    service.pendingRestart = setTimeout(() => {
      service.pendingRestart = undefined
      if (!stopping && service.supervised) spawnService(name, service)
    }, delayMs)
  }

  /** Takes a service out of supervision and cancels a restart it was waiting for. */
  function release(service: Service) {
    service.supervised = false
    clearTimeout(service.pendingRestart)
    service.pendingRestart = undefined
  }

  return {
    /**
     * Starts `name` and supervises it. A service of that name must not be running (kill it
     * first); one that was killed or given up on is replaced, with `spec` as its new settings.
     */
    start(name: string, spec: ServiceSpec) {
      const previous = services.get(name)
      if (previous?.supervised || isRunning(previous?.child))
        throw new Error(`${name} is already running; kill it first`)
      if (stopping) throw new Error(`the supervisor is stopping; ${name} was not started`)
      const service: Service = { spec, startedAt: 0, supervised: true, restarts: 0 }
      services.set(name, service)
      spawnService(name, service)
    },
    /** Starts a killed (or given up on) service again with the settings it last had. */
    restart(name: string) {
      const service = services.get(name)
      if (!service) throw new Error(`no service named ${name}`)
      this.start(name, service.spec)
    },
    /** Whether `name` was ever started here (so it is a service, not something else of that name). */
    has: (name: string) => services.has(name),
    /** The pid of a service's current process, while one runs. */
    pidOf: (name: string) => {
      const child = services.get(name)?.child
      return isRunning(child) ? child.pid : undefined
    },
    /** Sends a signal without changing supervision: SIGSTOP freezes a service, SIGCONT lets it go on. */
    signal(name: string, signal: NodeJS.Signals) {
      const child = services.get(name)?.child
      if (isRunning(child)) child.kill(signal)
    },
    /** Stops supervising `name`, sends `signal` (SIGKILL: as a crash would) and waits until it is gone. */
    async kill(name: string, signal: NodeJS.Signals = 'SIGKILL') {
      const service = services.get(name)
      if (!service) throw new Error(`no service named ${name}`)
      release(service)
      send(service.child, signal)
      await waitForExit(service.child)
    },
    /** Exits since start that the supervisor did not cause (each restarted unless it gave up). */
    get unexpectedExits() {
      return unexpectedExits
    },
    /** Restarts nothing from now on, sends every service `signal` and waits until all have exited. */
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      stopping = true
      const children = [...services.values()].map((service) => {
        release(service)
        send(service.child, signal)
        return service.child
      })
      await Promise.all(children.map(waitForExit))
    },
  }
}

export type Supervisor = ReturnType<typeof createSupervisor>
