CREATE TABLE "fulfilment_inbox" (
	"event_id" uuid PRIMARY KEY NOT NULL,
	"event_type" text NOT NULL,
	"topic" text NOT NULL,
	"partition" integer NOT NULL,
	"kafka_offset" bigint NOT NULL,
	"consumed_at" timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
	"occurred_at" timestamp with time zone,
	"redeliveries" integer DEFAULT 0 NOT NULL
);
--> statement-breakpoint
CREATE TABLE "fulfilment_outbox" (
	"id" uuid PRIMARY KEY NOT NULL,
	"aggregate_type" text NOT NULL,
	"aggregate_id" text NOT NULL,
	"event_type" text NOT NULL,
	"payload" jsonb NOT NULL,
	"created_at" timestamp(6) NOT NULL,
	"trace_context" text
);
--> statement-breakpoint
CREATE TABLE "shipments" (
	"order_id" uuid PRIMARY KEY NOT NULL,
	"book_id" uuid NOT NULL,
	"quantity" integer NOT NULL,
	"status" text NOT NULL,
	"reason" text,
	"created_at" timestamp with time zone NOT NULL,
	CONSTRAINT "shipments_reason" CHECK (("shipments"."status" = 'failed') = ("shipments"."reason" is not null))
);
--> statement-breakpoint
ALTER TABLE "books" ADD COLUMN "warehouse_capacity" integer;--> statement-breakpoint
ALTER TABLE "orders" ADD COLUMN "warehouse_capacity" integer;--> statement-breakpoint
ALTER TABLE "orders" ADD COLUMN "fulfilled_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "orders" ADD COLUMN "cancelled_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "orders" ADD COLUMN "cancel_reason" text;--> statement-breakpoint
ALTER TABLE "books" ADD CONSTRAINT "books_warehouse_capacity_non_negative" CHECK ("books"."warehouse_capacity" >= 0);--> statement-breakpoint
ALTER TABLE "orders" ADD CONSTRAINT "orders_status_times" CHECK (("orders"."status" = 'fulfilled') = ("orders"."fulfilled_at" is not null) and ("orders"."status" = 'cancelled') = ("orders"."cancelled_at" is not null));--> statement-breakpoint
-- Fulfilment's outbox travels the same way as the API's: inserts only, through the same
-- publication and connector (a second service with its own database would have its own).
ALTER PUBLICATION outbox_publication ADD TABLE fulfilment_outbox;
--> statement-breakpoint
DO $$
BEGIN
  IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'outbox_cdc') THEN
    GRANT SELECT ON fulfilment_outbox TO outbox_cdc;
  END IF;
END $$;
