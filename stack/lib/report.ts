/** Where the stack tells a person what it is doing; tests pass a silent one. */
export interface Reporter {
  info(message: string): void
  /** Runs `work` as a named step and prints how long it took, so a slow step is never silent. */
  step<T>(name: string, work: () => Promise<T>): Promise<T>
}

export function formatDuration(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`
}

export function consoleReporter(write: (line: string) => void = (line) => console.log(line)): Reporter {
  return {
    info: (message) => write(`  ${message}`),
    async step(name, work) {
      const started = performance.now()
      write(`▸ ${name} …`)
      try {
        const result = await work()
        write(`✓ ${name} (${formatDuration(performance.now() - started)})`)
        return result
      } catch (error) {
        write(`✗ ${name} failed after ${formatDuration(performance.now() - started)}`)
        throw error
      }
    },
  }
}

export const silentReporter: Reporter = {
  info: () => {},
  step: (_name, work) => work(),
}
