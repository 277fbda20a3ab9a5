#!/usr/bin/env bash
# Reloading an event on sale keeps every hold and order and applies new
# settings; a layout change is refused and changes nothing. Sale states:
# pause and close refuse new holds (status closed) but let a buyer who holds
# tickets confirm; a scheduled event refuses holds until opened; states
# survive a dataplane restart.
BUILD=$1
. "$(dirname "$0")/lib.sh"

inv="$(dirname "$0")/system_inventory.json"
start_dp
start_ctl
ctl load "$inv" >/dev/null

h1=$(buyer 401 hold 1 1 0,1) || fail "hold: $h1"
h2=$(buyer 402 hold-ga 1 2 2) || fail "hold-ga: $h2"
o=$(buyer 402 confirm "$(jget "$h2" 'j["hold_id"]')" pay) || fail "confirm: $o"
before=$(ctl --json status 1)

# New settings: name, price, hold TTL, buyer limit.
python3 - "$inv" "$WORK/v2.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
e = d["events"][0]
e["name"] = "system test v2"
e["hold_ttl"] = "7s"
e["buyer_limit"] = 12
e["tiers"][0]["price"] = "30.00"
json.dump(d, open(sys.argv[2], "w"))
PY
ctl --json load "$WORK/v2.json" >"$WORK/reload.json" || fail "reload: $(cat "$WORK/reload.json")"
act=$(jget "$(cat "$WORK/reload.json")" '[e["action"] for e in j["events"] if e["id"] == 1][0]')
[ "$act" = reloaded ] || fail "reload action '$act', want reloaded"
after=$(ctl --json status 1)
for f in held sold free; do
	a=$(jget "$before" "[e['$f'] for e in j['events'] if e['id'] == 1][0]")
	b=$(jget "$after" "[e['$f'] for e in j['events'] if e['id'] == 1][0]")
	[ "$a" = "$b" ] || fail "$f changed across a reload: $a -> $b"
done
name=$(jget "$(ctl --json events)" '[e["name"] for e in j["events"] if e["id"] == 1][0]')
[ "$name" = "system test v2" ] || fail "reload did not rename: '$name'"
# The hold made before the reload still confirms; a new hold gets the new TTL.
o1=$(buyer 401 confirm "$(jget "$h1" 'j["hold_id"]')" pay) || fail "confirm after reload: $o1"
t0=$(now_ms)
h3=$(buyer 403 hold-ga 1 2 1) || fail "hold after reload: $h3"
ttl=$(( $(jget "$h3" 'j["expiry_ms"]') - t0 ))
[ "$ttl" -gt 6000 ] && [ "$ttl" -le 7500 ] || fail "hold TTL after reload ${ttl} ms, want about 7000"
n=$(jget "$(ctl --json export 1 --format json)" 'len(j["tickets"] if isinstance(j, dict) else j)')
[ "$n" = 4 ] || fail "export after reload: $n tickets, want 4"

# A layout change is refused, naming the section; nothing changes.
python3 - "$inv" "$WORK/v3.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
d["events"][0]["sections"][0]["rows"][1]["seats"] = "1-21"
d["events"][0]["name"] = "must not apply"
json.dump(d, open(sys.argv[2], "w"))
PY
rc=0
ctl load "$WORK/v3.json" 2>"$WORK/v3.err" || rc=$?
[ $rc -eq 1 ] || fail "layout change: exit $rc, want 1"
grep -qi "section 1" "$WORK/v3.err" || fail "layout change: message does not name section 1: $(cat "$WORK/v3.err")"
name=$(jget "$(ctl --json events)" '[e["name"] for e in j["events"] if e["id"] == 1][0]')
[ "$name" = "system test v2" ] || fail "refused reload changed the name to '$name'"

# Sale states.
state() { jget "$(ctl --json events)" "[e['state'] for e in j['events'] if e['id'] == $1][0]"; }
[ "$(state 2)" = scheduled ] || fail "event 2 state $(state 2), want scheduled"
r=$(buyer 410 hold-ga 2 1 1) && fail "hold on a scheduled event succeeded: $r"
[ "$(jget "$r" 'j["status"]')" = closed ] || fail "scheduled event: status $(jget "$r" 'j["status"]'), want closed"
ctl open 2 >/dev/null || fail "open 2"
[ "$(state 2)" = open ] || fail "event 2 not open after open"
buyer 410 hold-ga 2 1 1 >/dev/null || fail "hold on an opened event refused"

h4=$(buyer 411 hold-ga 1 2 1) || fail "hold: $h4"
ctl pause 1 >/dev/null || fail "pause"
[ "$(state 1)" = paused ] || fail "event 1 state $(state 1), want paused"
r=$(buyer 412 hold-ga 1 2 1) && fail "hold while paused succeeded: $r"
[ "$(jget "$r" 'j["status"]')" = closed ] || fail "paused: status $(jget "$r" 'j["status"]'), want closed"
buyer 411 confirm "$(jget "$h4" 'j["hold_id"]')" pay >/dev/null || fail "confirm while paused refused"

# Paused survives a dataplane restart; then open, then close.
stop_dp
start_dp
for _ in $(seq 50); do ctl events >/dev/null 2>&1 && break; sleep 0.2; done
[ "$(state 1)" = paused ] || fail "pause lost across a restart: $(state 1)"
[ "$(state 2)" = open ] || fail "open lost across a restart: $(state 2)"
ctl open 1 >/dev/null
buyer 413 hold-ga 1 2 1 >/dev/null || fail "hold after re-open refused"
ctl close 1 >/dev/null
[ "$(state 1)" = closed ] || fail "event 1 state $(state 1), want closed"
r=$(buyer 414 hold-ga 1 2 1) && fail "hold on a closed event succeeded: $r"
ctl set 1 --max-active 600 --admission-rate 50 >/dev/null || fail "set"
m=$(jget "$(ctl --json status 1)" '[(e["max_active_shoppers"], e["admission_per_s"]) for e in j["events"] if e["id"] == 1][0]')
[ "$m" = "(600, 50)" ] || fail "set: status shows $m"
rc=0; ctl pause 99 2>/dev/null || rc=$?
[ $rc -eq 1 ] || fail "pause of an unknown event: exit $rc, want 1"
echo "reload kept holds and orders, applied settings, refused a layout change; sale states enforced and durable"
