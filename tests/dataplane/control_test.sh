#!/usr/bin/env bash
# control_test.sh DATAPLANE DP_CTL_CALL - the dataplane's control socket
# (docs/control.md, "Dataplane socket") over net_null: socket mode 0600,
# hello, load (good, invalid, reload, layout change), events, sale pause kept
# across a restart, set, expire/release of unknown and forged hold ids,
# garbage on the socket (the dataplane answers afterwards), socket removed at
# exit. Every process is killed on any exit.
set -euo pipefail
dp=$1
call=$2
name="control test"
tag=ctl
# shellcheck source=tests/dataplane/ctl_lib.sh
. "$(dirname "$0")/ctl_lib.sh"
inv() { # inv FILE SEATS [EXTRA-SECTION-JSON] [NAME]
	cat >"$1" <<JSON
{"format": "stampede-inventory/1", "events": [{"id": 1, "name": "${4:-ctl test}",
 "tiers": [{"id": 1, "name": "standard", "price_cents": 1000}],
 "sections": [{"id": 3, "name": "Floor", "rows": [{"label": "A", "seats": "1-$2", "tier": 1}]}${3:-}]}]}
JSON
}

inv "$work/good.json" 20
inv "$work/renamed.json" 20 "" "renamed test"
inv "$work/bigger.json" 30
inv "$work/added.json" 20 ', {"id": 4, "name": "Balcony", "rows": [{"label": "B", "seats": "1-5", "tier": 1}]}'
echo '{"format": "stampede-inventory/1", "events": [{"id": 2, "name": "bad"}]}' >"$work/bad.json"

start_dp --keys-file none
[ "$(stat -c %a "$sock")" = 600 ] || fail "socket mode $(stat -c %a "$sock"), expected 600"
r=$(c '{"cmd":"hello"}'); expect "$r" '"ok":true' hello; expect "$r" '"version":1' hello; expect "$r" '"workers":1' hello
r=$(c "$(load_req "$work/good.json")"); expect "$r" '"action":"added"' "load good"
r=$(c "$(load_req "$work/bad.json")"); expect "$r" '"error":"invalid"' "load bad"
r=$(c '{"cmd":"events"}'); expect "$r" '"id":1,' "events after bad load"
grep -q '"id":2' <<<"$r" && fail "bad load changed something: $r"
r=$(c "$(load_req "$work/good.json")"); expect "$r" '"action":"unchanged"' "load same file"
r=$(c "$(load_req "$work/renamed.json")"); expect "$r" '"action":"reloaded"' "reload"
r=$(c "$(load_req "$work/bigger.json")"); expect "$r" '"error":"layout_changed"' "resized section"
expect "$r" 'section 3 (Floor): 20 seats loaded, 30 in the file' "layout message"
r=$(c "$(load_req "$work/added.json")"); expect "$r" '"error":"layout_changed"' "added section"
r=$(c '{"cmd":"events"}'); expect "$r" '"name":"renamed test"' "events after reload"; expect "$r" '"capacity":20' "capacity kept"
r=$(c '{"cmd":"sale","event":1,"action":"pause"}'); expect "$r" '"state":"paused"' "pause"
r=$(c '{"cmd":"sale","event":9,"action":"pause"}'); expect "$r" '"error":"not_found"' "pause unknown event"
r=$(c '{"cmd":"sale","event":1,"action":"sell"}'); expect "$r" '"error":"bad_request"' "bad action"
r=$(c '{"cmd":"set","event":1,"max_active_shoppers":600,"admission_per_s":50}'); expect "$r" '"max_active_shoppers":600' set
r=$(c '{"cmd":"set","event":1}'); expect "$r" '"error":"bad_request"' "set nothing"
r=$(c '{"cmd":"status","event":1}'); expect "$r" '"state":"paused"' "status paused"
expect "$r" '"latency_us":{' "status latency"; expect "$r" '"commit_us":{' "status storage histogram"
# Hold ids: unknown slot, another worker, forged generation.
r=$(c '{"cmd":"expire","holds":[1, 72057594037927937, 4294967297]}')
expect "$r" '"results":\["not_found","not_found","not_found"\]' "expire unknown"
r=$(c '{"cmd":"release","holds":[5]}'); expect "$r" '"results":\["not_found"\]' "release unknown"
r=$(c '{"cmd":"release","holds":"5"}'); expect "$r" '"error":"bad_request"' "holds not an array"
r=$(c '{"cmd":"release","holds":[-1]}'); expect "$r" '"error":"bad_request"' "negative hold id"
# Garbage: unknown command, wrong types, bad lengths, not JSON.
r=$(c '{"cmd":"fly"}'); expect "$r" '"error":"unknown_command"' "unknown cmd"
r=$(c '{"cmd":7}'); expect "$r" '"error":"bad_request"' "cmd not a string"
r=$(c '{"cmd":"sale","event":"1","action":"pause"}'); expect "$r" '"error":"bad_request"' "event a string"
r=$(c '{"nocmd":1}'); expect "$r" '"error":"bad_request"' "no cmd"
r=$(c --raw 00000000); [ "$r" = closed ] || fail "zero length: $r"
r=$(c --raw ffffffff41); [ "$r" = closed ] || fail "huge length: $r"
r=$(c --raw 050000006e6f7421); [ "$r" = closed ] || fail "not JSON: $r"
r=$(c --raw 030000005b315d); [ "$r" = closed ] || fail "JSON array: $r"
r=$(c --raw 0a0000007b22636d64); [ "$r" = closed ] || fail "short message: $r"
r=$(c '{"cmd":"hello"}'); expect "$r" '"ok":true' "hello after garbage"
stop_dp

# A restart keeps the pause, the set values and the reloaded name.
start_dp --keys-file none
r=$(c '{"cmd":"status"}'); expect "$r" '"state":"paused"' "pause after restart"
expect "$r" '"max_active_shoppers":600' "set after restart"; expect "$r" '"name":"renamed test"' "name after restart"
r=$(c '{"cmd":"sale","event":1,"action":"open"}'); expect "$r" '"state":"open"' "open"
stop_dp
echo "control test: ok"
