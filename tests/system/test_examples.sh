#!/usr/bin/env bash
# Every example inventory loads through stampedectl -> stampede-control ->
# the dataplane; capacities match the offline validation; a bad file changes
# nothing; member lists go with the load (missing or wrong ones refuse it);
# loaded events survive a dataplane restart.
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

# Member lists reach the dataplane only with the load: a raw load (the theatre under a new id) without them,
# with a wrong one, or with a malformed members field is refused, and nothing changes.
raw_load() { # MEMBERS_JSON: print the control process's reply to load of theatre.json as event 990
	python3 - "$CTL_SOCK" "$SRC/docs/examples/theatre.json" "$1" <<'PY'
import json, socket, struct, sys
inv = json.load(open(sys.argv[2]))
inv["events"][0]["id"] = 990
req = {"cmd": "load", "name": "raw.json", "inventory": json.dumps(inv)}
members = json.loads(sys.argv[3])
if members is not None:
    req["members"] = members
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
body = json.dumps(req).encode()
s.sendall(struct.pack("<I", len(body)) + body)
def exact(n):
    b = b""
    while len(b) < n:
        c = s.recv(n - len(b))
        assert c, "closed"
        b += c
    return b
print(exact(struct.unpack("<I", exact(4))[0]).decode())
PY
}
r=$(raw_load null)
[ "$(jget "$r" '(j["ok"], j.get("error"), "member list \"members/patrons.csv\" was not sent" in j.get("message", ""))')" = "(False, 'invalid', True)" ] ||
	fail "load without its member list: $r"
r=$(raw_load '[{"file": "members/patrons.csv", "text": "PATRON-1\nPATRON 2\n"}]')
[ "$(jget "$r" '(j["ok"], j.get("error"), j.get("message", "").startswith("members/patrons.csv:2: code"))')" = "(False, 'invalid', True)" ] ||
	fail "load with a wrong member list: $r"
r=$(raw_load '[{"file": "members/patrons.csv"}]')
[ "$(jget "$r" '(j["ok"], j.get("error"))')" = "(False, 'bad_request')" ] || fail "load with a members entry without text: $r"
r=$(raw_load '[{"file": "members/patrons.csv", "text": "PATRON-1\nFRIENDS-GOLD,3\n"}]')
[ "$(jget "$r" '(j["ok"], j.get("error"), "FRIENDS-GOLD" in j.get("message", ""))')" = "(False, 'invalid', True)" ] ||
	fail "load with a member list repeating a window's code: $r"
[ "$(jget "$(ctl --json events)" 'len(j["events"])')" = "$n_before" ] || fail "refused member lists changed the events"
r=$(raw_load '[{"file": "members/patrons.csv", "text": "PATRON-1\nPATRON-2,3\n"}, {"file": "unused.csv", "text": "X"}]')
[ "$(jget "$r" '(j["ok"], [e["action"] for e in j["events"]])')" = "(True, ['added'])" ] || fail "raw load with a good member list: $r"
n_before=$((n_before + 1))
want_cap[990]=${want_cap[909]}

# Restart the dataplane: every event is still there (recovered from LMDB);
# stampede-control reconnects by itself.
stop_dp
start_dp
for _ in $(seq 50); do ctl events >/dev/null 2>&1 && break; sleep 0.2; done
[ "$(jget "$(ctl --json events)" 'len(j["events"])')" = "$n_before" ] || fail "events lost across a restart"
check_caps
echo "examples: ${#want_cap[@]} events loaded, capacities match, bad file and bad member lists refused, restart kept them"
