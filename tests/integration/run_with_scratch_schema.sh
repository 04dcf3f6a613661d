#!/usr/bin/env bash
# Runs PROGRAM "$PGQRS_TEST_POSTGRES_DSN" [ARGS...] with PGQRS_SCHEMA set to a fresh schema,
# which is dropped afterwards. Exits 77 (ctest SKIP_RETURN_CODE) when
# PGQRS_TEST_POSTGRES_DSN is not set, else with PROGRAM's status.
set -euo pipefail
if [[ -z ${PGQRS_TEST_POSTGRES_DSN:-} ]]; then
  echo "PGQRS_TEST_POSTGRES_DSN is not set: needs a Postgres server (make test starts one)"
  exit 77
fi
program=$1
shift
schema="pgqrs_ex_$$_${RANDOM}"
psql -qX -v ON_ERROR_STOP=1 "$PGQRS_TEST_POSTGRES_DSN" -c "CREATE SCHEMA $schema" >/dev/null
trap 'psql -qX "$PGQRS_TEST_POSTGRES_DSN" -c "DROP SCHEMA IF EXISTS $schema CASCADE" >/dev/null 2>&1' EXIT
PGQRS_SCHEMA=$schema "$program" "$PGQRS_TEST_POSTGRES_DSN" "$@"
