#!/bin/sh
# Runs once, when the Postgres container initialises its data directory: a database and a role
# for each service of SERVICE_DATABASES (space-separated; docker-compose.yml sets it from the registry).
set -eu
for service in ${SERVICE_DATABASES:?SERVICE_DATABASES is not set}; do
  password_var="$(echo "$service" | tr '[:lower:]' '[:upper:]')_DB_PASSWORD"
  eval "password=\${$password_var:?$password_var is not set}"
  psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
    -v role="${service}_service" -v password="$password" -v database="$service" \
    -f /docker-entrypoint-initdb.d/service-database.sql.inc
done
