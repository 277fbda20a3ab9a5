#!/usr/bin/env bash
# Operator release of holds (by section, by age, all), as the Comic-Con
# operator had to do by hand; requests/s in status; Prometheus metrics;
# `stampedectl` with the control process down exits 3.
BUILD=$1
. "$(dirname "$0")/lib.sh"

start_dp
start_ctl
ctl load "$(dirname "$0")/system_inventory.json" >/dev/null
# Event 1 holds: 3 seat holds (section 1) and 2 GA holds (type 2); event 2: 1 GA hold.
ctl open 2 >/dev/null
for c in 601 602 603; do buyer "$c" hold-best 1 1 1 >/dev/null || fail "hold $c"; done
sleep 1.2
for c in 604 605; do buyer "$c" hold-ga 1 2 1 >/dev/null || fail "hold $c"; done
buyer 606 hold-ga 2 1 1 >/dev/null || fail "hold 606"
[ "$(jget "$(ctl --json holds)" 'len(j["holds"])')" = 6 ] || fail "holds: want 6"

# By section: exactly the 3 seat holds; the seats are free again.
r=$(ctl --json release-holds 1 --section 1) || fail "release-holds --section: $r"
[ "$(jget "$r" 'j["released"]')" = 3 ] || fail "release-holds --section 1 released $(jget "$r" 'j["released"]'), want 3"
[ "$(jget "$(ctl --json holds 1)" 'len(j["holds"])')" = 2 ] || fail "event 1 holds after section release: want 2"
m=$(buyer 607 seat-map 1 1 --count 3) || fail "seat-map"
[ "$(jget "$m" 'j["free"]')" = 40 ] || fail "section 1 free $(jget "$m" 'j["free"]') after release, want 40"
# By age: nothing is older than 10 s yet.
r=$(ctl --json release-holds 1 --older-than 10s) || fail "release-holds --older-than"
[ "$(jget "$r" 'j["released"]')" = 0 ] || fail "--older-than 10s released $(jget "$r" 'j["released"]')"
# All events.
r=$(ctl --json release-holds --all) || fail "release-holds --all"
[ "$(jget "$r" 'j["released"]')" = 3 ] || fail "--all released $(jget "$r" 'j["released"]'), want 3"
[ "$(jget "$(ctl --json holds)" 'len(j["holds"])')" = 0 ] || fail "holds left after --all"

# Requests/s and refusals in status.
for i in $(seq 1 30); do buyer 620 hold-ga 1 2 1 >/dev/null; buyer 620 hold 1 1 999 >/dev/null 2>&1; done || true
sleep 1.2
s=$(ctl --json status 1)
rps=$(jget "$s" '[e["requests_per_s"] for e in j["events"] if e["id"] == 1][0]')
python3 -c "import sys; sys.exit(0 if float('$rps') > 0 else 1)" || fail "requests_per_s $rps after traffic"
br=$(jget "$s" '[e["statuses"]["bad_request"] for e in j["events"] if e["id"] == 1][0]')
[ "$br" -ge 30 ] || fail "bad_request count $br, want >= 30"

# Metrics.
metrics >"$WORK/metrics.txt" || fail "metrics endpoint"
for m in stampede_tickets stampede_capacity stampede_queue_depth stampede_requests_total \
	stampede_request_latency_seconds_bucket stampede_storage_commit_seconds_bucket \
	stampede_storage_batch_records_bucket stampede_holds_expired_total stampede_control_up; do
	grep -q "^$m" "$WORK/metrics.txt" || fail "metric $m missing"
done
sold=$(jget "$(ctl --json status 1)" '[e["sold"] for e in j["events"] if e["id"] == 1][0]')
grep -q "^stampede_tickets{event=\"1\",state=\"sold\"} $sold\$" "$WORK/metrics.txt" ||
	fail "stampede_tickets sold for event 1 is not $sold: $(grep 'stampede_tickets{event="1"' "$WORK/metrics.txt")"

# Control process down: stampedectl says so, exit 3.
kill_ctl
rc=0; ctl status >/dev/null 2>&1 || rc=$?
[ $rc -eq 3 ] || fail "status with the control process down: exit $rc, want 3"
echo "operator releases by section, age and all; status rates; metrics; unreachable exit 3"
