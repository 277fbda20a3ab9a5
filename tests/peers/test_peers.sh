#!/usr/bin/env bash
# tests/peers/test_peers.sh BUILD_ROOT - the Lua scripts and SQL statements of
# `tools/bench peers` are right: against a private redis-server (appendfsync
# always) and a private PostgreSQL 15, the peer clients sell an event of 1,000
# seats out with --check (a seat held after its sale, or sold twice, fails
# the client), a fifth of the holds abandoned with a 300 ms hold expiry; a
# second run, after the expiry, sells what the abandoned holds had kept.
# The confirms of both runs add up to exactly 1,000 and their holds to 1,000
# plus the holds left to expire (each such seat was held again); the server
# itself is asked that every seat is sold and none held. First, bad options
# to both clients and to tools/bench-peers: exit 2 with a specific message.
# A peer whose packages or client are missing is skipped; exit 77 when both
# are.
set -euo pipefail
build=$(cd "${1:?usage: test_peers.sh BUILD_ROOT}" && pwd -P)
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
# shellcheck source=tools/peers_lib.sh
. "$root/tools/peers_lib.sh"
work=$(mktemp -d /tmp/stampede-test-peers-XXXXXX)
chmod 711 "$work"
trap 'peers_stop_all; rm -rf "$work"' EXIT
seats=1000
ran=0 fail=0

# field JSON KEY: one value of a client's (flat, one-line) JSON.
field() { sed -n "s/.*\"$2\":\([^,}]*\).*/\1/p" <<<"$1"; }

# check WHAT GOT WANT
check() {
	if [ "$2" = "$3" ]; then
		echo "ok: $1 ($2)"
	else
		echo "FAIL: $1: $2, expected $3"
		fail=$((fail + 1))
	fi
}

# sell CLIENT ARGS...: run 1 abandons 20% of holds (300 ms expiry); after the
# expiry, run 2 (--keep) sells the rest. Prints both confirm counts.
sell() {
	local client=$1 j1 j2
	shift
	j1=$("$client" "$@" --seats $seats --seconds 10 --check --abandon 20 --ttl-ms 300) || { echo "FAIL: run 1: $j1"; return 1; }
	sleep 0.4
	j2=$("$client" "$@" --seats $seats --seconds 10 --check --keep) || { echo "FAIL: run 2: $j2"; return 1; }
	check "run 1 sold out" "$(field "$j1" sold_out)" true
	check "run 1 abandoned some holds" "$(($(field "$j1" abandoned) > 0))" 1
	# Every seat sold once, every abandoned (or expired) hold's seat held again.
	check "holds of both runs" "$(($(field "$j1" holds) + $(field "$j2" holds)))" \
		"$((seats + $(field "$j1" abandoned) + $(field "$j1" refused)))"
	check "confirms of both runs" "$(($(field "$j1" confirms) + $(field "$j2" confirms)))" $seats
}

# bad WHAT EXPECT CMD...: CMD exits 2 with a message matching EXPECT.
bad() {
	local what=$1 expect=$2 out rc=0
	shift 2
	out=$("$@" 2>&1) || rc=$?
	if [ "$rc" = 2 ] && grep -q -- "$expect" <<<"$out"; then
		echo "ok: refused $what"
	else
		echo "FAIL: $what: exit $rc, $out"
		fail=$((fail + 1))
	fi
}
for c in redis:--socket pg:--conninfo; do
	client="$build/tools/stampede-peers-${c%%:*}" target=${c#*:}
	[ -x "$client" ] || continue
	bad "${c%%:*}: a word for --seats" "not a number: x" "$client" "$target" /nonexistent --seats x
	bad "${c%%:*}: zero connections" "need $target" "$client" "$target" /nonexistent --conns 0
	bad "${c%%:*}: --abandon 100" "--abandon 0..99" "$client" "$target" /nonexistent --abandon 100
	bad "${c%%:*}: no $target" "need $target" "$client" --seats 10
	bad "${c%%:*}: an unknown option" "usage" "$client" "$target" /nonexistent --bogus
done
bad "bench-peers: a word for --seconds" "not a whole number" "$root/tools/bench-peers" --seconds abc
bad "bench-peers: --seats 0" "not a positive integer" "$root/tools/bench-peers" --seats 0

if command -v redis-server >/dev/null && [ -x "$build/tools/stampede-peers-redis" ]; then
	ran=$((ran + 1))
	echo "== redis"
	peers_redis_start "$work/redis" always
	s="$work/redis/redis.sock"
	sell "$build/tools/stampede-peers-redis" --socket "$s" --conns 4 --depth 32 || fail=$((fail + 1))
	pad=$(((seats + 7) / 8 * 8 - seats))
	check "redis: seats taken (+$pad padding bits)" "$(redis-cli -s "$s" bitcount '{st}:taken')" $((seats + pad))
	check "redis: holds left" "$(redis-cli -s "$s" hlen '{st}:holder')" 0
	check "redis: expiries left" "$(redis-cli -s "$s" zcard '{st}:exp')" 0
	peers_redis_stop
else
	echo "skip redis: redis-server or build/tools/stampede-peers-redis (libhiredis-dev) missing"
fi

if [ -x "$PEERS_PG_BIN/initdb" ] && [ -x "$build/tools/stampede-peers-pg" ]; then
	ran=$((ran + 1))
	echo "== postgres"
	peers_pg_start "$work/pg"
	sell "$build/tools/stampede-peers-pg" --conninfo "$PEERS_PG_CONNINFO" --conns 8 --depth 2 || fail=$((fail + 1))
	check "postgres: seats sold" "$(psql "$PEERS_PG_CONNINFO" -Atc 'select count(*) from seats where state = 2')" $seats
	check "postgres: seats not sold" "$(psql "$PEERS_PG_CONNINFO" -Atc 'select count(*) from seats where state <> 2')" 0
	check "postgres: rows" "$(psql "$PEERS_PG_CONNINFO" -Atc 'select count(distinct id) from seats')" $seats
	peers_pg_stop
else
	echo "skip postgres: postgresql-15 or build/tools/stampede-peers-pg (libpq-dev) missing"
fi

((fail == 0)) || { echo "$fail failed"; exit 1; }
if ((ran == 0)); then
	echo "skipped: neither redis-server nor postgresql-15 with its client"
	exit 77
fi
echo "peers: all checks passed"
