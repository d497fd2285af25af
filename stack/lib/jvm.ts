import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { StackConfig } from './config.ts'
import { jarPaths } from './jars.ts'

/** Renders a Java .properties file; keys are sorted so a diff between runs shows real changes. */
export function renderProperties(entries: Record<string, string | number>): string {
  return `${Object.keys(entries)
    .sort()
    .map((key) => `${key}=${entries[key]}`)
    .join('\n')}\n`
}

/** log4j2 to stdout, which the stack sends to the component's log file. */
const log4j2 = renderProperties({
  'rootLogger.level': 'INFO',
  'rootLogger.appenderRef.stdout.ref': 'STDOUT',
  'appender.stdout.type': 'Console',
  'appender.stdout.name': 'STDOUT',
  'appender.stdout.layout.type': 'PatternLayout',
  'appender.stdout.layout.pattern': '[%d] %p %m (%c)%n',
  // Every client prints its whole config at INFO; that buries what matters in the log.
  'logger.clientconfig.name': 'org.apache.kafka.common.config.AbstractConfig',
  'logger.clientconfig.level': 'WARN',
})

/**
 * The command line for one of the stack's JVMs. The `-Doutbox.stack.dir` flag is the marker that
 * lets stack:down and stack:status tell our process from anything else with a recycled pid.
 */
export function jvmLaunch(
  config: StackConfig,
  java: string,
  dir: string,
  mainClass: string,
  propertiesFile: string,
  /** More -D flags (the secured Connect's JAAS file). */
  jvmFlags: string[] = [],
) {
  const log4jFile = join(dir, 'log4j2.properties')
  writeFileSync(log4jFile, log4j2)
  // The closing slash keeps one folder's marker from being the prefix of another's (kafka, kafka-2).
  const marker = `-Doutbox.stack.dir=${dir}/`
  return {
    command: java,
    args: [
      `-Xms${config.env.STACK_JVM_HEAP}`,
      `-Xmx${config.env.STACK_JVM_HEAP}`,
      '-XX:+ExitOnOutOfMemoryError',
      ...(config.env.STACK_JVM_PRETOUCH ? ['-XX:+AlwaysPreTouch'] : []),
      '-Djava.awt.headless=true',
      `-Dlog4j2.configurationFile=${log4jFile}`,
      marker,
      ...jvmFlags,
      '-cp',
      `${jarPaths(config.jarsDir).lib}/*`,
      mainClass,
      propertiesFile,
    ],
    marker,
  }
}
