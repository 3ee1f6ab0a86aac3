#!/bin/sh
# Runs once, when the PostgreSQL container first creates its data directory
# (docker-entrypoint-initdb.d). The tables belong to POSTGRES_USER, which runs the migrations;
# the application connects as mentoring_app, which may read and write rows but owns nothing:
# it cannot drop the access log's append-only triggers, truncate a table or change the schema.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  -v owner="$POSTGRES_USER" -v db="$POSTGRES_DB" -v password="$APP_DB_PASSWORD" <<'SQL'
CREATE ROLE mentoring_app LOGIN PASSWORD :'password';
GRANT CONNECT, TEMPORARY ON DATABASE :"db" TO mentoring_app;
GRANT USAGE ON SCHEMA public TO mentoring_app;
ALTER DEFAULT PRIVILEGES FOR ROLE :"owner" IN SCHEMA public
  GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO mentoring_app;
ALTER DEFAULT PRIVILEGES FOR ROLE :"owner" IN SCHEMA public
  GRANT USAGE, SELECT ON SEQUENCES TO mentoring_app;
SQL
