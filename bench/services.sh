#!/usr/bin/env bash
# PostgreSQL (+ Redis) for benchmarks, on their own ports, kept between runs so that a large data set
# is generated once and measured many times.
#
#   bash bench/services.sh start     # initdb on first use, then start (prints the URLs to export)
#   bash bench/services.sh env       # the environment the harness reads (eval "$(bash bench/services.sh env)")
#   bash bench/services.sh stop      # stop both (by pid)
#   bash bench/services.sh destroy   # stop and delete the data directory
#   bash bench/services.sh run CMD…  # start, run CMD with the environment, stop
#
# Settings are production-like for durability (fsync and synchronous_commit on) and sized for this
# machine class (2 cores, 24 GiB): see bench/RESULTS.md. wal_level=minimal only makes the bulk load
# cheaper (COPY into a table truncated in the same transaction writes no WAL); it does not change the
# measured paths. Override any setting with BENCH_PG_OPTS="-c name=value ...".
set -euo pipefail
PG_PORT=${BENCH_PG_PORT:-55462}
REDIS_PORT=${BENCH_REDIS_PORT:-56409}
DIR=${BENCH_DIR:-/var/tmp/huiyuan-bench}
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n1)
if [ "$(id -u)" -eq 0 ]; then AS_PG=(runuser -u postgres --); else AS_PG=(); fi
SETTINGS=(
  -c listen_addresses=127.0.0.1 -c max_connections=100
  -c shared_buffers=${BENCH_SHARED_BUFFERS:-4GB} -c effective_cache_size=16GB
  -c work_mem=64MB -c maintenance_work_mem=1GB
  -c wal_level=minimal -c max_wal_senders=0 -c max_wal_size=16GB -c checkpoint_timeout=30min
  -c random_page_cost=1.1 -c jit=off
  -c fsync=on -c synchronous_commit=on
)

env_lines() {
  cat <<ENV
export BENCH_DATABASE_URL=postgresql+psycopg://huiyuan_app@127.0.0.1:$PG_PORT/huiyuan_bench
export BENCH_OWNER_URL=postgresql+psycopg://huiyuan_owner@127.0.0.1:$PG_PORT/huiyuan_bench
export BENCH_SUPERUSER_URL=postgresql+psycopg://postgres@127.0.0.1:$PG_PORT/postgres
export BENCH_REDIS_URL=redis://127.0.0.1:$REDIS_PORT/0
ENV
}

start() {
  if [ ! -d "$DIR/pg/data" ]; then
    mkdir -p "$DIR"; chmod 755 "$DIR"
    if [ "$(id -u)" -eq 0 ]; then install -d -o postgres -g postgres "$DIR/pg"; else mkdir -p "$DIR/pg"; fi
    "${AS_PG[@]}" "$PGBIN/initdb" -D "$DIR/pg/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
    fresh=1
  fi
  if ! "${AS_PG[@]}" "$PGBIN/pg_ctl" -D "$DIR/pg/data" status >/dev/null 2>&1; then
    # shellcheck disable=SC2086
    "${AS_PG[@]}" "$PGBIN/pg_ctl" -D "$DIR/pg/data" -l "$DIR/pg/log" -w \
      -o "-p $PG_PORT -k $DIR/pg ${SETTINGS[*]} ${BENCH_PG_OPTS:-}" start >/dev/null
    STARTED_PG=1
  fi
  if [ "${fresh:-0}" = 1 ]; then
    psql -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -v ON_ERROR_STOP=1 <<'SQL'
CREATE ROLE huiyuan_owner LOGIN;
CREATE ROLE huiyuan_app LOGIN NOSUPERUSER NOBYPASSRLS;
SQL
  fi
  if [ ! -f "$DIR/redis.pid" ] || ! kill -0 "$(cat "$DIR/redis.pid")" 2>/dev/null; then
    redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no --daemonize yes \
      --dir "$DIR" --pidfile "$DIR/redis.pid" --logfile "$DIR/redis.log"
    for _ in $(seq 50); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
    STARTED_REDIS=1
  fi
}

stop() {
  set +e
  if [ "${1:-all}" = all ] || [ "${STARTED_REDIS:-0}" = 1 ]; then
    [ -f "$DIR/redis.pid" ] && kill "$(cat "$DIR/redis.pid")" 2>/dev/null && rm -f "$DIR/redis.pid"
  fi
  if [ "${1:-all}" = all ] || [ "${STARTED_PG:-0}" = 1 ]; then
    [ -d "$DIR/pg/data" ] && "${AS_PG[@]}" "$PGBIN/pg_ctl" -D "$DIR/pg/data" -m fast stop >/dev/null 2>&1
  fi
  return 0
}

case "${1:-}" in
  start) start; env_lines ;;
  env) env_lines ;;
  stop) stop ;;
  destroy) stop; rm -rf "$DIR" ;;
  run) shift; start; trap 'stop started' EXIT INT TERM; eval "$(env_lines)"; "$@" ;;  # stops what it started
  *) echo "usage: bash bench/services.sh start|env|stop|destroy|run CMD..." >&2; exit 2 ;;
esac
