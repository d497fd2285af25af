-- Dead letters that keep each key's order (the toolkit's migration 3): the keys each consumer group
-- holds back behind a dead letter, one row per letter, kept in Postgres so parking survives restarts
-- and rebalances.
CREATE TABLE "outbox_cdc_parked_letters" (
	"seq" bigint GENERATED ALWAYS AS IDENTITY (sequence name "outbox_cdc_parked_letters_seq_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"group_id" text NOT NULL,
	"event_id" text NOT NULL,
	"topic" text NOT NULL,
	"key" text NOT NULL,
	"original_offset" bigint NOT NULL,
	"behind" text,
	"parked_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "outbox_cdc_parked_letters_pkey" PRIMARY KEY("group_id","event_id")
);
--> statement-breakpoint
CREATE INDEX "outbox_cdc_parked_letters_key_idx" ON "outbox_cdc_parked_letters" USING btree ("group_id","topic","key");