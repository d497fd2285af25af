import type { Kafka } from 'kafkajs'
import { type DeadLetter, listDeadLetters } from '../tools/dlq.ts'

/** The most dead letters of each partition the page is shown (the newest). */
export const newestPerPartition = 100

/**
 * The page's view of the dead-letter topic: the newest letters of each partition, read at most
 * once per `ttlMs` however many pages (or other local processes) ask, one read at a time, and
 * given up after `timeoutMs`. Reading is open to anyone who can reach the console, so a reader
 * must not be able to make it read a long topic into memory again and again.
 */
export function createDeadLetterView(kafka: Kafka, topic: string, o: { ttlMs: number; timeoutMs: number }) {
  let cached: { at: number; letters: DeadLetter[] } | undefined
  let reading: Promise<DeadLetter[]> | undefined
  const read = async () => {
    let timer: NodeJS.Timeout | undefined
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`the dead-letter topic did not answer within ${o.timeoutMs} ms`)),
        o.timeoutMs,
      )
    })
    try {
      return await Promise.race([listDeadLetters(kafka, topic, { newest: newestPerPartition }), late])
    } finally {
      clearTimeout(timer)
    }
  }
  return {
    async letters(): Promise<DeadLetter[]> {
      if (cached && Date.now() - cached.at < o.ttlMs) return cached.letters
      reading ??= read()
        .then((letters) => {
          cached = { at: Date.now(), letters }
          return letters
        })
        .finally(() => {
          reading = undefined
        })
      return reading
    },
    /** After a redrive: the next look reads again. */
    forget() {
      cached = undefined
    },
  }
}
