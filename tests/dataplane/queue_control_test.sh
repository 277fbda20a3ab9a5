#!/usr/bin/env bash
# queue_control_test.sh DATAPLANE DP_CTL_CALL - the waiting-room commands of
# the dataplane socket (docs/control.md) over net_null: `queue` (one event,
# every event, unknown), `admit` (forward, backwards refused, garbage
# fields), `waiting-room` (auto only, garbage), `keys reload` (good file,
# bad file changes nothing, bad action), all kept across a restart; a bad
# keys-file stops start-up with the loader's message. Every process is
# killed on any exit.
set -euo pipefail
dp=$1
call=$2
name="queue control test"
tag=qctl
# shellcheck source=tests/dataplane/ctl_lib.sh
. "$(dirname "$0")/ctl_lib.sh"
keys="$work/keys"
cat >"$work/inv.json" <<'JSON'
{"format": "stampede-inventory/1", "events": [
 {"id": 1, "name": "on", "tiers": [{"id": 1, "name": "t", "price_cents": 1000}],
  "sections": [{"id": 3, "name": "Floor", "rows": [{"label": "A", "seats": "1-20", "tier": 1}]}],
  "waiting_room": {"enabled": true, "max_active_shoppers": 100, "admission_per_s": 10, "purchase_window": "5m"}},
 {"id": 2, "name": "auto", "tiers": [{"id": 1, "name": "t", "price_cents": 1000}],
  "sections": [{"id": 3, "name": "Floor", "rows": [{"label": "A", "seats": "1-20", "tier": 1}]}],
  "waiting_room": {"enabled": "auto", "threshold_rps": 500}},
 {"id": 3, "name": "off", "tiers": [{"id": 1, "name": "t", "price_cents": 1000}],
  "sections": [{"id": 3, "name": "Floor", "rows": [{"label": "A", "seats": "1-20", "tier": 1}]}]}]}
JSON
printf '# test keys\n5 %s\n' "$(printf 'ab%.0s' $(seq 32))" >"$keys"
chmod 600 "$keys"

# A bad key file stops start-up, with the loader's message.
chmod 644 "$keys"
set +e
out=$("$dp" -l 1 "${eal[@]}" -- --data "$work/data0" --keys-file "$keys" --control-socket none 2>&1)
rc=$?
set -e
[ "$rc" != 0 ] || fail "started with a 0644 key file"
grep -qF "mode 0644 lets group or others at the keys" <<<"$out" || fail "bad key file message: $out"
chmod 600 "$keys"

# A key file named explicitly must exist; the default path may be missing
# (a host without a waiting room): then it starts with no keys and says so.
set +e
out=$("$dp" -l 1 "${eal[@]}" -- --data "$work/data0" --keys-file "$work/no-such-keys" --control-socket none 2>&1)
rc=$?
set -e
[ "$rc" != 0 ] || fail "started with a named key file that does not exist"
grep -qF "keys-file: $work/no-such-keys" <<<"$out" || fail "missing named key file message: $out"
if [ ! -e /etc/stampede/keys ]; then
	"$dp" -l 1 "${eal[@]}" -- --data "$work/data1" --control-socket none >"$work/dp-default.log" 2>&1 &
	dpd=$!
	for _ in $(seq 100); do grep -q "ready on" "$work/dp-default.log" && break; sleep 0.1; done
	grep -q "ready on" "$work/dp-default.log" || { kill -KILL "$dpd"; fail "no start with the default key path missing: $(cat "$work/dp-default.log")"; }
	grep -q "no waiting-room keys (/etc/stampede/keys does not exist)" "$work/dp-default.log" || { kill -KILL "$dpd"; fail "no notice of missing keys"; }
	kill -TERM "$dpd"
	wait "$dpd" || fail "dataplane exited non-zero on SIGTERM"
fi

start_dp --keys-file "$keys" --inventory "$work/inv.json"
r=$(c '{"cmd":"queue"}')
# (jansson sorts the keys)
expect "$r" '"active":true,"admission_per_s":10,"admitted":0,"id":1,"joined":0,"max_active_shoppers":100,"mode":"on","opened":true' "queue: event 1 on, opened"
expect "$r" '"active":false,[^}]*"id":2,[^}]*"mode":"auto"' "queue: event 2 auto"
expect "$r" '"active":false,[^}]*"id":3,[^}]*"mode":"off"' "queue: event 3 off"
expect "$r" '"threshold_rps":500' "queue: threshold"
expect "$r" '"purchase_window_ms":300000' "queue: window"
r=$(c '{"cmd":"queue","event":1}'); expect "$r" '"admitted":0' "queue one"
grep -q '"id":2' <<<"$r" && fail "queue event 1 lists others: $r"
r=$(c '{"cmd":"queue","event":9}'); expect "$r" '"error":"not_found"' "queue unknown"
r=$(c '{"cmd":"queue","event":"1"}'); expect "$r" '"error":"bad_request"' "queue event a string"
# admit
r=$(c '{"cmd":"admit","event":1,"admitted":50,"rate_per_s":20}'); expect "$r" '"admitted":50' admit
r=$(c '{"cmd":"queue","event":1}'); expect "$r" '"admitted":50,.*"rate_per_s":20' "admit applied"
r=$(c '{"cmd":"admit","event":1,"admitted":49}'); expect "$r" '"error":"bad_request"' "admit backwards"
expect "$r" 'admitted: 49 is below' "admit backwards message"
r=$(c '{"cmd":"admit","event":1,"admitted":-1}'); expect "$r" '"error":"bad_request".*admitted' "admit negative"
r=$(c '{"cmd":"admit","event":1,"admitted":"60"}'); expect "$r" '"error":"bad_request".*admitted' "admit string"
r=$(c '{"cmd":"admit","event":1}'); expect "$r" '"error":"bad_request".*admitted' "admit missing"
r=$(c '{"cmd":"admit","event":1,"admitted":60,"rate_per_s":-3}'); expect "$r" '"error":"bad_request".*rate_per_s' "admit bad rate"
r=$(c '{"cmd":"admit","event":9,"admitted":60}'); expect "$r" '"error":"not_found"' "admit unknown"
r=$(c '{"cmd":"queue","event":1}'); expect "$r" '"admitted":50,.*"rate_per_s":20' "garbage changed nothing"
# waiting-room
r=$(c '{"cmd":"waiting-room","event":2,"active":true}'); expect "$r" '"active":true' "switch auto on"
r=$(c '{"cmd":"waiting-room","event":1,"active":false}'); expect "$r" '"error":"bad_request".*mode on' "switch mode on"
r=$(c '{"cmd":"waiting-room","event":2,"active":1}'); expect "$r" '"error":"bad_request".*active' "active not boolean"
r=$(c '{"cmd":"waiting-room","event":2}'); expect "$r" '"error":"bad_request".*active' "active missing"
r=$(c '{"cmd":"waiting-room","event":9,"active":true}'); expect "$r" '"error":"not_found"' "switch unknown"
r=$(c '{"cmd":"queue","event":2}'); expect "$r" '"active":true' "auto on kept"
# keys
r=$(c '{"cmd":"keys","action":"reload"}'); expect "$r" '"current":5,"keys":1' "keys reload"
printf '6 %s\n5 %s\n' "$(printf 'cd%.0s' $(seq 32))" "$(printf 'ab%.0s' $(seq 32))" >"$keys"
r=$(c '{"cmd":"keys","action":"reload"}'); expect "$r" '"current":6,"keys":2' "keys reload rotated"
printf '7 xyz\n' >"$keys"
r=$(c '{"cmd":"keys","action":"reload"}'); expect "$r" '"error":"invalid"' "keys bad file"
expect "$r" 'keys:1: key must be exactly 64 hex digits' "keys bad file message"
r=$(c '{"cmd":"keys","action":"rotate"}'); expect "$r" '"error":"bad_request".*action' "keys bad action"
r=$(c '{"cmd":"keys"}'); expect "$r" '"error":"bad_request".*action' "keys no action"
printf '6 %s\n' "$(printf 'cd%.0s' $(seq 32))" >"$keys"
stop_dp

# A restart keeps admitted, rate and the auto switch.
start_dp --keys-file "$keys" --inventory "$work/inv.json"
r=$(c '{"cmd":"queue","event":1}'); expect "$r" '"admitted":50,.*"rate_per_s":20' "admit after restart"
r=$(c '{"cmd":"queue","event":2}'); expect "$r" '"active":true' "auto switch after restart"
stop_dp
echo "queue control test: ok"
