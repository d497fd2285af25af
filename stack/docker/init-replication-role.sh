#!/usr/bin/env bash
# Runs once, when the compose Postgres initialises its data directory: the role Debezium
# connects as, with LOGIN and REPLICATION only (the migrations grant it SELECT on the outbox).
set -euo pipefail
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  -v password="$CONNECTOR_DB_PASSWORD" <<'SQL'
CREATE ROLE outbox_cdc LOGIN REPLICATION PASSWORD :'password';
SQL
