#!/usr/bin/env bash
# tests/system/lib.sh - sourced by the system tests: the whole appliance on
# one machine. stampede-dataplane runs in a network namespace of its own on
# net_tap (10.11.0.2, udp 7300; the tap gets 10.11.0.1), stampede-control and
# stampedectl talk to it over Unix sockets in a private temp dir, buyers use
# the `stampede` client inside the namespace. Everything (processes,
# namespace, temp dir, DPDK runtime dir) is removed on exit, on failure too.
#
# Needs: BUILD (the build dir) set by the caller; root and iproute2 (else the
# test is skipped with 77).
set -euo pipefail

: "${BUILD:?BUILD must name the build dir}"
SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
# shellcheck source=tools/appliance.sh
. "$SRC/tools/appliance.sh"

if [ "$(id -u)" != 0 ] || ! command -v ip >/dev/null; then
	echo "system test: needs root and iproute2; skipped" >&2
	exit 77
fi

sys_cleanup() {
	local rc=$?
	[ $rc -ne 0 ] && app_log_tail
	app_cleanup
	exit $rc
}
trap sys_cleanup EXIT INT TERM
app_init stps

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

# jget JSON EXPR: evaluate a Python expression over the parsed JSON `j`.
jget() {
	python3 -c 'import json,sys; j=json.loads(sys.argv[1]); print(eval(sys.argv[2]))' "$1" "$2"
}

# now_ms: wall clock in ms.
now_ms() {
	date +%s%3N
}

# metrics: the Prometheus text from stampede-control.
metrics() {
	ip netns exec "$NS" python3 -c '
import sys, urllib.request
print(urllib.request.urlopen("http://127.0.0.1:%s/metrics" % sys.argv[1], timeout=5).read().decode())' "$METRICS_PORT"
}

# tel_event EVENT FIELD: one count of an event read straight from the
# dataplane through DPDK telemetry (works while stampede-control is down).
tel_event() {
	echo "/stampede/event,$1" | dpdk-telemetry.py -f "$PREFIX" 2>/dev/null | python3 -c '
import json, sys
for l in sys.stdin:
    l = l.strip()
    if l.startswith("{") and "/stampede/event" in l:
        print(json.loads(l)["/stampede/event"][sys.argv[1]])' "$2"
}
