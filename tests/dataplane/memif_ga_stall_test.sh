#!/usr/bin/env bash
# memif_ga_stall_test.sh BUILD_DIR DP_CTL_CALL - a two-worker dataplane whose
# client reads no reply for its first 800 ms (stampede-memif-client
# --rx-stall-ms; memif rings of 64 slots, rsize=6): the server's TX rings fill
# up while requests keep coming (the client's resends after 500 ms). Every answer must still be sent: no
# worker may count tx_dropped (a reply message lost, its request left to the
# client's 500 ms resend), and the event must sell out exactly.
set -euo pipefail
b=$1
ctl=$2
work=$(mktemp -d /tmp/stampede-memifgas-XXXXXX)
dp_pid=""
cleanup() {
	if [ -n "$dp_pid" ]; then kill -KILL "$dp_pid" 2>/dev/null || true; fi
	rm -rf "$work" /var/run/dpdk/stps$$d /var/run/dpdk/stps$$c
}
trap cleanup EXIT INT TERM
cat >"$work/inv.json" <<'JSON'
{"format": "stampede-inventory/1", "events": [{"id": 9, "name": "memif ga stall test", "buyer_limit": 8,
 "tiers": [{"id": 1, "name": "standard", "price_cents": 1000}],
 "general_admission": [{"id": 1, "name": "A", "capacity": 24000, "tier": 1},
                       {"id": 2, "name": "B", "capacity": 4000, "tier": 1},
                       {"id": 3, "name": "C", "capacity": 96, "tier": 1}]}]}
JSON
eal=(--no-huge -m 1024 --no-pci --log-level=lib.eal:error)
# Main lcore supervises, both workers share CPU 1 (as tools/bench flavorus
# --workers 2); only worker 0 receives, so half the holds are handed off and
# each such answer is a datagram of its own.
"$b/dataplane/app/stampede-dataplane" --lcores=0@0,1@1,2@1 "${eal[@]}" --file-prefix "stps$$d" \
	--vdev "net_memif0,role=server,socket=$work/memif.sock,rsize=6" -- --ip 10.12.0.2 \
	--data "$work/data" --keys-file none --inventory "$work/inv.json" --control-socket "$work/dp.sock" \
	--holds-max 32768 --orders-max 32768 --idem-max 65536 --buyers-max 32768 --nosync >"$work/dp.log" 2>&1 &
dp_pid=$!
for _ in $(seq 100); do grep -q "ready on" "$work/dp.log" && break; sleep 0.1; done
grep -q "ready on" "$work/dp.log" || { cat "$work/dp.log" >&2; exit 1; }
out=$("$b/tools/stampede-memif-client" -l 0 "${eal[@]}" --file-prefix "stps$$c" \
	--vdev "net_memif0,role=client,socket=$work/memif.sock,rsize=6" -- --mode ga --event 9 \
	--ga 1:24000,2:4000,3:96 --per-hold 4 --batch 16 --window 4096 --queues 2 --rx-stall-ms 800 \
	--seconds 20 | tail -n 1)
echo "$out"
status=$("$ctl" "$work/dp.sock" '{"cmd":"status","event":9}')
python3 - "$out" "$status" <<'PY'
import json, sys
client, status = json.loads(sys.argv[1]), json.loads(sys.argv[2])
ws = status["workers"]
print("workers:", [{k: w[k] for k in ("worker", "rx_pkts", "tx_pkts", "handoffs_in", "tx_dropped",
                                      "handoff_full")} for w in ws])
assert len(ws) == 2, ws
dropped = sum(w["tx_dropped"] for w in ws)
assert dropped == 0, "the dataplane dropped %d replies (TX buffer full)" % dropped
assert sum(w["handoffs_in"] for w in ws) > 0, "no handoffs: the test did not cross workers"
ev = status["events"][0]
assert ev["capacity"] == 28096, ev
assert ev["sold"] == 28096 and ev["held"] == 0 and ev["free"] == 0, "dataplane: %r" % ev
assert client["tickets_confirmed"] == 28096 and client["tickets_left"] == 0 and client["refused"] == 0, client
PY
kill -TERM "$dp_pid"
wait "$dp_pid" || { echo "dataplane exit status $? on SIGTERM" >&2; exit 1; }
dp_pid=""
echo "memif ga stall test: ok"
