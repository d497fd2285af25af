-- 1,000 copies at the top price is 10^10 cents: past integer's 2^31 - 1, which made such orders
-- fail with 500. Rewrites the table under an exclusive lock: brief on a small table, plan it on a big one.
ALTER TABLE "orders" ALTER COLUMN "total_cents" SET DATA TYPE bigint;
