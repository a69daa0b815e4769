#!/usr/bin/env bash
# A local PostgreSQL 15 for `database_url` (the store and checkpoints of many runs in one database): installs
# Debian's packages if missing, starts Debian's cluster 15/main, makes a login role and a database (both `cosr`
# unless COSR_PG_DB says otherwise; password COSR_PG_PASSWORD, default `cosr`; Debian's cluster listens on
# localhost only), and prints the URL to put in the config. Idempotent: run it again, it prints the same URL.
#   bash scripts/postgres-up.sh                  # -> postgresql://cosr:cosr@127.0.0.1:5432/cosr
#   bash scripts/postgres-up.sh --install-only   # the packages only (the tests start their own throwaway server)
# For machines of a cluster, point them all at one server you run for them, not at this one.
set -euo pipefail
VERSION=15
CLUSTER=main
DB=${COSR_PG_DB:-cosr}
PASSWORD=${COSR_PG_PASSWORD:-cosr}

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
# The server's files belong to `postgres`; cd /: its tools complain of a working directory they cannot read.
as_postgres() { (cd / && if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else sudo -u postgres "$@"; fi); }

if [ ! -x "/usr/lib/postgresql/$VERSION/bin/initdb" ]; then
  echo "[postgres] apt-get install postgresql-$VERSION" >&2
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "postgresql-$VERSION" >/dev/null
fi
[ "${1:-}" = "--install-only" ] && exit 0

cluster() { pg_lsclusters -h | awk -v v="$VERSION" -v c="$CLUSTER" '$1 == v && $2 == c {print $'"$1"'}'; }
if [ -z "$(cluster 2)" ]; then  # the package makes it; a machine that dropped it gets it back
  as_root pg_createcluster "$VERSION" "$CLUSTER" >/dev/null
fi
if [ "$(cluster 4)" != online ]; then
  echo "[postgres] starting cluster $VERSION/$CLUSTER" >&2
  as_root pg_ctlcluster "$VERSION" "$CLUSTER" start
fi
PORT=$(cluster 3)

sql() { as_postgres psql -p "$PORT" -v ON_ERROR_STOP=1 -qtA -c "$1"; }
if [ -z "$(sql "SELECT 1 FROM pg_roles WHERE rolname = '$DB'")" ]; then
  sql "CREATE ROLE \"$DB\" LOGIN PASSWORD '$PASSWORD'" >/dev/null
fi
if [ -z "$(sql "SELECT 1 FROM pg_database WHERE datname = '$DB'")" ]; then
  sql "CREATE DATABASE \"$DB\" OWNER \"$DB\"" >/dev/null
fi
echo "postgresql://$DB:$PASSWORD@127.0.0.1:$PORT/$DB"
