import { spawn } from 'node:child_process'
import type { StackConfig } from './config.ts'
import { StackError } from './errors.ts'
import { jarPaths } from './jars.ts'

/** Runs a short-lived Java tool on the stack's classpath and fails with its output if it fails. */
export function runJava(java: string, config: StackConfig, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(java, ['-cp', `${jarPaths(config.jarsDir).lib}/*`, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let output = ''
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString()
    })
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString()
    })
    child.on('error', (cause) => reject(new StackError('START_FAILED', `could not run ${java}`, { cause })))
    child.on('close', (code) =>
      code === 0
        ? resolve(output)
        : reject(
            new StackError('START_FAILED', `java ${args[0]} failed (exit ${code}):\n${output.slice(-3000)}`),
          ),
    )
  })
}
