#!/usr/bin/env bash
# Presale windows end to end (docs/waiting-room.md, "Presale windows"): the
# theatre example with its Patrons window (a member list) open now and the
# Friends window (codes) later, the public on-sale in an hour, the room on.
# stampedectl loads it with its member list; stampede-loadgen's theatre
# scenario brings more buyers than the list has uses; then:
# - nothing oversold, duplicated or lost (the export), some seats sold;
# - `stampedectl presale` counts exactly the buyers who redeemed a member code
#   (never more than the list's uses), none for the window not yet open;
# - a join without a code is presale_only, an unknown code code_unknown, a
#   code of the later window code_window, a used-up member code code_used_up;
# - the redemptions survive a restart of the dataplane.
BUILD=$1
. "$(dirname "$0")/lib.sh"
LG_EXE="${STAMPEDE_LOADGEN:-$BUILD/tools/loadgen/stampede-loadgen}"

printf '# system test key\n7 %s\n' "$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')" >"$WORK/keys"
chmod 600 "$WORK/keys"
start_dp --keys-file "$WORK/keys"
start_ctl

python3 - "$SRC/docs/examples/theatre.json" "$WORK/theatre.json" "$SRC/docs/examples/members/patrons.csv" <<'PY'
import datetime, json, sys
inv = json.load(open(sys.argv[1]))
now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
t = lambda minutes: (now + datetime.timedelta(minutes=minutes)).isoformat().replace("+00:00", "Z")
e = inv["events"][0]
e["on_sale"] = t(60)
e["presale"][0].update(start=t(-1), end=t(30), members_file=sys.argv[3])
e["presale"][1].update(start=t(30), end=t(60))
json.dump(inv, open(sys.argv[2], "w"))
PY
ctl load "$WORK/theatre.json" >/dev/null || fail "load theatre with its member list"
ctl set 909 --admission-rate 1000 --max-active 600 >/dev/null

uses=$(grep -v '^#' "$SRC/docs/examples/members/patrons.csv" | grep -v '^$' |
	awk -F, '{ u += ($2 == "" ? 1 : $2) } END { print u }')
j=$(ip netns exec "$NS" "$LG_EXE" --scenario theatre --inventory "$WORK/theatre.json" --server 10.11.0.2 \
	--port 7300 --ctl "$CLI_EXE" --ctl-socket "$CTL_SOCK" --no-progress --buyers 420 --time-scale 0.002 \
	--poll-ms 500 --abandon 0 --seconds 12 --ledger "$WORK/orders.csv" 2>>"$WORK/loadgen.log" | tail -1) ||
	fail "theatre run: $j"
echo "theatre: $j" >&2
[ "$(jget "$j" 'j["verified"]')" = True ] || fail "not verified: $j"
for k in oversold duplicate_tickets lost_acked; do
	[ "$(jget "$j" "j[\"$k\"]")" = 0 ] || fail "$k = $(jget "$j" "j[\"$k\"]"): $j"
done
[ "$(jget "$j" 'j["sold"] > 0 and j["admitted"] > 0')" = True ] || fail "nobody bought through the presale: $j"

# presale_used WINDOW: durable redemptions of that window.
presale_used() {
	jget "$(ctl presale 909 --json)" "[w['used'] for w in j['windows'] if w['index'] == $1][0]"
}
used=$(presale_used 0)
[ "$used" -gt 0 ] && [ "$used" -le "$uses" ] || fail "Patrons used $used of $uses"
[ "$(presale_used 1)" = 0 ] || fail "Friends (not open) used $(presale_used 1)"

# Refusals, each changing nothing.
r=$(buyer 9001 queue-join 909) && fail "join without a code: $r"
[ "$(jget "$r" 'j["status"]')/$(jget "$r" 'j["detail"]')" = closed/presale_only ] || fail "no code: $r"
r=$(buyer 9002 queue-join 909 --code NOT-A-CODE) && fail "unknown code: $r"
[ "$(jget "$r" 'j["status"]')/$(jget "$r" 'j["detail"]')" = not_found/code_unknown ] || fail "unknown code: $r"
r=$(buyer 9003 queue-join 909 --code FRIENDS-GOLD) && fail "later window: $r"
[ "$(jget "$r" 'j["status"]')/$(jget "$r" 'j["detail"]')" = closed/code_window ] || fail "later window: $r"
if [ "$used" = "$uses" ]; then
	r=$(buyer 9004 queue-join 909 --code PATRON-0002-JSWM) && fail "used-up code: $r"
	[ "$(jget "$r" 'j["status"]')/$(jget "$r" 'j["detail"]')" = limit_reached/code_used_up ] || fail "used up: $r"
fi
[ "$(presale_used 0)" = "$used" ] || fail "refusals changed the count: $(presale_used 0), was $used"

# Redemptions are durable: the same count after a restart of the dataplane.
stop_dp
start_dp --keys-file "$WORK/keys"
for _ in $(seq 50); do ctl presale 909 --json >/dev/null 2>&1 && break; sleep 0.1; done
[ "$(presale_used 0)" = "$used" ] || fail "after a restart Patrons used $(presale_used 0), was $used"
echo "presale: $used of $uses member uses redeemed, refusals as documented, kept across a restart"
