-- Inbox pruning (the toolkit's migration 2): where each inbox's pruner records its horizon, the
-- offset of the latest copy of each event, and the index the pruner reads each partition by. On a
-- large inbox, build the index first without blocking the consumers, under the same name:
--   create index concurrently if not exists "consumed_events_position_idx" on consumed_events (topic, partition, kafka_offset);
-- and this migration finds it.
CREATE TABLE "outbox_cdc_inbox_horizon" (
	"inbox" text NOT NULL,
	"topic" text NOT NULL,
	"partition" integer NOT NULL,
	"below_offset" bigint NOT NULL,
	"pruned_before" timestamp with time zone NOT NULL,
	"pruned_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "outbox_cdc_inbox_horizon_pkey" PRIMARY KEY("inbox","topic","partition")
);
--> statement-breakpoint
ALTER TABLE "consumed_events" ADD COLUMN "last_offset" bigint;--> statement-breakpoint
ALTER TABLE "fulfilment_inbox" ADD COLUMN "last_offset" bigint;--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "consumed_events_position_idx" ON "consumed_events" USING btree ("topic","partition","kafka_offset");--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "fulfilment_inbox_position_idx" ON "fulfilment_inbox" USING btree ("topic","partition","kafka_offset");