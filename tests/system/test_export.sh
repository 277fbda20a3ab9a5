#!/usr/bin/env bash
# `stampedectl export` lists exactly what was sold: one row per ticket of
# every confirmed hold (seat row and number, or GA serial; buyer; tier and
# price), nothing for holds released, expired or never confirmed. The
# expected rows come from the buyers' own replies, not from the appliance.
BUILD=$1
. "$(dirname "$0")/lib.sh"

start_dp
start_ctl
ctl load "$(dirname "$0")/system_inventory.json" >/dev/null

expect="$WORK/expect.txt"
: >"$expect"
# confirm_and_expect CID KIND HOLD_JSON: confirm the hold, append the rows it sold.
# Section 1 has rows A and B of seats 1-20, so seat index i is row A/B, i%20+1.
confirm_and_expect() {
	local cid=$1 kind=$2 hold=$3
	local hid order
	hid=$(jget "$hold" 'j["hold_id"]')
	order=$(buyer "$cid" confirm "$hid" "pay-$cid") || fail "confirm: $order"
	python3 - "$order" "$hold" "$kind" >>"$expect" <<'PY'
import json, sys
order, hold, kind = json.loads(sys.argv[1]), json.loads(sys.argv[2]), sys.argv[3]
for i in hold["items"]:
    where = ("AB"[i // 20] + ":" + str(i % 20 + 1)) if kind == "seat" else "serial:" + str(i)
    print(int(order["order_id"], 16), int(order["client_id"], 16), kind, where,
          2500 if kind == "seat" else 5000)
PY
}
h=$(buyer 301 hold 1 1 0,1,2) || fail "hold: $h"
confirm_and_expect 301 seat "$h"
h=$(buyer 302 hold 1 1 21,22) || fail "hold: $h"
confirm_and_expect 302 seat "$h"
h=$(buyer 303 hold-ga 1 2 3) || fail "hold-ga: $h"
confirm_and_expect 303 ga "$h"
h=$(buyer 304 hold-best 1 1 4) || fail "hold-best: $h"
confirm_and_expect 304 seat "$h"
# Released and never-confirmed holds are not sold.
h=$(buyer 305 hold-ga 1 2 2) || fail "hold-ga: $h"
buyer 305 release "$(jget "$h" 'j["hold_id"]')" >/dev/null || fail "release"
buyer 306 hold 1 1 30 >/dev/null || fail "hold 306"
sort "$expect" -o "$expect"
[ "$(wc -l <"$expect")" = 12 ] || fail "expected 12 tickets, built $(wc -l <"$expect")"

# JSON export.
ctl export 1 --format json >"$WORK/export.json" || fail "export json"
python3 - "$WORK/export.json" >"$WORK/got_json.txt" <<'PY'
import json, sys
rows = json.load(open(sys.argv[1]))
if isinstance(rows, dict):
    rows = rows["tickets"]
for r in rows:
    where = ("%s:%d" % (r["row"], r["seat"])) if r["kind"] == "seat" else "serial:%d" % r["serial"]
    assert r["event"] == 1, r
    assert r["tier_name"] == ("Stalls" if r["kind"] == "seat" else "Floor"), r
    print(r["order_id"], r["client_id"], r["kind"], where, r["price_cents"])
PY
sort -o "$WORK/got_json.txt" "$WORK/got_json.txt"
diff -u "$expect" "$WORK/got_json.txt" || fail "JSON export differs from what the buyers were sold"

# CSV export: same rows, header first, RFC 4180.
ctl export 1 >"$WORK/export.csv" || fail "export csv"
python3 - "$WORK/export.csv" >"$WORK/got_csv.txt" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1], newline="")))
for r in rows:
    where = ("%s:%s" % (r["row"], r["seat"])) if r["kind"] == "seat" else "serial:%s" % r["serial"]
    print(r["order_id"], r["client_id"], r["kind"], where, r["price_cents"])
PY
sort -o "$WORK/got_csv.txt" "$WORK/got_csv.txt"
diff -u "$expect" "$WORK/got_csv.txt" || fail "CSV export differs from what the buyers were sold"

# The export survives a dataplane restart and a control restart (it is read
# from LMDB).
kill_ctl
stop_dp
start_dp
start_ctl
ctl export 1 --format json >"$WORK/export2.json"
cmp -s <(python3 -c 'import json,sys; print(sorted(json.dumps(r, sort_keys=True) for r in (lambda x: x["tickets"] if isinstance(x, dict) else x)(json.load(open(sys.argv[1])))))' "$WORK/export.json") \
	<(python3 -c 'import json,sys; print(sorted(json.dumps(r, sort_keys=True) for r in (lambda x: x["tickets"] if isinstance(x, dict) else x)(json.load(open(sys.argv[1])))))' "$WORK/export2.json") ||
	fail "export changed across restarts"
echo "export: 12 tickets exactly as sold, in JSON and CSV, unchanged across restarts"
