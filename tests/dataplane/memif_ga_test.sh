#!/usr/bin/env bash
# memif_ga_test.sh BUILD_DIR DP_CTL_CALL - stampede-memif-client --mode ga
# (what tools/bench flavorus drives) sells out a small uneven GA event over
# net_memif: the dataplane's own status must then say sold = capacity, nothing
# held, for every type, and a second client run must find nothing left to buy.
set -euo pipefail
b=$1
ctl=$2
work=$(mktemp -d /tmp/stampede-memifga-XXXXXX)
dp_pid=""
cleanup() {
	if [ -n "$dp_pid" ]; then kill -KILL "$dp_pid" 2>/dev/null || true; fi
	rm -rf "$work" /var/run/dpdk/stpg$$d /var/run/dpdk/stpg$$c
}
trap cleanup EXIT INT TERM
cat >"$work/inv.json" <<'JSON'
{"format": "stampede-inventory/1", "events": [{"id": 9, "name": "memif ga test", "buyer_limit": 8,
 "tiers": [{"id": 1, "name": "standard", "price_cents": 1000}],
 "general_admission": [{"id": 1, "name": "A", "capacity": 700, "tier": 1},
                       {"id": 2, "name": "B", "capacity": 45, "tier": 1},
                       {"id": 3, "name": "C", "capacity": 3, "tier": 1}]}]}
JSON
eal=(--no-huge -m 256 --no-pci --log-level=lib.eal:error)
"$b/dataplane/app/stampede-dataplane" -l 1 "${eal[@]}" --file-prefix "stpg$$d" \
	--vdev "net_memif0,role=server,socket=$work/memif.sock" -- --ip 10.12.0.2 \
	--data "$work/data" --keys-file none --inventory "$work/inv.json" --control-socket "$work/dp.sock" \
	--holds-max 4096 --orders-max 4096 --idem-max 8192 --buyers-max 4096 >"$work/dp.log" 2>&1 &
dp_pid=$!
for _ in $(seq 100); do grep -q "ready on" "$work/dp.log" && break; sleep 0.1; done
grep -q "ready on" "$work/dp.log" || { cat "$work/dp.log" >&2; exit 1; }
client() {
	"$b/tools/stampede-memif-client" -l 0 "${eal[@]}" --file-prefix "stpg$$c" \
		--vdev "net_memif0,role=client,socket=$work/memif.sock" -- --mode ga --event 9 "$@"
}
out=$(client --ga 1:700,2:45,3:3 --per-hold 5 --batch 4 --window 64 --seconds 10 | tail -n 1)
echo "$out"
status=$("$ctl" "$work/dp.sock" '{"cmd":"status","event":9}')
python3 - "$out" "$status" <<'PY'
import json, sys
client, status = json.loads(sys.argv[1]), json.loads(sys.argv[2])
ev = status["events"][0]
assert ev["capacity"] == 748, ev
assert ev["sold"] == 748 and ev["held"] == 0 and ev["free"] == 0, "dataplane: %r" % ev
assert client["tickets_confirmed"] == 748 and client["tickets_left"] == 0 and client["refused"] == 0, client
# 700/5 + 45/5 + one hold of 3: 140 + 9 + 1 holds, each confirmed.
assert client["holds"] == 150 and client["confirms"] == 150, client
PY
# Nothing left: a run that asks for more of type 3 is refused sold_out and exits non-zero.
if client --ga 3:2 --per-hold 1 --window 1 --seconds 1 >"$work/again.log" 2>&1; then
	cat "$work/again.log" >&2
	echo "memif ga test: buying past capacity succeeded" >&2
	exit 1
fi
grep -q "refused" "$work/again.log" || { cat "$work/again.log" >&2; exit 1; }
kill -TERM "$dp_pid"
wait "$dp_pid" || { echo "dataplane exit status $? on SIGTERM" >&2; exit 1; }
dp_pid=""
echo "memif ga test: ok"
