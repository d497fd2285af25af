-- The doctor's saga check counts the orders still placed as often as the console samples; this
-- index holds those alone. On a large orders table, build it first without blocking writes:
--   create index concurrently if not exists "orders_placed_created_at_idx" on orders (created_at) where status = 'placed';
-- An index such a build left invalid is dropped and built again here, as in 0010.
DO $$ BEGIN IF EXISTS (SELECT FROM pg_index WHERE indexrelid = to_regclass('"orders_placed_created_at_idx"') AND NOT indisvalid) THEN DROP INDEX "orders_placed_created_at_idx"; END IF; END $$;--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "orders_placed_created_at_idx" ON "orders" USING btree ("created_at") WHERE "orders"."status" = 'placed';