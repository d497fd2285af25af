CREATE TABLE "outbox_heartbeat" (
	"beat_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
-- In the publication (inserts only, like the outbox), so a heartbeat reaches the connector.
ALTER PUBLICATION outbox_publication ADD TABLE outbox_heartbeat;
--> statement-breakpoint
-- The replication role runs the heartbeat action; it may write this table and nothing else.
DO $$
BEGIN
  IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'outbox_cdc') THEN
    GRANT SELECT, INSERT, DELETE ON outbox_heartbeat TO outbox_cdc;
  END IF;
END $$;
