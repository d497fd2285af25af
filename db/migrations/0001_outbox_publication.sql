-- Debezium reads the outbox through this publication: inserts only (the rows are deleted in the
-- same transaction, and those deletes must not reach Kafka), and only this table.
CREATE PUBLICATION outbox_publication FOR TABLE outbox WITH (publish = 'insert');
--> statement-breakpoint
-- The replication role reads the outbox and nothing else. It is created outside migrations (by
-- the local stack, or a DBA: see the README), since creating roles needs more than table owners have.
DO $$
BEGIN
  IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'outbox_cdc') THEN
    GRANT SELECT ON outbox TO outbox_cdc;
  END IF;
END $$;
