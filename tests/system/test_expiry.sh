#!/usr/bin/env bash
# Hold expiry by stampede-control: the dataplane's own sweep is off
# (--expire-scan 0), so only the control process can reclaim holds. Every hold
# comes back within a second of its expiry; with the control process killed
# nothing comes back; restarted, it reclaims what came due meanwhile.
BUILD=$1
. "$(dirname "$0")/lib.sh"

start_dp --expire-scan 0
start_ctl
# The inventory with a hold TTL of 10 s instead of 5: on a loaded machine
# (the suite runs two tests at once on 2 cores) making the 15 holds and
# reading them back has taken more than 5 s.
python3 -c '
import json, sys
inv = json.load(open(sys.argv[1]))
for e in inv["events"]:
    e["hold_ttl"] = "10s"
json.dump(inv, open(sys.argv[2], "w"))' "$(dirname "$0")/system_inventory.json" "$WORK/inventory.json"
ctl load "$WORK/inventory.json" >/dev/null

# 15 buyers at once (made one after another on a loaded machine, the first
# could lapse before the last is made).
pids=()
for c in $(seq 101 112); do buyer "$c" hold-ga 1 2 2 >"$WORK/hold.$c" & pids+=($!); done
for c in 121 122 123; do buyer "$c" hold-best 1 1 2 >"$WORK/hold.$c" & pids+=($!); done
wait "${pids[@]}" # (a bare wait would wait for the dataplane too)
last_expiry=0 first_expiry=0
for c in $(seq 101 112) 121 122 123; do
	r=$(cat "$WORK/hold.$c")
	e=$(jget "$r" 'j["expiry_ms"]') || fail "hold $c: $r"
	[ "$e" -gt "$last_expiry" ] && last_expiry=$e
	{ [ "$first_expiry" = 0 ] || [ "$e" -lt "$first_expiry" ]; } && first_expiry=$e
done
held=$(jget "$(ctl --json status 1)" '[e["held"] for e in j["events"] if e["id"] == 1][0]')
n=$(jget "$(ctl --json holds 1)" 'len(j["holds"])')
[ "$(now_ms)" -lt "$first_expiry" ] || fail "the machine took longer than the 10 s hold TTL to make 15 holds"
[ "$held" = 30 ] || fail "held $held after 15 holds of 2, want 30"
[ "$n" = 15 ] || fail "stampedectl holds lists $n holds, want 15"

# Wait for all of them to come back; time when the last did.
while :; do
	held=$(jget "$(ctl --json status 1)" '[e["held"] for e in j["events"] if e["id"] == 1][0]')
	now=$(now_ms)
	[ "$held" = 0 ] && break
	[ "$now" -lt $((last_expiry + 3000)) ] || fail "still $held held 3 s after the last expiry"
	sleep 0.05
done
late=$((now - last_expiry))
echo "last hold reclaimed ${late} ms after its expiry"
[ "$late" -le 1000 ] || fail "a hold outlived its expiry by ${late} ms (limit 1000)"
n=$(jget "$(ctl --json holds 1)" 'len(j["holds"])')
[ "$n" = 0 ] || fail "stampedectl holds still lists $n holds"
free=$(jget "$(ctl --json status 1)" '[e["free"] for e in j["events"] if e["id"] == 1][0]')
[ "$free" = 240 ] || fail "free $free after expiry, want 240"

# Without the control process nothing reclaims (the dataplane sweep is off).
kill_ctl
r=$(buyer 131 hold-ga 1 2 1) || fail "hold-ga: $r"
e=$(jget "$r" 'j["expiry_ms"]')
while [ "$(now_ms)" -lt $((e + 1500)) ]; do sleep 0.2; done
held=$(tel_event 1 held)
[ "$held" = 1 ] || fail "with stampede-control down and the dataplane sweep off, held is '$held', want 1"
start_ctl
t0=$(now_ms)
while :; do
	held=$(jget "$(ctl --json status 1)" '[e["held"] for e in j["events"] if e["id"] == 1][0]')
	[ "$held" = 0 ] && break
	[ $(($(now_ms) - t0)) -lt 2000 ] || fail "restarted control did not reclaim the due hold"
	sleep 0.05
done
expired=$(jget "$(ctl --json status)" 'j["control"]["expired_total"]')
[ "$expired" -ge 1 ] || fail "control expired_total $expired"
echo "expiry: 15 holds reclaimed on time; one reclaimed after a control restart"
