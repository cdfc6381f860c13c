#!/bin/bash
# The locally built Postgres image's entrypoint (scripts/verify-containers.sh): what the official
# postgres image does that docker-compose.yml relies on — on an empty data directory, initdb with
# POSTGRES_PASSWORD for the `postgres` role and run /docker-entrypoint-initdb.d/*.sh and *.sql —
# then Postgres in the foreground with the arguments given (e.g. -p 55432).
set -euo pipefail
export PGDATA=${PGDATA:-/var/lib/postgresql/data}
bin=/usr/lib/postgresql/15/bin
if [ "$(id -u)" = 0 ]; then
  mkdir -p "$PGDATA" /run/postgresql
  chown -R postgres:postgres "$PGDATA" /run/postgresql
  chmod 700 "$PGDATA"
  exec setpriv --reuid=postgres --regid=postgres --init-groups "$0" "$@"
fi
port=5432
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do [ "${args[$i]}" = "-p" ] && port=${args[$((i + 1))]}; done
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  : "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD is required}"
  "$bin/initdb" -D "$PGDATA" -U postgres --auth-host=scram-sha-256 --auth-local=trust --pwfile=<(printf '%s\n' "$POSTGRES_PASSWORD") >/dev/null
  printf "host all all 0.0.0.0/0 scram-sha-256\nhost all all ::/0 scram-sha-256\n" >> "$PGDATA/pg_hba.conf"
  "$bin/pg_ctl" -D "$PGDATA" -o "-c listen_addresses='' -p $port" -w start >/dev/null
  export POSTGRES_USER=postgres PGPORT=$port PGHOST=/run/postgresql
  for f in /docker-entrypoint-initdb.d/*; do
    case "$f" in
      *.sh) echo "running $f"; bash "$f" ;;
      *.sql) echo "running $f"; psql -v ON_ERROR_STOP=1 -U postgres -d postgres -f "$f" ;;
    esac
  done
  "$bin/pg_ctl" -D "$PGDATA" -m fast -w stop >/dev/null
  unset PGHOST PGPORT
fi
exec "$bin/postgres" -D "$PGDATA" -c listen_addresses='*' "$@"
