/**
 * All the console holds in memory, so that it runs for weeks in constant space: fifteen minutes
 * of samples (what the charts show), the newest events the tail saw, and the dead-letter list it
 * last read, for a short while so that a page refreshing every few seconds does not re-read the
 * topic each time. docs/console.md states these figures, and a test holds the two together.
 */
export const consoleMemory = {
  sampleKeepMs: 15 * 60 * 1000,
  recentEvents: 500,
  deadLetterListMs: 2000,
} as const
