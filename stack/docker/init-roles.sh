#!/usr/bin/env bash
# Runs once, when the compose Postgres initialises its data directory, as the superuser `postgres`.
# The same roles as the native stack (stack/lib/postgres.ts): the application role owns its
# database and nothing else; the role Debezium connects as has LOGIN and REPLICATION only (the
# migrations grant it SELECT on the outbox).
set -euo pipefail
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
  -v app_user="$APP_DB_USER" -v app_db="$APP_DB_NAME" -v app_password="$APP_DB_PASSWORD" \
  -v cdc_password="$CONNECTOR_DB_PASSWORD" <<'SQL'
CREATE ROLE :"app_user" LOGIN PASSWORD :'app_password';
CREATE DATABASE :"app_db" OWNER :"app_user";
CREATE ROLE outbox_cdc LOGIN REPLICATION PASSWORD :'cdc_password';
SQL
