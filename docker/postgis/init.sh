#!/bin/sh
# Entry point of the postgis service: initialises an empty $PGDATA once, then runs postgres in the
# foreground. Needs POSTGRES_PASSWORD (the superuser "postgres") and MAEUL_DB_PASSWORD (the role "maeul")
# on the first start only; later starts use the cluster as it is.
set -eu
: "${PGDATA:=/var/lib/postgresql/data}"

if [ ! -s "$PGDATA/PG_VERSION" ]; then
  : "${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD (docker/.env) for the first start}"
  : "${MAEUL_DB_PASSWORD:?set MAEUL_DB_PASSWORD (docker/.env) for the first start}"
  echo "maeul-postgis: initialising $PGDATA"
  pwfile=$(mktemp)
  printf '%s\n' "$POSTGRES_PASSWORD" > "$pwfile"
  initdb -D "$PGDATA" -U postgres --pwfile="$pwfile" --encoding=UTF8 --locale=C.UTF-8 \
    --auth-local=peer --auth-host=scram-sha-256 >/dev/null
  rm -f "$pwfile"
  # Other containers reach it over the compose network; every such connection needs a password.
  echo "host all all all scram-sha-256" >> "$PGDATA/pg_hba.conf"
  pg_ctl -D "$PGDATA" -o "-c listen_addresses=''" -w start >/dev/null
  psql -v ON_ERROR_STOP=1 -q -U postgres -d postgres -v pw="$MAEUL_DB_PASSWORD" <<'SQL'
CREATE ROLE maeul LOGIN PASSWORD :'pw';
CREATE DATABASE maeul OWNER maeul;
\connect maeul
CREATE EXTENSION postgis;
SQL
  pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
  echo "maeul-postgis: created role and database maeul with postgis"
fi

exec postgres -D "$PGDATA" -c listen_addresses='*' "$@"
