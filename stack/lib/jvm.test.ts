import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { loadStackConfig } from './config.ts'
import { jvmLaunch } from './jvm.ts'

describe("a stack JVM's command line", () => {
  const dir = mkdtempSync(join(tmpdir(), 'jvm-test-'))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))
  const argsOf = (env: Record<string, string>) =>
    jvmLaunch(loadStackConfig({ STACK_DIR: dir, ...env }), 'java', dir, 'kafka.Kafka', 'server.properties')
      .args

  it('fixes the heap at STACK_JVM_HEAP, and touches it all at start only when STACK_JVM_PRETOUCH says so', () => {
    expect(argsOf({ STACK_JVM_HEAP: '512m' })).toEqual(expect.arrayContaining(['-Xms512m', '-Xmx512m']))
    expect(argsOf({})).not.toContain('-XX:+AlwaysPreTouch')
    expect(argsOf({ STACK_JVM_PRETOUCH: 'true' })).toContain('-XX:+AlwaysPreTouch')
    expect(() => argsOf({ STACK_JVM_PRETOUCH: 'yes please' })).toThrow(/STACK_JVM_PRETOUCH/)
  })
})
