-- The doctor's freshness check reads the newest order, cancellation and shipment as often as the
-- console samples; these make each an index probe instead of a scan. On a large orders table, build
-- them first without blocking writes, under the same names, and this migration finds them:
--   create index concurrently if not exists "orders_created_at_idx" on orders (created_at);
--   create index concurrently if not exists "orders_cancelled_at_idx" on orders (cancelled_at) where cancelled_at is not null;
--   create index concurrently if not exists "shipments_created_at_idx" on shipments (created_at);
-- An index such a build left invalid (interrupted, timed out) is dropped and built again here:
-- kept, it would cost every write and answer no read, and "if not exists" alone would keep it.
DO $$ BEGIN IF EXISTS (SELECT FROM pg_index WHERE indexrelid = to_regclass('"orders_created_at_idx"') AND NOT indisvalid) THEN DROP INDEX "orders_created_at_idx"; END IF; END $$;--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "orders_created_at_idx" ON "orders" USING btree ("created_at");--> statement-breakpoint
DO $$ BEGIN IF EXISTS (SELECT FROM pg_index WHERE indexrelid = to_regclass('"orders_cancelled_at_idx"') AND NOT indisvalid) THEN DROP INDEX "orders_cancelled_at_idx"; END IF; END $$;--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "orders_cancelled_at_idx" ON "orders" USING btree ("cancelled_at") WHERE "orders"."cancelled_at" is not null;--> statement-breakpoint
DO $$ BEGIN IF EXISTS (SELECT FROM pg_index WHERE indexrelid = to_regclass('"shipments_created_at_idx"') AND NOT indisvalid) THEN DROP INDEX "shipments_created_at_idx"; END IF; END $$;--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "shipments_created_at_idx" ON "shipments" USING btree ("created_at");