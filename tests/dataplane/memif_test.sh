#!/usr/bin/env bash
# memif_test.sh BUILD_DIR - stampede-dataplane and a small DPDK client
# (stampede-memif-client --mode check) over net_memif: ARP, ping, hold, a
# retry, the losing side of a race with its alternative, confirm, a retried
# confirm, order lookup, release, a malformed message. Then SIGTERM must stop
# the dataplane with exit 0 and a restart must keep the order.
set -euo pipefail
b=$1
work=$(mktemp -d /tmp/stampede-memif-XXXXXX)
dp_pid=""
cleanup() {
	[ -n "$dp_pid" ] && kill -KILL "$dp_pid" 2>/dev/null || true
	rm -rf "$work" /var/run/dpdk/stpm$$d /var/run/dpdk/stpm$$c
}
trap cleanup EXIT INT TERM
cat >"$work/inv.json" <<'JSON'
{"format": "stampede-inventory/1", "events": [{"id": 1, "name": "memif test",
 "tiers": [{"id": 1, "name": "standard", "price_cents": 1000}],
 "sections": [{"id": 1, "name": "Stalls", "rows": [{"label": "A", "seats": "1-20", "tier": 1}]}]}]}
JSON
eal=(--no-huge -m 256 --no-pci --log-level=lib.eal:error)
start_dp() {
	local before
	before=$(grep -c "ready on" "$work/dp.log" 2>/dev/null || true)
	"$b/dataplane/app/stampede-dataplane" -l 1 "${eal[@]}" --file-prefix "stpm$$d" \
		--vdev "net_memif0,role=server,socket=$work/memif.sock" -- --ip 10.12.0.2 \
		--data "$work/data" --keys-file none --inventory "$work/inv.json" --control-socket "$work/dp.sock" --holds-max 1024 --orders-max 1024 \
		--idem-max 1024 --buyers-max 1024 >>"$work/dp.log" 2>&1 &
	dp_pid=$!
	for _ in $(seq 100); do
		[ "$(grep -c "ready on" "$work/dp.log")" -gt "${before:-0}" ] && return 0
		sleep 0.1
	done
	cat "$work/dp.log" >&2
	return 1
}
client() {
	"$b/tools/stampede-memif-client" -l 0 "${eal[@]}" --file-prefix "stpm$$c" \
		--vdev "net_memif0,role=client,socket=$work/memif.sock" -- "$@"
}
start_dp
client --mode check
kill -TERM "$dp_pid"
wait "$dp_pid" || { echo "dataplane exit status $? on SIGTERM (expected 0)" >&2; cat "$work/dp.log" >&2; exit 1; }
grep -q "stopped:" "$work/dp.log"
# Restart: the order from the check (seats 0 and 1) must still be sold, so a
# new check's first hold of seats 0-1 is refused... run the order-only probe.
start_dp
client --mode sold --event 1 --sections 1 --seats 2
kill -TERM "$dp_pid"
wait "$dp_pid"
echo "memif test: ok"
