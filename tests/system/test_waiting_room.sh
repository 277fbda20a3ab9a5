#!/usr/bin/env bash
# The waiting room end to end: the real dataplane (tickets, tokens, the token
# check on holds) paced by the real stampede-control (cap on active shoppers,
# admission rate, slots freed by purchases), driven by buyers with the
# `stampede` client. Admission strictly in join order; a refresh keeps the
# place; holds need the buyer's own access token; status shows the queue.
BUILD=$1
. "$(dirname "$0")/lib.sh"

# A key file as docs/waiting-room.md describes it: ID HEX, mode 0600.
printf '# system test key\n7 %s\n' "$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')" >"$WORK/keys"
chmod 600 "$WORK/keys"
start_dp --keys-file "$WORK/keys"
start_ctl
ctl load "$(dirname "$0")/waiting_inventory.json" >/dev/null

# No token while the room is on: not admitted, nothing held.
r=$(buyer 800 hold-ga 1 1 1) && fail "hold without a token succeeded: $r"
[ "$(jget "$r" 'j["status"]')" = not_admitted ] || fail "hold without token: $(jget "$r" 'j["status"]'), want not_admitted"

# Eight buyers join in order: positions strictly increase in join order.
declare -A ticket pos
prev=-1
for c in 801 802 803 804 805 806 807 808; do
	r=$(buyer "$c" queue-join 1) || fail "queue-join $c: $r"
	[ "$(jget "$r" 'j["state"]')" = waiting ] || fail "join $c: state $(jget "$r" 'j["state"]')"
	ticket[$c]=$(jget "$r" 'j["token"]')
	pos[$c]=$(jget "$r" 'j["position"]')
	[ "${pos[$c]}" -gt "$prev" ] || fail "join order: $c got position ${pos[$c]} after $prev"
	prev=${pos[$c]}
done

# poll_state CID: the ticket's state now (and the same position every time).
poll() {
	local r
	r=$(buyer "$1" queue-poll 1 "${ticket[$1]}") || fail "poll $1: $r"
	[ "$(jget "$r" 'j["position"]')" = "${pos[$1]}" ] || fail "refresh moved $1 from ${pos[$1]} to $(jget "$r" 'j["position"]')"
	echo "$r"
}
# Pacing admits up to the cap (3 active shoppers) at 4/s: wait for 3.
# admitted_set: the buyers whose tickets are admitted now (polled at once).
admitted_set() {
	local s=""
	for c in 801 802 803 804 805 806 807 808; do poll "$c" >"$WORK/poll.$c" & done
	wait
	for c in 801 802 803 804 805 806 807 808; do
		[ -s "$WORK/poll.$c" ] || fail "poll of $c failed (see above)"
		[ "$(jget "$(cat "$WORK/poll.$c")" 'j["state"]')" = admitted ] && s="$s $c"
	done
	echo "$s"
}
# wait_admitted WANT SECONDS
wait_admitted() {
	local deadline=$(($(now_ms) + $2 * 1000))
	while :; do
		a=$(admitted_set)
		[ "$a" = "$1" ] && return 0
		[ "$(now_ms)" -lt "$deadline" ] || return 1
		sleep 0.2
	done
}
wait_admitted " 801 802 803" 15 || true
[ "$a" = " 801 802 803" ] || fail "after the cap, admitted:$a (want the first three joiners, 801 802 803)"
sleep 1.5 # pacing must not pass the cap while nobody buys
a=$(admitted_set)
[ "$a" = " 801 802 803" ] || fail "admission passed the cap of 3 active shoppers:$a"
s=$(ctl --json status 1)
q=$(jget "$s" '[(e["queue_length"], e["admitted"], e["active_shoppers"], e["waiting_room"]) for e in j["events"] if e["id"] == 1][0]')
[ "$q" = "(5, 3, 3, 'on')" ] || fail "status (queue, admitted, active, room) = $q, want (5, 3, 3, 'on')"
r=$(poll 806)
[ "$(jget "$r" 'j["ahead"]')" = $((pos[806] - pos[804])) ] || fail "806 ahead $(jget "$r" 'j["ahead"]')"

# Tokens: the buyer's own access token holds; another's, a ticket, or a
# forged one is refused; nothing is held by a refusal.
tok801=$(jget "$(poll 801)" 'j["token"]')
tok802=$(jget "$(poll 802)" 'j["token"]')
r=$(buyer 801 hold-ga 1 1 1 --token "$tok802") && fail "hold with another buyer's token succeeded"
[ "$(jget "$r" 'j["status"]')/$(jget "$r" 'j["detail"]')" = bad_token/token_wrong_client ] || fail "other's token: $r"
r=$(buyer 801 hold-ga 1 1 1 --token "${ticket[801]}") && fail "hold with a queue ticket succeeded"
[ "$(jget "$r" 'j["status"]')" = bad_token ] || fail "ticket as token: $r"
forged="${tok801:0:100}$(printf '%s' "${tok801:100:1}" | tr '0-9a-f' '1-9a-f0')${tok801:101}"
r=$(buyer 801 hold-ga 1 1 1 --token "$forged") && fail "hold with a forged token succeeded"
[ "$(jget "$r" 'j["status"]')/$(jget "$r" 'j["detail"]')" = bad_token/token_forged ] || fail "forged token: $r"
held=$(jget "$(ctl --json status 1)" '[e["held"] for e in j["events"] if e["id"] == 1][0]')
[ "$held" = 0 ] || fail "refused holds held $held tickets"
h=$(buyer 801 hold-ga 1 1 2 --token "$tok801") || fail "hold with own token: $h"
buyer 801 confirm "$(jget "$h" 'j["hold_id"]')" pay-801 >/dev/null || fail "confirm 801"

# A purchase frees a slot: the next in line (804) is admitted, and only it.
wait_admitted " 801 802 803 804" 15 || true
[ "$a" = " 801 802 803 804" ] || fail "after 801 bought, admitted:$a (want 804 next, in join order)"
echo "waiting room: join order kept, refresh keeps the place, cap of 3 held, tokens checked, a purchase admits the next"
