#!/usr/bin/env bash
# Start throwaway PostgreSQL, Redis and localstripe (a fake Stripe API) on loopback, run "$@" against
# them, then stop them (by pid).
#
# The database has two roles, as production should: huiyuan_owner owns the schema and runs the
# migrations; huiyuan_app (no superuser, no BYPASSRLS) is what the app and the tests connect as,
# so row-level security really applies.
set -euo pipefail
PG_PORT=${PG_PORT:-55432}
REDIS_PORT=${REDIS_PORT:-56379}
STRIPE_PORT=${STRIPE_PORT:-58420}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
LOCALSTRIPE=${LOCALSTRIPE:-$ROOT/.venv/bin/localstripe}
RUN=$(mktemp -d /tmp/huiyuan-test.XXXXXX)
chmod 755 "$RUN"
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n1)
if [ "$(id -u)" -eq 0 ]; then AS_PG=(runuser -u postgres --); install -d -o postgres -g postgres "$RUN/pg";
else AS_PG=(); mkdir -p "$RUN/pg"; fi

cleanup() {
  set +e
  [ -f "$RUN/redis.pid" ] && kill "$(cat "$RUN/redis.pid")" 2>/dev/null
  [ -f "$RUN/localstripe.pid" ] && kill "$(cat "$RUN/localstripe.pid")" 2>/dev/null
  [ -d "$RUN/pg/data" ] && "${AS_PG[@]}" "$PGBIN/pg_ctl" -D "$RUN/pg/data" -m immediate stop >/dev/null 2>&1
  rm -rf "$RUN"
}
trap cleanup EXIT INT TERM

"${AS_PG[@]}" "$PGBIN/initdb" -D "$RUN/pg/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
"${AS_PG[@]}" "$PGBIN/pg_ctl" -D "$RUN/pg/data" -l "$RUN/pg/log" -w \
  -o "-p $PG_PORT -k $RUN/pg -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c max_connections=200" \
  start >/dev/null
psql -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -v ON_ERROR_STOP=1 <<'SQL'
CREATE ROLE huiyuan_owner LOGIN;
CREATE ROLE huiyuan_app LOGIN NOSUPERUSER NOBYPASSRLS;
CREATE DATABASE huiyuan OWNER huiyuan_owner;
SQL
psql -q -h 127.0.0.1 -p "$PG_PORT" -U huiyuan_owner -d huiyuan -v ON_ERROR_STOP=1 <<'SQL'
GRANT USAGE ON SCHEMA public TO huiyuan_app;
ALTER DEFAULT PRIVILEGES FOR ROLE huiyuan_owner IN SCHEMA public
  GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO huiyuan_app;
ALTER DEFAULT PRIVILEGES FOR ROLE huiyuan_owner IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO huiyuan_app;
SQL

redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no --daemonize yes \
  --dir "$RUN" --pidfile "$RUN/redis.pid" --logfile "$RUN/redis.log"
for _ in $(seq 50); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done

# localstripe binds every interface and keeps its state in /tmp/localstripe.pickle (not read back:
# --from-scratch). Its webhooks are registered by the billing tests themselves.
# localstripe binds without SO_REUSEADDR: right after an earlier run its port may still be held by
# connections in TIME_WAIT (up to a minute). Wait until it can be bound.
for _ in $(seq 120); do
  "$ROOT/.venv/bin/python" -c "import socket,sys; s=socket.socket(socket.AF_INET6); s.bind(('::', int(sys.argv[1])))" \
    "$STRIPE_PORT" 2>/dev/null && break
  sleep 0.5
done
"$LOCALSTRIPE" --port "$STRIPE_PORT" --from-scratch >"$RUN/localstripe.log" 2>&1 &
echo $! >"$RUN/localstripe.pid"
for _ in $(seq 100); do
  curl -s -o /dev/null -u sk_test_ping: "http://127.0.0.1:$STRIPE_PORT/v1/customers" && break
  kill -0 "$(cat "$RUN/localstripe.pid")" 2>/dev/null || { cat "$RUN/localstripe.log" >&2; exit 1; }
  sleep 0.1
done

export TEST_DATABASE_URL="postgresql+psycopg://huiyuan_app@127.0.0.1:$PG_PORT/huiyuan"
export TEST_MIGRATION_DATABASE_URL="postgresql+psycopg://huiyuan_owner@127.0.0.1:$PG_PORT/huiyuan"
export TEST_SUPERUSER_DATABASE_URL="postgresql+psycopg://postgres@127.0.0.1:$PG_PORT/postgres"
export TEST_REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0"
export TEST_STRIPE_API_BASE="http://127.0.0.1:$STRIPE_PORT"
export TEST_RUN_DIR="$RUN"
"$@"
