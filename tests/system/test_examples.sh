#!/usr/bin/env bash
# Every example inventory loads through stampedectl -> stampede-control ->
# the dataplane; capacities match the offline validation; a bad file changes
# nothing; loaded events survive a dataplane restart.
BUILD=$1
. "$(dirname "$0")/lib.sh"

start_dp
start_ctl
declare -A want_cap
for f in "$SRC"/docs/examples/*.json; do
	v=$(ctl --json validate "$f")
	while read -r id cap; do want_cap[$id]=$cap; done < <(jget "$v" '"\n".join("%d %d" % (e["id"], e["capacity"]) for e in j["events"])')
	ctl load "$f" >"$WORK/load.out" || fail "load $f: $(cat "$WORK/load.out")"
	grep -q "added" "$WORK/load.out" || fail "load $f: no event added: $(cat "$WORK/load.out")"
done
[ ${#want_cap[@]} -ge 4 ] || fail "expected at least 4 example events, got ${#want_cap[@]}"

check_caps() {
	local s
	s=$(ctl --json status)
	for id in "${!want_cap[@]}"; do
		got=$(jget "$s" "[e['capacity'] for e in j['events'] if e['id'] == $id]")
		[ "$got" = "[${want_cap[$id]}]" ] || fail "event $id: capacity $got, validate said ${want_cap[$id]}"
		free=$(jget "$s" "[e['free'] + e['withheld'] for e in j['events'] if e['id'] == $id]")
		[ "$free" = "[${want_cap[$id]}]" ] || fail "event $id: free+withheld $free, want ${want_cap[$id]}"
	done
}
check_caps
n_before=$(jget "$(ctl --json events)" 'len(j["events"])')

# A bad file: the loader's exact line, exit 1, nothing changes.
bad="$SRC/tests/inventory/bad/overlapping_seats.json"
rc=0
ctl load "$bad" 2>"$WORK/bad.err" || rc=$?
[ $rc -eq 1 ] || fail "bad file: exit $rc, want 1"
grep -q "overlapping_seats.json: \$.events" "$WORK/bad.err" || fail "bad file: no exact error: $(cat "$WORK/bad.err")"
[ "$(jget "$(ctl --json events)" 'len(j["events"])')" = "$n_before" ] || fail "bad file changed the events"

# Restart the dataplane: every event is still there (recovered from LMDB);
# stampede-control reconnects by itself.
stop_dp
start_dp
for _ in $(seq 50); do ctl events >/dev/null 2>&1 && break; sleep 0.2; done
[ "$(jget "$(ctl --json events)" 'len(j["events"])')" = "$n_before" ] || fail "events lost across a restart"
check_caps
echo "examples: ${#want_cap[@]} events loaded, capacities match, bad file refused, restart kept them"
