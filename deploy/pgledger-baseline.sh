#!/bin/bash
# The issue's baseline, pgledger itself (github.com/pgr0ss/pgledger), run on
# the same PostgreSQL cluster as `creditd bench --database-url`, minutes
# apart, with pgbench: the three workloads of that bench (1 client on one
# account pair; 64 clients over 1,000 pairs; 64 clients on one pair), each
# a transfer of 1 through `pgledger_create_transfer`. Prints transactions
# per second, average latency, and CPU per operation of PostgreSQL (every
# process of the cluster, from /proc) and of pgbench.
#
# Usage: deploy/pgledger-baseline.sh PGLEDGER_CHECKOUT [SECONDS]
#   PGLEDGER_CHECKOUT: a git checkout of pgr0ss/pgledger (its pgledger.sql
#   and vendor/scoville-pgsql-ulid/uuid-to-ulid.sql are loaded as they are;
#   nothing of it is kept in this repository).
# Environment: PGHOST, PGPORT, PGUSER as for psql (a superuser: the script
# drops and creates the database `pgledger_baseline`); PG_BIN (default
# /usr/lib/postgresql/15/bin). Run it on the machine of the cluster: the CPU
# figures read /proc.
set -euo pipefail
checkout=${1:?usage: $0 PGLEDGER_CHECKOUT [SECONDS]}
seconds=${2:-10}
bin=${PG_BIN:-/usr/lib/postgresql/15/bin}
db=pgledger_baseline
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"$bin/psql" -q -v ON_ERROR_STOP=1 -d postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
"$bin/psql" -q -v ON_ERROR_STOP=1 -d $db \
  -f "$checkout/vendor/scoville-pgsql-ulid/uuid-to-ulid.sql" -f "$checkout/pgledger.sql" >/dev/null
# 1,000 customer accounts (no negative balance) and 1,000 revenue accounts,
# one pair per org, as creditd's orgs each have their own balance.
"$bin/psql" -q -v ON_ERROR_STOP=1 -d $db -c "
  INSERT INTO pgledger_accounts (id, name, currency, balance, allow_negative_balance,
                                 allow_positive_balance, created_at, updated_at)
  SELECT 'c' || i, 'customer ' || i, 'CRD', 1000000000, false, true, now(), now()
    FROM generate_series(1, 1000) i
  UNION ALL
  SELECT 'r' || i, 'revenue ' || i, 'CRD', 0, false, true, now(), now()
    FROM generate_series(1, 1000) i"

echo "SELECT * FROM pgledger_create_transfer('c1', 'r1', 1);" > "$work/one.sql"
printf '%s\n' '\set a random(1, 1000)' \
  "SELECT * FROM pgledger_create_transfer('c' || :a, 'r' || :a, 1);" > "$work/many.sql"

datadir=$("$bin/psql" -Atq -d $db -c "SELECT setting FROM pg_settings WHERE name = 'data_directory'")
pid=$(head -1 "$datadir/postmaster.pid")
ticks() { # CPU ticks of the postmaster and its children
  local s=0 p f
  for p in $pid $(pgrep -P "$pid"); do
    { read -r -a f < "/proc/$p/stat"; } 2>/dev/null || continue
    s=$((s + f[13] + f[14] + f[15] + f[16]))
  done
  echo $s
}
hz=$(getconf CLK_TCK)
run() { # label script clients
  local a b out tx tps lat cpu l0 l1
  a=$(ticks); l0=$(cut -d' ' -f1 /proc/loadavg)
  out=$( { /usr/bin/time -f "PGBENCH_CPU %U %S" "$bin/pgbench" -n -M prepared -c "$3" \
           -j $(( $3 > 2 ? 2 : 1 )) -T "$seconds" -f "$2" $db; } 2>&1 )
  b=$(ticks); l1=$(cut -d' ' -f1 /proc/loadavg)
  tx=$(awk -F': ' '/actually processed/ {print $2}' <<<"$out")
  tps=$(awk '/^tps/ {printf "%.0f", $3}' <<<"$out")
  lat=$(awk '/latency average/ {print $4}' <<<"$out")
  cpu=$(awk '/PGBENCH_CPU/ {print $2 + $3}' <<<"$out")
  printf '%-28s %6s tx/s, latency avg %s ms; CPU per op: PostgreSQL %d us, pgbench %d us; load average %s -> %s\n' \
    "$1" "$tps" "$lat" $(( (b - a) * 1000000 / hz / tx )) "$(awk -v c="$cpu" -v t="$tx" 'BEGIN {printf "%d", c * 1e6 / t}')" "$l0" "$l1"
}
echo "pgledger $(git -C "$checkout" rev-parse --short HEAD 2>/dev/null || echo '?'), $seconds s per run, $(nproc) CPUs"
run "1 client, one pair" "$work/one.sql" 1
run "64 clients, 1000 pairs" "$work/many.sql" 64
run "64 clients, one pair" "$work/one.sql" 64
