#!/usr/bin/env bash
# presale_control_test.sh DATAPLANE DP_CTL_CALL - the `presale` command of the
# dataplane socket (docs/control.md) over net_null: windows with their codes,
# uses and used; "codes":true rows per window, truncated beyond 4096 rows;
# garbage fields; an unknown event; a `load` that changes codes; a `load`
# over DP_PRESALE_SLOTS_MAX refused (nothing changed); all kept across a
# restart. Every process is killed on any exit.
set -euo pipefail
dp=$1
call=$2
name="presale control test"
tag=psctl
# shellcheck source=tests/dataplane/ctl_lib.sh
. "$(dirname "$0")/ctl_lib.sh"
keys="$work/keys"
printf '5 %s\n' "$(printf 'ab%.0s' $(seq 32))" >"$keys"
chmod 600 "$keys"
# Event 1: two windows; event 2: none. Event 3: five windows of 1024 codes
# (5120 rows: the reply stops at 4096).
python3 - "$work/inv.json" "$work/big.json" "$work/over.json" <<'PY'
import json, sys
sec = [{"id": 3, "name": "Floor", "rows": [{"label": "A", "seats": "1-20", "tier": 1}]}]
tiers = [{"id": 1, "name": "t", "price_cents": 1000}]
def ev(i, presale):
    e = {"id": i, "name": "ev%d" % i, "tiers": tiers, "sections": sec, "on_sale": "2030-01-01T10:00:00Z"}
    if presale:
        e["presale"] = presale
    return e
fans = {"name": "Fans", "start": "2029-12-31T09:00:00Z", "end": "2030-01-01T09:00:00Z",
        "codes": ["ONE", {"code": "GOLD", "uses": 50}]}
press = {"name": "Press", "start": "2030-01-01T08:00:00Z", "end": "2030-01-01T10:00:00Z",
         "codes": [{"code": "PRESS-1", "uses": 3}]}
big = [{"name": "W%d" % w, "start": "2029-12-31T09:00:00Z", "end": "2030-01-01T09:00:00Z",
        "codes": ["C%d-%04d" % (w, i) for i in range(1024)]} for w in range(5)]
inv = {"format": "stampede-inventory/1", "events": [ev(1, [fans, press]), ev(2, None), ev(3, big)]}
json.dump(inv, open(sys.argv[1], "w"))
fans2 = dict(fans, codes=[{"code": "GOLD", "uses": 60}, "NEW"])
json.dump({"format": "stampede-inventory/1", "events": [ev(1, [fans2])]}, open(sys.argv[2], "w"))
over = dict(fans, codes=[{"code": "A", "uses": 1000000}, {"code": "B", "uses": 48577}])
json.dump({"format": "stampede-inventory/1", "events": [ev(1, [over])]}, open(sys.argv[3], "w"))
PY

start_dp --keys-file "$keys" --inventory "$work/inv.json"
r=$(c '{"cmd":"presale","event":1}')
expect "$r" '"ok":true' "presale ok"
expect "$r" '"index":0,"name":"Fans"' "window 0"
expect "$r" '"codes":2,[^}]*"name":"Fans",[^}]*"used":0,"uses":51' "window 0 counts"
expect "$r" '"name":"Press",.*"uses":3' "window 1"
expect "$r" '"start_ms":1893402000000' "window start in ms"
[[ "$r" != *code_uses* ]] || fail "code rows without codes:true: $r"
r=$(c '{"cmd":"presale","event":1,"codes":true}')
expect "$r" '"code_uses":\[{"code":"ONE",[^]]*"uses":1' "code rows"
expect "$r" '{"code":"GOLD","used":0,"uses":50}' "code GOLD"
expect "$r" '"code_uses":\[{"code":"PRESS-1"' "window 1 rows"
[[ "$r" != *truncated* ]] || fail "small reply truncated: $r"
r=$(c '{"cmd":"presale","event":2}'); expect "$r" '"windows":\[\]' "no windows"
r=$(c '{"cmd":"presale","event":3,"codes":true}')
expect "$r" '"truncated":true' "4096 rows at most"
n=$(grep -o '"code":"C' <<<"$r" | wc -l)
[ "$n" = 4096 ] || fail "rows in a truncated reply: $n"
# garbage
r=$(c '{"cmd":"presale","event":9}'); expect "$r" '"error":"not_found"' "unknown event"
r=$(c '{"cmd":"presale"}'); expect "$r" '"error":"bad_request".*event' "no event"
r=$(c '{"cmd":"presale","event":"1"}'); expect "$r" '"error":"bad_request".*event' "event string"
r=$(c '{"cmd":"presale","event":1,"codes":1}'); expect "$r" '"error":"bad_request".*codes' "codes not boolean"
# a load over the slot limit changes nothing
r=$(c "$(load_req "$work/over.json")")
expect "$r" '"error":"invalid".*DP_PRESALE_SLOTS_MAX' "over the slot limit"
r=$(c '{"cmd":"presale","event":1}'); expect "$r" '"name":"Press"' "refused load changed nothing"
# a load that changes the codes
r=$(c "$(load_req "$work/big.json")"); expect "$r" '"action":"reloaded"' "reload"
r=$(c '{"cmd":"presale","event":1,"codes":true}')
expect "$r" '"codes":2,.*"used":0,"uses":61' "reloaded window"
expect "$r" '{"code":"NEW","used":0,"uses":1}' "new code"
[[ "$r" != *Press* ]] || fail "removed window still there: $r"
stop_dp

# A restart keeps the windows (stored), whatever the --inventory file says
# after a load changed them... the file is loaded again at start: its windows.
cp "$work/big.json" "$work/inv.json"
start_dp --keys-file "$keys" --inventory "$work/inv.json"
r=$(c '{"cmd":"presale","event":1,"codes":true}')
expect "$r" '{"code":"NEW","used":0,"uses":1}' "windows after restart"
r=$(c '{"cmd":"presale","event":3}'); expect "$r" '"windows":\[{"codes":1024' "recovered event 3"
stop_dp
echo "presale control test: ok"
