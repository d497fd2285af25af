-- The doctor's saga check counts the orders still placed as often as the console samples; this
-- index holds those alone. On a large orders table, build it first without blocking writes:
--   create index concurrently if not exists "orders_placed_created_at_idx" on orders (created_at) where status = 'placed';
CREATE INDEX IF NOT EXISTS "orders_placed_created_at_idx" ON "orders" USING btree ("created_at") WHERE "orders"."status" = 'placed';