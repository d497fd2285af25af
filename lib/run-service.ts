/** A long-running process once it is built: how it starts serving and how it lets go. */
export interface Service {
  /** Starts serving (listen, join the group). A signal that arrives meanwhile stops the service. */
  start(): Promise<void>
  /** Releases what the service holds (requests in flight, pools, the group); the process exits after. */
  stop(): Promise<void>
  /** Told on the first SIGINT or SIGTERM, before the stop: the place to log why it stops. */
  onSignal?(signal: NodeJS.Signals): void
  /**
   * Told just before a forced exit: `'timeout'` when the stop overran `stopTimeoutMs`, or the
   * second signal that asked for it.
   */
  onForcedExit?(why: 'timeout' | NodeJS.Signals): void
}

/** What a service can ask of its runner while it runs. */
export interface ServiceControl {
  /**
   * Stops the service and exits with `code`, as a signal would with 0: a service's way out of a
   * fatal error. Ignored while a stop is already under way.
   */
  exit(code: number): void
  /** True once a stop is under way (a signal's or an exit's): a later fatal error is no news. */
  readonly stopping: boolean
}

export interface ServiceOptions {
  /** How long a stop may take before the process exits anyway. */
  stopTimeoutMs: number
  /**
   * The exit code of a forced exit (the stop overran, or a second signal). Without it, the code
   * the stop was for: 0 after a signal, the code given to `exit`.
   */
  forcedExitCode?: number
}

/**
 * A start-up failure as its reader wants it: an error with a code (every refusal ours make) as
 * `CODE: message`, one line a supervisor's log keeps whole; anything else in full, stack and all,
 * so it can be reported.
 */
export function describeFailure(error: unknown): unknown {
  // kafkajs's errors carry a `code` that is often undefined or a number: only a string is ours.
  const code = error instanceof Error ? (error as Error & { code?: unknown }).code : undefined
  return typeof code === 'string' && error instanceof Error ? `${code}: ${error.message}` : error
}

/** A repeat of the first signal sooner than this is the same event reaching the process twice. */
const repeatAfterMs = 500

/**
 * Runs a service as its process: `build` loads config and opens what the service needs, and
 * returns it; the runner then starts it. SIGINT or SIGTERM stops it and exits 0; a stop that
 * takes longer than `stopTimeoutMs`, or the same signal again half a second or more later, exits at once, so a request or a pool
 * that never finishes cannot keep a stopped process alive. A failure to build, start or stop is
 * printed (see describeFailure) and exits 1 (a start that a stop cut short is left to the stop,
 * which exits with its own code): a supervisor restarts the process, which fails fast
 * on bad config instead of half-running.
 */
export function runService(
  build: (control: ServiceControl) => Promise<Service>,
  options: ServiceOptions,
): void {
  let service: Service | undefined
  let stopping: number | undefined

  const fail = (error: unknown): never => {
    console.error(describeFailure(error))
    process.exit(1)
  }
  const forceExit = (why: 'timeout' | NodeJS.Signals, code: number) => {
    service?.onForcedExit?.(why)
    process.exit(options.forcedExitCode ?? code)
  }
  const stopAndExit = async (code: number) => {
    if (stopping !== undefined) return
    stopping = code
    // Should the stop leave nothing alive without settling, the process ends by itself, with this
    // code; the timer is unref'd so as not to hold it for the whole timeout.
    process.exitCode = code
    setTimeout(() => forceExit('timeout', code), options.stopTimeoutMs).unref()
    try {
      await service?.stop()
    } catch (error) {
      fail(error)
    }
    process.exit(code)
  }
  let firstSignal: { signal: NodeJS.Signals; at: number } | undefined
  const onSignal = (signal: NodeJS.Signals) => {
    // The same signal again, a moment later, is the operator asking twice (Ctrl-C, Ctrl-C): they
    // want the process gone now. Not so a signal from another sender: Ctrl-C or a group SIGTERM
    // (systemd, `timeout`, `kill -TERM -<pgid>`) reaches a whole process group, and `npm start`'s
    // supervisor's SIGTERM follows within milliseconds; it must not cut short the stop (requests
    // drained, the group left) the first one began. No person presses twice within half a second.
    const now = performance.now()
    if (firstSignal?.signal === signal && now - firstSignal.at >= repeatAfterMs)
      return forceExit(signal, stopping ?? 0)
    if (firstSignal !== undefined || stopping !== undefined) {
      firstSignal ??= { signal, at: now }
      return
    }
    firstSignal = { signal, at: now }
    service?.onSignal?.(signal)
    void stopAndExit(0)
  }
  const control: ServiceControl = {
    exit: (code) => void stopAndExit(code),
    get stopping() {
      return stopping !== undefined
    },
  }

  // A throw before build's first await is a start-up failure like any other.
  Promise.resolve()
    .then(() => build(control))
    .then((built) => {
      service = built
      // Installed once there is something to stop, before it starts: a signal while the service
      // connects (a group join can take a while) stops it cleanly too.
      process.on('SIGINT', onSignal)
      process.on('SIGTERM', onSignal)
      return built.start()
    })
    .catch((error: unknown) => {
      // A start cut short by a stop (a signal while it connects) fails as a matter of course:
      // the stop under way exits.
      if (stopping === undefined) fail(error)
    })
}
