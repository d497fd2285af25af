/**
 * `created_at` as an outbox row stores it (UTC wall time, no zone), for the bench's raw-SQL writers,
 * which stand beside the toolkit's append as baselines and so do not go through it.
 */
export const outboxTimestamp = (at: Date = new Date()) => at.toISOString().replace('T', ' ').replace('Z', '')
