ALTER TABLE "consumed_events" ALTER COLUMN "consumed_at" SET DEFAULT clock_timestamp();--> statement-breakpoint
ALTER TABLE "consumed_events" ADD COLUMN "occurred_at" timestamp with time zone;