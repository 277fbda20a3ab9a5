#!/usr/bin/env bash
# lg_dpdk_test.sh BUILD_DIR LG_DPDK_TEST - the load generator's dpdk transport
# (lg_dpdk_test, a DPDK client) against stampede-dataplane over net_memif: an
# event with one general-admission type, PINGs, a hold and its confirm.
set -euo pipefail
b=$1
drv=$2
work=$(mktemp -d /tmp/stampede-lgdpdk-XXXXXX)
dp_pid=""
cleanup() {
	if [ -n "$dp_pid" ]; then kill -KILL "$dp_pid" 2>/dev/null || true; fi
	rm -rf "$work" /var/run/dpdk/stpl$$d /var/run/dpdk/stpl$$c
}
trap cleanup EXIT INT TERM
cat >"$work/inv.json" <<'JSON'
{"format": "stampede-inventory/1", "events": [{"id": 7, "name": "lg dpdk test",
 "tiers": [{"id": 1, "name": "standard", "price_cents": 1000}],
 "general_admission": [{"id": 2, "name": "Floor", "capacity": 50, "tier": 1}]}]}
JSON
eal=(--no-huge -m 256 --no-pci --log-level=lib.eal:error)
"$b/dataplane/app/stampede-dataplane" -l 1 "${eal[@]}" --file-prefix "stpl$$d" \
	--vdev "net_memif0,role=server,socket=$work/memif.sock" -- --ip 10.12.0.2 \
	--data "$work/data" --keys-file none --inventory "$work/inv.json" --control-socket none --holds-max 1024 \
	--orders-max 1024 --idem-max 1024 --buyers-max 1024 >"$work/dp.log" 2>&1 &
dp_pid=$!
for _ in $(seq 100); do grep -q "ready on" "$work/dp.log" && break; sleep 0.1; done
grep -q "ready on" "$work/dp.log" || { cat "$work/dp.log" >&2; exit 1; }
rc=0
"$drv" -l 0 "${eal[@]}" --file-prefix "stpl$$c" --vdev "net_memif0,role=client,socket=$work/memif.sock" -- 7 2 || rc=$?
kill -TERM "$dp_pid"
wait "$dp_pid" || { echo "dataplane exit status $? on SIGTERM" >&2; cat "$work/dp.log" >&2; exit 1; }
dp_pid=""
[ $rc -eq 0 ] || { cat "$work/dp.log" >&2; exit 1; }
echo "lg_dpdk test: ok"
