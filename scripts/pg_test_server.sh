#!/usr/bin/env bash
# Start a throwaway PostgreSQL + PostGIS cluster for the tests and print its URL.
#
#   URL=$(scripts/pg_test_server.sh start [DIR] [PORT])   # DIR: a fresh temp dir by default
#   scripts/pg_test_server.sh stop DIR
#
# start on a DIR that already holds a cluster starts it again (if stopped) on PORT.
#
# The cluster lives in DIR (initdb, trust auth on a private port, listening on 127.0.0.1
# and a socket in DIR only; fsync off: test data only) and runs as the owner of DIR: as root (CI) it runs as the
# `postgres` user through runuser, since the server refuses to run as root. Needs the
# Debian packages postgresql and postgresql-15-postgis-3 (.ci/run installs them).
set -euo pipefail
cmd=${1:-start}
bindir=${PG_BINDIR:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}
[ -x "$bindir/initdb" ] || { echo "PostgreSQL server binaries not found (apt-get install postgresql postgresql-15-postgis-3)" >&2; exit 2; }

as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "$cmd" in
  start)
    dir=${2:-$(mktemp -d /tmp/geo-pg.XXXXXX)}
    port=${3:-$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}
    mkdir -p "$dir"
    if [ "$(id -u)" = 0 ]; then chown postgres "$dir"; chmod 700 "$dir"; fi
    fresh=0
    if [ ! -d "$dir/data" ]; then
      fresh=1
      as_owner "$bindir/initdb" -D "$dir/data" -U geo --auth=trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
        || { cat "$dir/initdb.log" >&2; exit 1; }
    fi
    if ! as_owner "$bindir/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
      as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
        -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" start >/dev/null \
        || { cat "$dir/server.log" >&2; exit 1; }
    fi
    if [ $fresh = 1 ]; then
      as_owner "$bindir/createdb" -h 127.0.0.1 -p "$port" -U geo geo_test
      as_owner "$bindir/psql" -q -h 127.0.0.1 -p "$port" -U geo -d geo_test -c "CREATE EXTENSION IF NOT EXISTS postgis" >/dev/null
    fi
    echo "$dir" >&2
    echo "postgresql://geo@127.0.0.1:$port/geo_test"
    ;;
  stop)
    dir=${2:?give the directory printed by start}
    as_owner "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null || true
    rm -rf "$dir"
    ;;
  *) echo "usage: $0 start [DIR] [PORT] | stop DIR" >&2; exit 2 ;;
esac
