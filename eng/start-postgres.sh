#!/usr/bin/env bash
# Starts a private PostgreSQL cluster for the broker's store tests (tests/Attach.Broker.Tests/Persistence) and
# writes their connection string to .attach/test-postgres, where `make test` reads it into ATTACH_TEST_POSTGRES.
# Installs nothing: Debian's `postgresql` must be installed (eng/ensure-deps.sh test installs it).
#
# The cluster is the test's own, not Debian's `main`: created with initdb under $ATTACH_PG_DIR
# (default /tmp/attach-postgres), owned by the postgres user when run as root (PostgreSQL refuses to run as root),
# listening on 127.0.0.1 only, on the first free port from 55432. It has a role and a database `attach_test`;
# each test makes its own schema there. Idempotent: a second run finds the cluster up and only prints.
#
#   bash eng/start-postgres.sh        start (or find) the cluster; print where it is
#   bash eng/start-postgres.sh stop   stop it (the data stays in $ATTACH_PG_DIR; `rm -rf` it to start afresh)
set -euo pipefail

dir="${ATTACH_PG_DIR:-/tmp/attach-postgres}"
data="$dir/data"
log="$dir/postgres.log"
repo="$(cd "$(dirname "$0")/.." && pwd)"
out="$repo/.attach/test-postgres"
role=attach_test
database=attach_test
# A throwaway cluster on 127.0.0.1 for tests: its password protects nothing and is no secret.
password=attach-test

bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
if [ -z "$bin" ] || [ ! -x "$bin/pg_ctl" ]; then
  echo "attach: PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/pg_ctl); install it with: sudo apt-get install postgresql" >&2
  exit 1
fi

# As root, everything runs as the postgres user Debian's package creates; otherwise as the caller.
if [ "$(id -u)" -eq 0 ]; then
  as_owner() { runuser -u postgres -- "$@"; }
else
  as_owner() { "$@"; }
fi

running() { [ -f "$data/postmaster.pid" ] && as_owner "$bin/pg_ctl" status -D "$data" >/dev/null 2>&1; }

if [ "${1:-}" = "stop" ]; then
  if running; then
    as_owner "$bin/pg_ctl" stop -D "$data" -m fast -w >/dev/null
    echo "attach: stopped the test PostgreSQL cluster in $data"
  fi
  rm -f "$out"
  exit 0
fi

# A connection string left from an earlier run must not outlive a cluster that fails to start now.
rm -f "$out"

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

if ! running; then
  mkdir -p "$dir"
  [ "$(id -u)" -eq 0 ] && chown postgres:postgres "$dir"
  if [ ! -f "$data/PG_VERSION" ]; then
    pwfile="$(mktemp)"
    echo "$password" >"$pwfile"
    chmod 644 "$pwfile"
    # Local socket: the cluster's owner without a password (to create the role); TCP: passwords only.
    as_owner "$bin/initdb" -D "$data" -U postgres --auth-local=trust --auth-host=scram-sha-256 \
      --pwfile="$pwfile" -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
      || { rm -f "$pwfile"; echo "attach: initdb failed; see $dir/initdb.log" >&2; tail -n 20 "$dir/initdb.log" >&2; exit 1; }
    rm -f "$pwfile"
  fi
  port=55432
  while port_in_use "$port"; do
    port=$((port + 1))
    if [ "$port" -gt 55532 ]; then
      echo "attach: no free port between 55432 and 55532 for the test PostgreSQL cluster" >&2
      exit 1
    fi
  done
  echo "attach: starting a PostgreSQL cluster for the store tests on 127.0.0.1:$port (log: $log)"
  # The tests kill brokers, never this server: a commit is visible to the next broker once it returns, flushed to
  # disk or not. Without fsync thousands of commits take seconds, not minutes, on CI's shared disk.
  as_owner "$bin/pg_ctl" start -D "$data" -l "$log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$dir -c max_connections=200 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" >/dev/null \
    || { echo "attach: PostgreSQL did not start; the last lines of $log:" >&2; tail -n 20 "$log" >&2; exit 1; }
fi

port="$(sed -n 4p "$data/postmaster.pid")"
psql_owner() { as_owner "$bin/psql" -h "$dir" -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1 -qAt "$@"; }
if [ "$(psql_owner -c "SELECT 1 FROM pg_roles WHERE rolname = '$role'")" != "1" ]; then
  psql_owner -c "CREATE ROLE $role LOGIN PASSWORD '$password'"
fi
if [ "$(psql_owner -c "SELECT 1 FROM pg_database WHERE datname = '$database'")" != "1" ]; then
  psql_owner -c "CREATE DATABASE $database OWNER $role"
fi

mkdir -p "$(dirname "$out")"
echo "Host=127.0.0.1;Port=$port;Database=$database;Username=$role;Password=$password" >"$out"
echo "attach: PostgreSQL for the store tests is ready on 127.0.0.1:$port, database $database (connection string in .attach/test-postgres)"
