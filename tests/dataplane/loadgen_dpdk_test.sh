#!/usr/bin/env bash
# loadgen_dpdk_test.sh BUILD_DIR [LOADGEN] - stampede-loadgen with its dpdk
# transport, the way an engineer benchmarks on one host: stampede-dataplane on
# net_memif (server), stampede-control beside it, the loadgen as the memif
# client. A small comiccon through the waiting room, twice: against one
# worker, and against two workers (the loadgen with --queues 2: each worker
# answers on its own memif queue). Every badge sold, and the verification
# against `stampedectl export` finds nothing oversold, duplicated or lost.
set -euo pipefail
b=$1
lg=${2:-$b/tools/loadgen/stampede-loadgen}
src=$(cd "$(dirname "$0")/../.." && pwd -P)
work=$(mktemp -d /tmp/stampede-lgdpdk-run-XXXXXX)
dp_pid="" ctl_pid=""
cleanup() {
	local rc=$?
	[ $rc -ne 0 ] && for f in "$work"/*.log; do echo "--- $f" >&2; tail -20 "$f" >&2; done
	[ -n "$ctl_pid" ] && kill -KILL "$ctl_pid" 2>/dev/null
	[ -n "$dp_pid" ] && kill -KILL "$dp_pid" 2>/dev/null
	rm -rf "$work" /var/run/dpdk/stplg$$*
	exit $rc
}
trap cleanup EXIT INT TERM
fail() { echo "FAIL: $*" >&2; exit 1; }
eal=(--no-huge -m 512 --no-pci --log-level=lib.eal:error)
printf '# test key\n7 %s\n' "$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')" >"$work/keys"
chmod 600 "$work/keys"
# run LCORES QUEUES: one dataplane (fresh data dir), stampede-control, the load, the run, the checks.
run() {
	local lcores=$1 queues=$2 j
	rm -f "$work/memif.sock" "$work/dp.sock" "$work/ctl.sock"
	# shellcheck disable=SC2086 # lcores is a list of EAL options
	"$b/dataplane/app/stampede-dataplane" $lcores "${eal[@]}" --file-prefix "stplg$$d$queues" \
		--vdev "net_memif0,role=server,socket=$work/memif.sock" -- --ip 10.12.0.2 --data "$work/data$queues" \
		--keys-file "$work/keys" --control-socket "$work/dp.sock" --holds-max 65536 --orders-max 65536 \
		--idem-max 65536 --buyers-max 65536 >"$work/dataplane$queues.log" 2>&1 &
	dp_pid=$!
	for _ in $(seq 300); do grep -q "ready on" "$work/dataplane$queues.log" && [ -S "$work/dp.sock" ] && break; sleep 0.1; done
	grep -q "ready on" "$work/dataplane$queues.log" || fail "dataplane not ready"
	"$b/control/stampede-control" --data "$work/data$queues" --dataplane "$work/dp.sock" --socket "$work/ctl.sock" \
		--metrics 0 >"$work/control$queues.log" 2>&1 &
	ctl_pid=$!
	ctl() { "$b/control/stampedectl" --socket "$work/ctl.sock" "$@"; }
	for _ in $(seq 100); do ctl events >/dev/null 2>&1 && break; sleep 0.1; done
	# stampede-control answers before it has reached the dataplane: retry the load a while.
	for _ in $(seq 50); do ctl load "$src/docs/examples/comiccon.json" >/dev/null 2>&1 && break; sleep 0.2; done
	ctl events | grep -q 2016 || fail "load"
	ctl set 2016 --admission-rate 2000 --max-active 1000 >/dev/null || fail "set"
	j=$(timeout 90 "$lg" -l 0 "${eal[@]}" --file-prefix "stplg$$c$queues" \
		--vdev "net_memif0,role=client,socket=$work/memif.sock" -- --transport dpdk --ip 10.12.0.1 --queues "$queues" \
		--server 10.12.0.2 --scenario comiccon --buyers 3000 --time-scale 0.02 --abandon 0 --seconds 40 \
		--ctl "$b/control/stampedectl" --ctl-socket "$work/ctl.sock" --no-progress 2>"$work/loadgen$queues.log" | tail -1) ||
		fail "loadgen exited $?: $j"
	echo "comiccon over dpdk, $queues worker(s): $j"
	python3 - "$j" <<-'PY' || fail "report: $j"
	import json, sys
	r = json.loads(sys.argv[1])
	assert r["transport"] == "dpdk", r["transport"]
	assert r["verified"] is True
	assert (r["oversold"], r["duplicate_tickets"], r["lost_acked"]) == (0, 0, 0)
	assert r["sold"] == r["capacity"] == 1000 == r["sold_acked"], (r["sold"], r["sold_acked"])
	assert r["admitted"] > 0 and r["polls"] > 0
	PY
	kill -TERM "$ctl_pid" "$dp_pid" 2>/dev/null
	wait "$ctl_pid" "$dp_pid" 2>/dev/null || true
	ctl_pid="" dp_pid=""
	rm -rf "/var/run/dpdk/stplg$$d$queues" "/var/run/dpdk/stplg$$c$queues"
}
run "-l 1" 1
run "--lcores=0@0,1@1,2@1" 2
echo "loadgen dpdk test: ok"
