#!/usr/bin/env bash
# ctl_test.sh STAMPEDECTL SOURCE_ROOT - stampedectl validate: every shipped
# example is accepted with its capacity (tables and --json), bad files give
# exit 1 and the loader's exact error line, a missing file names its path,
# usage errors give exit 2, help exits 0, and a lost write gives exit 4.
set -euo pipefail
ctl=$(realpath "$1") src=$(realpath "$2")
work=$(mktemp -d /tmp/stampede-ctl-XXXXXX)
trap 'rm -rf "$work"' EXIT
fail=0
checks=0

# run ARGS...: sets rc, out (stdout), err (stderr).
run() {
	set +e
	"$ctl" "$@" >"$work/out" 2>"$work/err"
	rc=$?
	set -e
	out=$(cat "$work/out")
	err=$(cat "$work/err")
}

bad() { # NAME MESSAGE
	echo "FAIL $1: $2 (exit $rc)" >&2
	echo "--- stdout:" >&2
	printf '%s\n' "$out" >&2
	echo "--- stderr:" >&2
	printf '%s\n' "$err" >&2
	fail=1
}

want_rc() { # NAME RC
	checks=$((checks + 1))
	[ "$rc" = "$2" ] || bad "$1" "exit $rc, want $2"
}

# ---- every example validates with its total capacity ----
declare -A cap=([comiccon]=1000 [arena]=20000 [festival]=150000 [theatre]=1200)
n=0
for f in "$src"/docs/examples/*.json; do
	name=$(basename "$f" .json)
	n=$((n + 1))
	run validate "$f"
	want_rc "example $name" 0
	[ -z "$err" ] || bad "example $name" "unexpected stderr"
	grep -q "^$f: valid: 1 event\$" <<<"$out" || bad "example $name" "no 'valid' line"
	if [ -n "${cap[$name]:-}" ]; then
		grep -qx "total capacity ${cap[$name]}" <<<"$out" || bad "example $name" "total capacity is not ${cap[$name]}"
		grep -qE "^  capacity +${cap[$name]} " <<<"$out" || bad "example $name" "event capacity is not ${cap[$name]}"
	fi
	run --json validate "$f"
	want_rc "example $name --json" 0
	want=${cap[$name]:-}
	python3 - "$want" "$work/out" <<'PY' || bad "example $name --json" "JSON check failed"
import json, sys
want, path = sys.argv[1], sys.argv[2]
text = open(path).read()
assert text.count("\n") == 1, "not one line"
o = json.loads(text)
assert o["valid"] is True, o
assert o["capacity"] == sum(e["capacity"] for e in o["events"])
for e in o["events"]:
    assert e["capacity"] == e["reserved_seats"] + e["ga_tickets"]
    assert e["reserved_seats"] == sum(s["seats"] for s in e["sections"])
    assert e["ga_tickets"] == sum(g["capacity"] for g in e["general_admission"])
    for k in ("id", "name", "hold_ttl_ms", "buyer_limit", "on_sale", "tiers", "presale", "waiting_room"):
        assert k in e, k
if want:
    assert o["capacity"] == int(want), (o["capacity"], want)
PY
done
[ "$n" -ge 4 ] || { echo "FAIL examples: found $n files in $src/docs/examples" >&2; fail=1; }

# Details of the summary tables: theatre.
run validate "$src/docs/examples/theatre.json"
for want in "event 909: Summer season: opening night" \
	"  hold TTL       12m" \
	"  buyer limit    6 tickets per buyer" \
	"  on sale        2026-03-09T09:00:00Z" \
	"  reserved seats 4 accessible, 4 withheld"; do
	grep -qxF -- "$want" <<<"$out" || bad "theatre summary" "no line '$want'"
done
grep -qE '^  +1  Stalls +1,2 +21 +636 +4 +0$' <<<"$out" || bad "theatre summary" "Stalls row"
grep -qE '^  +2  Circle +1,2,3 +11 +504 +0 +4$' <<<"$out" || bad "theatre summary" "Circle row"
grep -qE '^  Patrons .*2026-02-23T09:00:00Z +2026-03-02T09:00:00Z +member list members/patrons.csv: 300 members, 366 uses$' <<<"$out" ||
	bad "theatre summary" "Patrons presale row"
grep -qE '^  Friends priority booking +2026-03-02T09:00:00Z +2026-03-09T09:00:00Z +4 codes, 10121 uses$' <<<"$out" ||
	bad "theatre summary" "Friends presale row"
grep -q "waiting room   on; at most 600 active shoppers, 5 admitted/s, purchase window 15m" <<<"$out" ||
	bad "theatre summary" "waiting room"
grep -q "FRIENDS-GOLD" <<<"$out" && bad "theatre summary" "access codes are shown"
# Festival: GA table and an automatic waiting room.
run validate "$src/docs/examples/festival.json"
grep -qE '^  +2  .* +2 +100000$' <<<"$out" || bad "festival summary" "3-day GA row"
grep -q "waiting room   auto, above 1500 requests/s; at most 20000 active shoppers, 2500 admitted/s" <<<"$out" ||
	bad "festival summary" "waiting room"
run --json validate "$src/docs/examples/festival.json"
python3 -c '
import json, sys
e = json.load(open(sys.argv[1]))["events"][0]
assert [g["capacity"] for g in e["general_admission"]] == [2000, 100000, 15000, 9000, 10000, 9000, 1000, 4000]
assert e["waiting_room"]["enabled"] == "auto" and e["waiting_room"]["threshold_rps"] == 1500
assert e["waiting_room"]["purchase_window"] == "8m"
' "$work/out" || bad "festival --json" "GA capacities or waiting room"
run --json validate "$src/docs/examples/comiccon.json"
python3 -c '
import json, sys
e = json.load(open(sys.argv[1]))["events"][0]
assert e["hold_ttl"] == "8m" and e["hold_ttl_ms"] == 480000 and e["buyer_limit"] == 4
assert e["on_sale"] == "2026-11-07T17:00:00Z" and e["on_sale_ms"] == 1794070800000
assert e["tiers"] == [{"id": 1, "name": "4-day badge", "price_cents": 27600, "price": "276.00"}]
assert e["waiting_room"]["enabled"] is True
' "$work/out" || bad "comiccon --json" "event settings"

# Member lists: counted in the table and in --json; a list that cannot be read or is wrong is invalid input.
run --json validate "$src/docs/examples/theatre.json"
python3 -c '
import json, sys
p = json.load(open(sys.argv[1]))["events"][0]["presale"]
assert [(w["members_file"], w["members"], w["member_uses"], w["codes"], w["code_uses"]) for w in p] == [
    ("members/patrons.csv", 300, 366, 0, 0), (None, 0, 0, 4, 10121)], p
' "$work/out" || bad "theatre --json" "member counts"
mkdir -p "$work/m"
python3 - "$work/m/inv.json" <<'PY'
import json, sys
json.dump({"format": "stampede-inventory/1", "events": [{"id": 3, "name": "E", "tiers": [{"id": 1, "name": "T", "price": "1"}],
    "general_admission": [{"id": 1, "name": "G", "capacity": 5, "tier": 1}],
    "presale": [{"name": "P", "start": "2026-01-01T00:00:00Z", "end": "2026-01-02T00:00:00Z", "members_file": "list.csv"}]}]},
    open(sys.argv[1], "w"))
PY
run validate "$work/m/inv.json"
want_rc "member list missing" 1
[ "$err" = "$work/m/list.csv: cannot open: No such file or directory" ] || bad "member list missing" "message: $err"
[ -z "$out" ] || bad "member list missing" "stdout not empty"
run --json validate "$work/m/inv.json"
want_rc "member list missing --json" 1
python3 -c '
import json, sys
assert json.load(open(sys.argv[1])) == {"valid": False, "error": sys.argv[2] + ": cannot open: No such file or directory"}
' "$work/out" "$work/m/list.csv" || bad "member list missing --json" "JSON error object"
printf 'code,uses\nA,2\n' >"$work/m/list.csv"
run validate "$work/m/inv.json"
want_rc "member list header" 1
[ "$err" = "$work/m/list.csv:1: uses \"uses\" is not a number (expected USES, an integer 1..1000000)" ] ||
	bad "member list header" "message: $err"
head -c $((4 * 1024 * 1024 + 1)) /dev/zero | tr '\0' '#' >"$work/m/list.csv"
run validate "$work/m/inv.json"
want_rc "member list too big" 1
[ "$err" = "$work/m/list.csv: is larger than 4 MiB (expected a member list of at most 4 MiB)" ] ||
	bad "member list too big" "message: $err"
mkdir -p "$work/m/dir.csv"
sed 's/list.csv/dir.csv/' "$work/m/inv.json" >"$work/m/inv2.json"
run validate "$work/m/inv2.json"
want_rc "member list is a directory" 1
printf '# c\r\nA,2\r\nB\r\n' >"$work/m/list.csv"
run validate "$work/m/inv.json"
want_rc "member list ok" 0
grep -qE '^  P +2026-01-01T00:00:00Z +2026-01-02T00:00:00Z +member list list.csv: 2 members, 3 uses$' <<<"$out" ||
	bad "member list ok" "presale row"
(cd "$work/m" && "$ctl" validate inv.json >/dev/null 2>&1) || bad "member list, inventory in the current directory" "not valid"

# ---- bad files: exit 1, the exact error line (texts from tests/inventory/test_inventory.c) ----
cd "$src/tests/inventory"
declare -A badmsg=(
	[bad/syntax.json]="bad/syntax.json:4:29: invalid JSON: string or '}' expected near '}'"
	[bad/bad_range.json]='bad/bad_range.json: $.events[0].sections[2].rows[5].seats: range "1-40x" is not a number range (expected "FROM-TO" with FROM <= TO, 1..65535)'
	[bad/unknown_key_row.json]='bad/unknown_key_row.json: $.events[0].sections[0].rows[0]: unknown key "acessible" (expected one of label, seats, tier, accessible, withheld)'
	[bad/code_duplicate.json]='bad/code_duplicate.json: $.events[0].presale[0].codes[2]: code "GOLD" is already listed at codes[0] (expected unique codes in a window)'
)
for f in "${!badmsg[@]}"; do
	run validate "$f"
	want_rc "bad $f" 1
	[ "$err" = "${badmsg[$f]}" ] || bad "bad $f" "stderr is not the loader's line: ${badmsg[$f]}"
	[ -z "$out" ] || bad "bad $f" "stdout not empty"
	run --json validate "$f"
	want_rc "bad $f --json" 1
	[ "$err" = "${badmsg[$f]}" ] || bad "bad $f --json" "stderr is not the loader's line"
	python3 -c '
import json, sys
o = json.loads(open(sys.argv[1]).read())
assert o == {"valid": False, "error": sys.argv[2]}, o
' "$work/out" "${badmsg[$f]}" || bad "bad $f --json" "stdout is not {valid:false,error:...}"
done
cd - >/dev/null

# ---- a file that cannot be read ----
run validate "$work/no-such.json"
want_rc "missing file" 1
grep -qF "$work/no-such.json: cannot open" <<<"$err" || bad "missing file" "no path in the error"
run --json validate "$work/no-such.json"
want_rc "missing file --json" 1
python3 -c '
import json, sys
o = json.loads(open(sys.argv[1]).read())
assert o["valid"] is False and o["error"].startswith(sys.argv[2] + ": cannot open"), o
' "$work/out" "$work/no-such.json" || bad "missing file --json" "JSON error object"
run validate "$work"
want_rc "directory" 1

# ---- usage errors: exit 2, usage on stderr ----
usage_case() { # NAME ARGS...
	local name=$1
	shift
	run "$@"
	want_rc "usage $name" 2
	grep -q "^Usage: stampedectl" <<<"$err" || bad "usage $name" "no usage on stderr"
	[ -z "$out" ] || bad "usage $name" "stdout not empty"
}
usage_case "no command"
usage_case "only --json" --json
usage_case "unknown command" frobnicate
grep -q "unknown command 'frobnicate'" <<<"$err" || bad "usage unknown command" "message"
usage_case "status with two events" status 1 2
usage_case "status with a bad event id" status x1
usage_case "unknown option" --bogus validate x
usage_case "unknown option after command" validate --bogus x
usage_case "validate without file" validate
grep -q "validate needs FILE" <<<"$err" || bad "usage validate without file" "message"
usage_case "validate two files" validate a.json b.json
usage_case "help unknown" help frobnicate
usage_case "help two topics" help validate validate

# ---- help: exit 0, on stdout ----
for args in "--help" "-h" "help"; do
	# shellcheck disable=SC2086
	run $args
	want_rc "help '$args'" 0
	grep -q "^  validate FILE" <<<"$out" || bad "help '$args'" "validate not listed"
	for c in status events load open pause close release-holds set export holds watch; do
		grep -q "^  $c " <<<"$out" || bad "help '$args'" "$c not listed"
	done
	grep -q "^  3  control process unreachable" <<<"$out" || bad "help '$args'" "exit status not listed"
done
for args in "validate --help" "help validate" "--help validate" "validate -h"; do
	# shellcheck disable=SC2086
	run $args
	want_rc "help '$args'" 0
	grep -q "^Usage: stampedectl \[--json\] validate FILE$" <<<"$out" || bad "help '$args'" "command usage"
	grep -q "^  1  invalid input" <<<"$out" || bad "help '$args'" "exit status"
done
# "--" ends options: a file named like an option.
printf '%s' "$(cat "$src/docs/examples/comiccon.json")" >"$work/--json"
(cd "$work" && "$ctl" validate -- --json >/dev/null) && rc=0 || rc=$?
want_rc "-- ends options" 0

# ---- output that cannot be written: internal error ----
if [ -w /dev/full ]; then
	set +e
	"$ctl" validate "$src/docs/examples/arena.json" >/dev/full 2>"$work/err"
	rc=$?
	"$ctl" --json validate "$src/docs/examples/arena.json" >/dev/full 2>>"$work/err"
	rc2=$?
	set -e
	out="" err=$(cat "$work/err")
	want_rc "write error" 4
	rc=$rc2
	want_rc "write error --json" 4
fi

echo "ctl: $checks exit-status checks, $([ $fail = 0 ] && echo passed || echo FAILED)"
exit $fail
