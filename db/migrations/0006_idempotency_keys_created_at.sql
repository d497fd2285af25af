-- The API deletes expired idempotency keys oldest first, in small batches: this index lets each
-- batch find them without reading the whole table.
CREATE INDEX "idempotency_keys_created_at_idx" ON "idempotency_keys" USING btree ("created_at");
