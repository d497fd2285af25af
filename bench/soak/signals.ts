const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const

/**
 * Stops the soak's stack on Ctrl-C, CI's timeout or a dropped terminal, from before the stack
 * starts: its components run detached, so a soak killed by a signal's default action would leave
 * Postgres, Kafka and Connect running. A second signal while stopping is answered with a line,
 * not obeyed, since exiting then would leave the stack half stopped. `stop` runs once.
 * Returns a function that removes the handlers.
 */
export function stopOnSignals(
  stop: (signal: string) => Promise<void>,
  say: (line: string) => void,
  exit: (code: number) => void = (code) => process.exit(code),
): () => void {
  let stopping = false
  const handler = (signal: NodeJS.Signals) => {
    if (stopping) {
      say(`${signal}: already stopping the soak's stack; it exits when that is done`)
      return
    }
    stopping = true
    say(`${signal}: stopping the soak's stack`)
    void stop(signal)
      .catch((error: unknown) => say(`stopping failed: ${String(error)}`))
      .finally(() => exit(130))
  }
  for (const signal of signals) process.on(signal, handler)
  return () => {
    for (const signal of signals) process.off(signal, handler)
  }
}
