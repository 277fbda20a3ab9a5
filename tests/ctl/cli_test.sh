#!/usr/bin/env bash
# cli_test.sh STAMPEDECTL FAKE_CONTROL SOURCE_ROOT - every stampedectl command
# that talks to stampede-control, against fake_control (tests/ctl/fake_control.c):
# the exact request each command sends (fields and types), its table and --json
# output, CSV export bytes and quoting, the exit status of every error class
# (refusals 1, usage 2, unreachable 3, garbage replies 4, never a crash), and
# watch frames.
set -euo pipefail
ctl=$(realpath "$1") fake=$(realpath "$2") src=$(realpath "$3")
work=$(mktemp -d /tmp/stampede-cli-XXXXXX)
sock=$work/control.sock script=$work/script.json log=$work/requests.log
echo '{}' >"$script"
: >"$log"
"$fake" "$sock" "$script" "$log" 2>"$work/fake.err" &
fake_pid=$!
trap 'kill "$fake_pid" 2>/dev/null; wait "$fake_pid" 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.05; done
[ -S "$sock" ] || { echo "FAIL: fake_control did not start: $(cat "$work/fake.err")" >&2; exit 1; }
unset STAMPEDE_CONTROL_SOCKET
fail=0
checks=0

# reply JSON: the script for the next runs (read from the argument).
reply() { printf '%s\n' "$1" >"$script.tmp" && mv "$script.tmp" "$script"; }

# run ARGS...: stampedectl --socket SOCK ARGS; sets rc, out, err, sent (the requests it made).
run() {
	: >"$log"
	set +e
	"$ctl" --socket "$sock" "$@" >"$work/out" 2>"$work/err"
	rc=$?
	set -e
	out=$(cat "$work/out")
	err=$(cat "$work/err")
	sent=$(cat "$log")
}

bad() { # NAME MESSAGE
	echo "FAIL $1: $2 (exit $rc)" >&2
	printf -- '--- stdout:\n%s\n--- stderr:\n%s\n--- sent:\n%s\n' "$out" "$err" "$sent" >&2
	fail=1
}

want_rc() { # NAME RC
	checks=$((checks + 1))
	[ "$rc" = "$2" ] || bad "$1" "exit $rc, want $2"
	if grep -qE "AddressSanitizer|runtime error|LeakSanitizer" <<<"$err"; then bad "$1" "sanitizer report"; fi
}

# want_sent NAME JSON_ARRAY: the requests, in order, equal these objects exactly (types included).
want_sent() {
	python3 - "$log" "$2" <<'PY' || bad "$1" "requests differ from $2"
import json, sys
got = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
want = json.loads(sys.argv[2])
def same(a, b):  # equality that tells 1 from 1.0 and true from 1
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return a == b
assert same(got, want), (got, want)
PY
}

want_line() { # NAME REGEX: some line of stdout matches
	grep -qE -- "$2" <<<"$out" || bad "$1" "no line matching /$2/"
}

# py NAME CODE: python CODE with o = stdout parsed as JSON.
py() {
	python3 -c "import json,sys
o = json.load(open(sys.argv[1]))
$2" "$work/out" || bad "$1" "JSON check failed"
}

# ---- status ----
status_reply='{"ok": true, "now_ms": 1794070860000, "started_ms": 1794070000000, "sync": "full", "storage_failed": false,
 "events": [
  {"id": 2016, "name": "Comic-Con test sale", "state": "open", "on_sale_ms": 1794070800000,
   "capacity": 1000, "free": 900, "held": 60, "sold": 40, "withheld": 0, "requests": 50000,
   "statuses": {"ok": 100, "taken": 3, "sold_out": 0, "busy": 12},
   "max_active_shoppers": 1000, "admission_per_s": 50, "requests_per_s": 844,
   "queue_length": 120, "admitted": 500, "active_shoppers": 310, "waiting_room": "auto:active"},
  {"id": 909, "name": "Théâtre", "state": "paused", "on_sale_ms": 0,
   "capacity": 1200, "free": 1200, "held": 0, "sold": 0, "withheld": 4, "requests": 0,
   "statuses": {"ok": 0, "taken": 0},
   "max_active_shoppers": 600, "admission_per_s": 5, "requests_per_s": 0.25,
   "queue_length": 0, "admitted": 0, "active_shoppers": 0, "waiting_room": "off"}],
 "workers": [],
 "latency_us": {"le": [1, 2, 4, 8, 16, null], "counts": [0, 50, 40, 9, 1, 0], "sum_us": 500, "count": 100},
 "storage": {"batches": 7, "records": 40, "bytes": 4096,
             "commit_us": {"le": [100, 1000, 10000, null], "counts": [0, 60, 39, 1], "sum_us": 9, "count": 100},
             "batch_records": {"le": [1, null], "counts": [7, 0], "sum": 40, "count": 7}},
 "control": {"pid": 4242, "sweeps": 600, "expired_total": 17, "lag_ms": 12}}'
reply "{\"status\": $status_reply}"
run status
want_rc "status" 0
want_sent "status request" '[{"cmd": "status"}]'
want_line "status heading" '^EVENT +NAME +STATE +CAPACITY +FREE +HELD +SOLD +QUEUE +ADMITTED +ACTIVE +ROOM +REQ/S +REFUSALS$'
want_line "status row 2016" '^ 2016 +Comic-Con test sale +open +1000 +900 +60 +40 +120 +500 +310 +auto:active +844\.0 +taken 3, busy 12$'
want_line "status row 909" '^  909 +Théâtre +paused +1200 +1200 +0 +0 +0 +0 +0 +off +0\.2 +-$'
want_line "status latency" '^latency p50 2us p99 8us; storage 7 batches, 40 records, commit p50 1ms p99 10ms; sync full$'
want_line "status control" '^control: pid 4242, 600 sweeps, 17 holds expired, lag 12ms$'
run status 2016
want_rc "status EVENT" 0
want_sent "status EVENT request" '[{"cmd": "status", "event": 2016}]'
run --json status
want_rc "status --json" 0
py "status --json" '
assert "ok" not in o
assert o["events"][0]["statuses"]["busy"] == 12 and o["control"]["pid"] == 4242
assert o["summary"] == {"latency_p50_us": 2, "latency_p99_us": 8, "commit_p50_us": 1000, "commit_p99_us": 10000}, o["summary"]'
# empty histograms and a quantile above the last bound
reply "{\"status\": $(python3 -c '
import json, sys
o = json.loads(sys.argv[1])
o["latency_us"]["counts"] = [0] * 6
o["storage"]["commit_us"]["counts"] = [0, 0, 0, 5]
o["storage_failed"] = True
print(json.dumps(o))' "$status_reply")}"
run status
want_rc "status empty histogram" 0
want_line "status empty histogram" '^latency p50 - p99 -; storage 7 batches, 40 records, commit p50 >10ms p99 >10ms; sync full$'
want_line "status storage failed" '^STORAGE FAILED'
run --json status
py "status --json empty" 'assert o["summary"]["latency_p50_us"] is None and o["summary"]["commit_p99_us"] is None'

# ---- events ----
reply '{"events": {"ok": true, "events": [
 {"id": 2016, "name": "Comic-Con test sale", "state": "scheduled", "on_sale_ms": 1794070800000, "hold_ttl_ms": 480000,
  "buyer_limit": 4, "capacity": 1000, "parts": 1},
 {"id": 909, "name": "Summer, season", "state": "open", "on_sale_ms": 0, "hold_ttl_ms": 720000,
  "buyer_limit": 6, "capacity": 1200, "parts": [{"id": 1}, {"id": 2}, {"id": 3}]}]}}'
run events
want_rc "events" 0
want_sent "events request" '[{"cmd": "events"}]'
want_line "events heading" '^EVENT +NAME +STATE +ON SALE +HOLD TTL +BUYER LIMIT +CAPACITY +PARTS$'
want_line "events row 2016" '^ 2016 +Comic-Con test sale +scheduled +2026-11-07T17:00:00Z +8m +4 +1000 +1$'
want_line "events row 909" '^  909 +Summer, season +open +- +12m +6 +1200 +3$'
run --json events
want_rc "events --json" 0
py "events --json" 'assert "ok" not in o and [e["id"] for e in o["events"]] == [2016, 909]'
run events extra
want_rc "events with an argument" 2

# ---- load ----
ex=$src/docs/examples/comiccon.json
reply '{"load": {"ok": true, "events": [{"id": 2016, "name": "Comic-Con test sale", "action": "added"}]}}'
run load "$ex"
want_rc "load" 0
python3 - "$log" "$ex" <<'PY' || bad "load request" "not {cmd, name: basename, inventory: the file's text}"
import json, sys
reqs = [json.loads(l) for l in open(sys.argv[1])]
assert len(reqs) == 1, reqs
r = reqs[0]
assert set(r) == {"cmd", "name", "inventory"}, r.keys()
assert r["cmd"] == "load" and r["name"] == "comiccon.json"
assert r["inventory"] == open(sys.argv[2], encoding="utf-8").read()
PY
want_line "load heading" '^EVENT +NAME +ACTION$'
want_line "load row" '^ 2016 +Comic-Con test sale +added$'
run --json load "$ex"
py "load --json" 'assert o == {"events": [{"id": 2016, "name": "Comic-Con test sale", "action": "added"}]}'
badf=$src/tests/inventory/bad/bad_range.json
run load "$badf"
want_rc "load bad file" 1
[ "$err" = "$badf: \$.events[0].sections[2].rows[5].seats: range \"1-40x\" is not a number range (expected \"FROM-TO\" with FROM <= TO, 1..65535)" ] ||
	bad "load bad file" "stderr is not the loader's line"
[ -z "$sent" ] || bad "load bad file" "something was sent"
[ -z "$out" ] || bad "load bad file" "stdout not empty"
set +e
"$ctl" --socket "$work/nobody.sock" load "$badf" >/dev/null 2>&1
rc=$?
set -e
want_rc "load bad file, no control process" 1
run load "$work/missing.json"
want_rc "load missing file" 1
grep -qF "$work/missing.json: cannot open" <<<"$err" || bad "load missing file" "message"
[ -z "$sent" ] || bad "load missing file" "something was sent"
reply '{"load": {"ok": false, "error": "layout_changed", "message": "comiccon.json: event 2016: general admission type 1 resized (1000 -> 1200)"}}'
run load "$ex"
want_rc "load layout_changed" 1
[ "$err" = "stampedectl: layout_changed: comiccon.json: event 2016: general admission type 1 resized (1000 -> 1200)" ] ||
	bad "load layout_changed" "message"
[ -z "$out" ] || bad "load layout_changed" "stdout not empty"
reply '{"load": {"ok": false, "error": "invalid", "message": "comiccon.json: $.events: bad"}}'
run load "$ex"
want_rc "load invalid" 1

# ---- load with member lists: each members_file read relative to the inventory, sent as written ----
th=$src/docs/examples/theatre.json
reply '{"load": {"ok": true, "events": [{"id": 909, "name": "Summer season: opening night", "action": "added"}]}}'
run load "$th"
want_rc "load theatre" 0
python3 - "$log" "$th" "$src/docs/examples/members/patrons.csv" <<'PY' || bad "load theatre request" "not {cmd, name, inventory, members: [{file, text}]}"
import json, sys
reqs = [json.loads(l) for l in open(sys.argv[1])]
assert len(reqs) == 1, reqs
r = reqs[0]
assert set(r) == {"cmd", "name", "inventory", "members"}, r.keys()
assert r["name"] == "theatre.json" and r["inventory"] == open(sys.argv[2], encoding="utf-8").read()
assert r["members"] == [{"file": "members/patrons.csv", "text": open(sys.argv[3], encoding="utf-8").read()}], r["members"]
PY
want_line "load theatre row" '^  909 +Summer season: opening night +added$'
# Two events naming one list (relative, and absolute): each file read and sent once; bad lists send nothing.
mk_inv() { # FILE MEMBERS_FILE_1 MEMBERS_FILE_2
	python3 - "$@" <<'PY'
import json, sys
ev = lambda i, mf: {"id": i, "name": "E%d" % i, "tiers": [{"id": 1, "name": "T", "price": "1"}],
	"general_admission": [{"id": 1, "name": "G", "capacity": 5, "tier": 1}],
	"presale": [{"name": "P", "start": "2026-01-01T00:00:00Z", "end": "2026-01-02T00:00:00Z", "members_file": mf},
	            {"name": "Q", "start": "2026-01-01T00:00:00Z", "end": "2026-01-02T00:00:00Z", "codes": ["GOLD"]}]}
json.dump({"format": "stampede-inventory/1", "events": [ev(1, sys.argv[2]), ev(2, sys.argv[3])]}, open(sys.argv[1], "w"))
PY
}
mkdir -p "$work/inv/lists"
printf 'A1\nA2,3\n' >"$work/inv/lists/a.csv"
printf 'B1\n' >"$work/abs.csv"
mk_inv "$work/inv/two.json" lists/a.csv "$work/abs.csv"
reply '{"load": {"ok": true, "events": []}}'
run load "$work/inv/two.json"
want_rc "load two lists" 0
want_sent "load two lists request" "[{\"cmd\": \"load\", \"name\": \"two.json\", \"inventory\": $(python3 -c 'import json,sys; print(json.dumps(open(sys.argv[1]).read()))' "$work/inv/two.json"), \"members\": [{\"file\": \"lists/a.csv\", \"text\": \"A1\\nA2,3\\n\"}, {\"file\": \"$work/abs.csv\", \"text\": \"B1\\n\"}]}]"
mk_inv "$work/inv/gone.json" lists/nosuch.csv lists/a.csv
run load "$work/inv/gone.json"
want_rc "load missing member list" 1
[ "$err" = "$work/inv/lists/nosuch.csv: cannot open: No such file or directory" ] || bad "load missing member list" "message"
[ -z "$sent" ] || bad "load missing member list" "something was sent"
printf 'A1\nGOLD\n' >"$work/inv/lists/gold.csv"
mk_inv "$work/inv/gold.json" lists/gold.csv lists/a.csv
run load "$work/inv/gold.json"
want_rc "load list with a window's code" 1
[ "$err" = 'lists/gold.csv:2: code "GOLD" of event 1 is already listed at $.events[0].presale[1].codes[0] (expected unique codes in an event, across its windows and member lists)' ] ||
	bad "load list with a window's code" "message"
[ -z "$sent" ] || bad "load list with a window's code" "something was sent"
printf 'A1\nA 2\n' >"$work/inv/lists/space.csv"
mk_inv "$work/inv/space.json" lists/a.csv lists/space.csv
run load "$work/inv/space.json"
want_rc "load bad member list" 1
[ "$err" = "$work/inv/lists/space.csv:2: code \"A 2\" has a space or a character outside printable ASCII (expected a code of 1..32 printable ASCII characters without spaces or commas)" ] ||
	bad "load bad member list" "message"
[ -z "$sent" ] || bad "load bad member list" "something was sent"

# ---- presale ----
presale_reply='{"ok": true, "event": 909, "windows": [
  {"index": 0, "name": "Patrons", "start_ms": 1771837200000, "end_ms": 1772442000000, "codes": 300, "uses": 366, "used": 12,
   "code_uses": [{"code": "PATRON-0001-VTFH", "uses": 2, "used": 2}, {"code": "PATRON-0002-JSWM", "uses": 1, "used": 0}]},
  {"index": 1, "name": "Friends priority booking", "start_ms": 1772442000000, "end_ms": 1773046800000, "codes": 4, "uses": 10121, "used": 9001,
   "code_uses": [{"code": "FRIENDS-GOLD", "uses": 2000, "used": 2000}]}]}'
reply "{\"presale\": $presale_reply}"
run presale 909
want_rc "presale" 0
want_sent "presale request" '[{"cmd": "presale", "event": 909}]'
want_out=$(printf '%s\n' \
	'WINDOW                        START                 END                   CODES   USES  USED' \
	'Patrons (0)                   2026-02-23T09:00:00Z  2026-03-02T09:00:00Z    300    366    12' \
	'Friends priority booking (1)  2026-03-02T09:00:00Z  2026-03-09T09:00:00Z      4  10121  9001')
[ "$out" = "$want_out" ] || bad "presale" "table"
run presale 909 --codes
want_rc "presale --codes" 0
want_sent "presale --codes request" '[{"cmd": "presale", "event": 909, "codes": true}]'
want_out=$(printf '%s\n' \
	'WINDOW                        START                 END                   CODES   USES  USED' \
	'Patrons (0)                   2026-02-23T09:00:00Z  2026-03-02T09:00:00Z    300    366    12' \
	'Friends priority booking (1)  2026-03-02T09:00:00Z  2026-03-09T09:00:00Z      4  10121  9001' \
	'' \
	'WINDOW                        CODE              USES  USED' \
	'Patrons (0)                   PATRON-0001-VTFH     2     2' \
	'Patrons (0)                   PATRON-0002-JSWM     1     0' \
	'Friends priority booking (1)  FRIENDS-GOLD      2000  2000')
[ "$out" = "$want_out" ] || bad "presale --codes" "table"
run --json presale 909 --codes
want_rc "presale --json" 0
py "presale --json" "assert o == {k: v for k, v in json.loads('''$presale_reply''').items() if k != 'ok'}, o"
reply '{"presale": {"ok": true, "event": 909, "truncated": true, "windows": [{"index": 0, "name": "P", "start_ms": 0, "end_ms": 1000, "codes": 5000, "uses": 5000, "used": 0, "code_uses": [{"code": "A", "uses": 1, "used": 0}]}]}}'
run presale 909 --codes
want_rc "presale truncated" 0
want_line "presale truncated" '^1 codes shown: the list was cut short by the dataplane$'
reply '{"presale": {"ok": true, "event": 5, "windows": []}}'
run presale 5
want_rc "presale none" 0
[ "$out" = "event 5: no presale windows" ] || bad "presale none" "output"
reply '{"presale": {"ok": false, "error": "not_found", "message": "event 6 is not loaded"}}'
run presale 6
want_rc "presale not_found" 1
[ "$err" = "stampedectl: not_found: event 6 is not loaded" ] || bad "presale not_found" "message"
reply '{"presale": {"ok": false, "error": "unreachable", "message": "the dataplane socket /x does not answer"}}'
run presale 6
want_rc "presale unreachable" 3
for garbage in '{"ok": true, "event": 909}' \
	'{"ok": true, "event": 909, "windows": {}}' \
	'{"ok": true, "event": 909, "windows": [{"index": 0, "name": "P", "start_ms": 0, "end_ms": 1, "codes": 1, "uses": "1", "used": 0}]}' \
	'{"ok": true, "event": 909, "windows": [{"index": 0, "name": "P", "start_ms": 0, "end_ms": 1, "codes": -1, "uses": 1, "used": 0}]}' \
	'{"ok": true, "event": 909, "windows": [{"index": 0, "name": "P", "start_ms": 0, "end_ms": 1, "codes": 1, "uses": 1, "used": 0}], "truncated": 1}' \
	'{"$raw": "not json"}'; do
	reply "{\"presale\": $garbage}"
	run presale 909
	want_rc "presale garbage $garbage" 4
	[ -z "$out" ] || bad "presale garbage $garbage" "stdout not empty"
done
# --codes asked: each window must carry code_uses, each row code, uses, used.
reply '{"presale": {"ok": true, "event": 909, "windows": [{"index": 0, "name": "P", "start_ms": 0, "end_ms": 1, "codes": 1, "uses": 1, "used": 0}]}}'
run presale 909 --codes
want_rc "presale --codes without code_uses" 4
grep -qF "presale.windows[0].code_uses: expected an array" <<<"$err" || bad "presale --codes without code_uses" "message"
reply '{"presale": {"ok": true, "event": 909, "windows": [{"index": 0, "name": "P", "start_ms": 0, "end_ms": 1, "codes": 1, "uses": 1, "used": 0, "code_uses": [{"code": 5, "uses": 1, "used": 0}]}]}}'
run presale 909 --codes
want_rc "presale --codes bad row" 4
[ -z "$out" ] || bad "presale --codes bad row" "stdout not empty"
run presale
want_rc "presale without EVENT" 2
run presale 0
want_rc "presale EVENT 0" 2
run presale 909 --codes=yes
want_rc "presale --codes=VALUE" 2
run presale 909 --limit 3
want_rc "presale --limit" 2
[ -z "$sent" ] || bad "presale usage errors" "something was sent"

# ---- open, pause, close ----
for c in open pause close; do
	state=$c
	[ "$c" = open ] || state=${c}d
	[ "$c" = close ] && state=closed
	reply "{\"$c\": {\"ok\": true, \"event\": 2016, \"state\": \"$state\"}}"
	run "$c" 2016
	want_rc "$c" 0
	want_sent "$c request" "[{\"cmd\": \"$c\", \"event\": 2016}]"
	[ "$out" = "event 2016: $state" ] || bad "$c" "output"
	run --json "$c" 2016
	py "$c --json" "assert o == {'event': 2016, 'state': '$state'}"
	run "$c"
	want_rc "$c without EVENT" 2
	[ -z "$sent" ] || bad "$c without EVENT" "something was sent"
	run "$c" 0
	want_rc "$c EVENT 0" 2
	run "$c" 4294967296
	want_rc "$c EVENT too big" 2
	run "$c" -- -1
	want_rc "$c EVENT negative" 2
done

# ---- set ----
reply '{"set": {"ok": true, "event": 909, "max_active_shoppers": 600, "admission_per_s": 5}}'
run set 909 --max-active 600 --admission-rate 5
want_rc "set" 0
want_sent "set request" '[{"cmd": "set", "event": 909, "max_active_shoppers": 600, "admission_per_s": 5}]'
[ "$out" = "event 909: at most 600 active shoppers, 5 admitted/s" ] || bad "set" "output"
run set 909 --admission-rate=5
want_sent "set one field" '[{"cmd": "set", "event": 909, "admission_per_s": 5}]'
run set 909
want_rc "set without a value" 2
grep -q "set needs --max-active N or --admission-rate N" <<<"$err" || bad "set without a value" "message"
for v in 0 1000001 abc -5 1e3 ""; do
	run set 909 --max-active "$v"
	want_rc "set --max-active '$v'" 2
	[ -z "$sent" ] || bad "set --max-active '$v'" "something was sent"
done
run set 909 --max-active
want_rc "set --max-active without value" 2

# ---- release-holds ----
reply '{"release-holds": {"ok": true, "released": 57, "ended": 3, "holds": [11, 12, 13]}}'
run release-holds 1 --older-than 10m
want_rc "release-holds" 0
want_sent "release-holds request" '[{"cmd": "release-holds", "event": 1, "older_than_ms": 600000}]'
[ "$out" = "released 57 holds; 3 ended meanwhile" ] || bad "release-holds" "output"
run release-holds --all --older-than=1h30m
want_sent "release-holds --all" '[{"cmd": "release-holds", "all": true, "older_than_ms": 5400000}]'
run release-holds 2016 --section 3
want_sent "release-holds --section" '[{"cmd": "release-holds", "event": 2016, "section": 3}]'
run --json release-holds --all
py "release-holds --json" 'assert o == {"released": 57, "ended": 3, "holds": [11, 12, 13]}'
run release-holds
want_rc "release-holds without EVENT or --all" 2
run release-holds 1 --all
want_rc "release-holds EVENT and --all" 2
run release-holds --all --section 3
want_rc "release-holds --all --section" 2
for d in 10x 10 "" -5m 1h1h 30s1h "1 h" 1.5h 9999999h; do
	run release-holds 1 --older-than "$d"
	want_rc "release-holds --older-than '$d'" 2
	grep -qF -- "--older-than: \"$d\"" <<<"$err" || bad "release-holds --older-than '$d'" "message does not quote the duration"
	grep -qF "expected a duration like 90s, 10m, 1h30m or 500ms" <<<"$err" || bad "release-holds --older-than '$d'" "message"
	[ -z "$sent" ] || bad "release-holds --older-than '$d'" "something was sent"
done

# ---- holds ----
now=$(date +%s%3N)
reply "{\"holds\": {\"ok\": true, \"total\": 7, \"holds\": [
 {\"hold_id\": 9007199254740993, \"event\": 2016, \"part\": 1, \"part_name\": \"4-day badge\", \"kind\": \"ga\",
  \"client_id\": 77, \"tickets\": 4, \"items\": [], \"created_ms\": $((now - 65000)), \"expiry_ms\": $((now + 300000))},
 {\"hold_id\": 5, \"event\": 909, \"part\": 2, \"part_name\": \"Circle\", \"kind\": \"seat\",
  \"client_id\": 78, \"tickets\": 2, \"items\": [{\"row\": \"A\", \"seat\": 1}], \"created_ms\": $((now - 900000)), \"expiry_ms\": $((now - 1000))}]}}"
run holds
want_rc "holds" 0
want_sent "holds request" '[{"cmd": "holds"}]'
want_line "holds heading" '^ +HOLD +EVENT +PART +KIND +CLIENT +TICKETS +AGE +EXPIRES IN$'
want_line "holds row 1" '^9007199254740993 +2016 +4-day badge \(1\) +ga +77 +4 +1m[56]s +(4m5[0-9]s|5m)$'
want_line "holds row 2" '^ +5 +909 +Circle \(2\) +seat +78 +2 +15m(1s)? +due$'
want_line "holds footer" '^2 of 7 live holds shown$'
run holds 2016 --section 1 --older-than 90s --limit 50
want_sent "holds request with options" '[{"cmd": "holds", "event": 2016, "section": 1, "older_than_ms": 90000, "limit": 50}]'
run --json holds
py "holds --json" 'assert o["total"] == 7 and o["holds"][0]["hold_id"] == 9007199254740993 and "ok" not in o'
for l in 0 100001 x; do
	run holds --limit "$l"
	want_rc "holds --limit $l" 2
done
run holds --section 1
want_rc "holds --section without EVENT" 2
run holds --older-than 5q
want_rc "holds --older-than 5q" 2

# ---- export ----
reply '{"export": {"ok": true, "tickets": [
 {"order_id": 1, "hold_id": 10, "event": 909, "part": 2, "part_name": "Circle, \"upper\"", "kind": "seat",
  "row": "A", "seat": 12, "serial": null, "client_id": 77, "tier": 1, "tier_name": "Stalls, left", "price_cents": 4500,
  "time_ms": 1794070801250},
 {"order_id": 2, "hold_id": 11, "event": 2016, "part": 1, "part_name": "Floor", "kind": "ga",
  "row": null, "seat": null, "serial": 17, "client_id": 78, "tier": 2, "tier_name": "Line\nbreak", "price_cents": 27600,
  "time_ms": 1794070800000}]}}'
csv_want='order_id,hold_id,event,part,part_name,kind,row,seat,serial,client_id,tier,tier_name,price_cents,time\r
1,10,909,2,"Circle, ""upper""",seat,A,12,,77,1,"Stalls, left",4500,2026-11-07T17:00:01.250Z\r
2,11,2016,1,Floor,ga,,,17,78,2,"Line
break",27600,2026-11-07T17:00:00.000Z\r
'
run export
want_rc "export" 0
want_sent "export request" '[{"cmd": "export"}]'
python3 - "$work/out" "$csv_want" <<'PY' || bad "export" "CSV bytes differ"
import sys, csv, io
got = open(sys.argv[1], "rb").read().decode()
want = sys.argv[2].replace("\\r\n", "\r\n")
assert got == want, (got, want)
rows = list(csv.reader(io.StringIO(got, newline="")))
assert rows[1][4] == 'Circle, "upper"' and rows[1][11] == "Stalls, left" and rows[2][11] == "Line\nbreak", rows
assert all(len(r) == 14 for r in rows), rows
PY
run export 2016 --format csv
want_sent "export EVENT" '[{"cmd": "export", "event": 2016}]'
for args in "--format json" "--json"; do
	# shellcheck disable=SC2086
	run export $args
	want_rc "export $args" 0
	py "export $args" '
assert isinstance(o, list) and len(o) == 2
keys = "order_id,hold_id,event,part,part_name,kind,row,seat,serial,client_id,tier,tier_name,price_cents,time".split(",")
assert list(o[0])[:14] == keys, list(o[0])
assert o[0]["part_name"] == "Circle, \"upper\"" and o[0]["serial"] is None and o[0]["seat"] == 12
assert o[1]["row"] is None and o[1]["serial"] == 17 and o[1]["time"] == "2026-11-07T17:00:00.000Z"
assert o[0]["time_ms"] == 1794070801250'
done
run export -o "$work/sold.csv"
want_rc "export -o" 0
[ -z "$out" ] || bad "export -o" "stdout not empty"
python3 - "$work/sold.csv" "$csv_want" <<'PY' || bad "export -o" "file bytes differ"
import sys
assert open(sys.argv[1], "rb").read().decode() == sys.argv[2].replace("\\r\n", "\r\n")
PY
[ "$(find "$work" -name 'sold.csv.*' | wc -l)" = 0 ] || bad "export -o" "temporary file left"
run export --output "$work/no-such-dir/sold.csv"
want_rc "export -o into a missing directory" 4
grep -qF "cannot write $work/no-such-dir/sold.csv" <<<"$err" || bad "export -o missing dir" "message"
run export --format xml
want_rc "export --format xml" 2
reply '{"export": {"ok": true, "tickets": []}}'
run export
[ "$out" = "order_id,hold_id,event,part,part_name,kind,row,seat,serial,client_id,tier,tier_name,price_cents,time"$'\r' ] ||
	bad "export empty" "not only the heading"
run --json export
py "export empty --json" 'assert o == []'
if [ -w /dev/full ]; then
	set +e
	"$ctl" --socket "$sock" export >/dev/full 2>"$work/err"
	rc=$?
	set -e
	err=$(cat "$work/err") out="" sent=""
	want_rc "export to a full disk" 4
fi

# ---- watch ----
reply "{\"status\": $status_reply}"
run watch --count 2 --interval 0.1
want_rc "watch --count 2" 0
want_sent "watch requests" '[{"cmd": "status"}, {"cmd": "status"}]'
[ "$(grep -c '^stampedectl watch: .*, every 100ms (Ctrl-C to stop)$' <<<"$out")" = 2 ] || bad "watch" "not two frames"
[ "$(grep -cE '^ 2016 +Comic-Con' <<<"$out")" = 2 ] || bad "watch" "not two status tables"
grep -q $'\033' <<<"$out" && bad "watch" "escape sequences on a pipe"
python3 - "$work/out" <<'PY' || bad "watch" "frames not separated by one blank line"
import sys
text = open(sys.argv[1]).read()
frames = text.split("\n\nstampedectl watch: ")
assert len(frames) == 2 and frames[0].startswith("stampedectl watch: "), frames
PY
run --json watch 2016 --count 2 --interval 0.1
want_rc "watch --json" 0
want_sent "watch EVENT" '[{"cmd": "status", "event": 2016}, {"cmd": "status", "event": 2016}]'
python3 -c '
import json, sys
lines = open(sys.argv[1]).read().splitlines()
assert len(lines) == 2 and all(json.loads(l)["control"]["pid"] == 4242 for l in lines)' "$work/out" ||
	bad "watch --json" "not two JSON lines"
if script -qc true /dev/null >/dev/null 2>&1; then
	script -qc "'$ctl' --socket '$sock' watch --count 2 --interval 0.1" /dev/null >"$work/tty" 2>&1 || true
	[ "$(grep -o $'\033\\[H\033\\[2J' "$work/tty" | wc -l)" = 2 ] || { rc=0 out=$(cat "$work/tty") err="" sent=""; bad "watch on a tty" "no screen clearing per frame"; }
fi
"$ctl" --socket "$sock" watch --interval 5 >"$work/out" 2>"$work/err" &
watch_pid=$!
sleep 0.5
kill -INT "$watch_pid"
set +e
wait "$watch_pid"
rc=$?
set -e
out=$(cat "$work/out") err=$(cat "$work/err") sent=""
want_rc "watch stopped by Ctrl-C" 0
run watch --count 0
want_rc "watch --count 0" 2
run watch --interval 0
want_rc "watch --interval 0" 2
run watch --interval abc
want_rc "watch --interval abc" 2

# ---- refusals: exit 1, unreachable: exit 3 ----
for code in not_found bad_request invalid busy unavailable unknown_command; do
	reply "{\"status\": {\"ok\": false, \"error\": \"$code\", \"message\": \"no event 9\"}}"
	run status 9
	want_rc "error $code" 1
	[ "$err" = "stampedectl: $code: no event 9" ] || bad "error $code" "message"
	[ -z "$out" ] || bad "error $code" "stdout not empty"
done
reply '{"open": {"ok": false, "error": "unreachable", "message": "the dataplane does not answer on /run/stampede/dataplane.sock"}}'
run open 1
want_rc "error unreachable" 3
grep -q "^stampedectl: unreachable: the dataplane does not answer" <<<"$err" || bad "error unreachable" "message"
run --socket "$work/nobody.sock" status
want_rc "no control process" 3
grep -qF "cannot connect to stampede-control at $work/nobody.sock" <<<"$err" || bad "no control process" "message"
run --socket "$work/$(printf 'x%.0s' $(seq 120)).sock" status
want_rc "socket path too long" 2
# $STAMPEDE_CONTROL_SOCKET, and --socket before it
reply "{\"status\": $status_reply}"
set +e
STAMPEDE_CONTROL_SOCKET=$sock "$ctl" status >/dev/null 2>&1
rc=$?
set -e
want_rc "STAMPEDE_CONTROL_SOCKET" 0
set +e
STAMPEDE_CONTROL_SOCKET=$work/nobody.sock "$ctl" status >/dev/null 2>"$work/err"
rc=$?
set -e
want_rc "STAMPEDE_CONTROL_SOCKET unreachable" 3
run status # --socket given by run, while the environment names nobody
set +e
STAMPEDE_CONTROL_SOCKET=$work/nobody.sock "$ctl" --socket "$sock" status >/dev/null 2>&1
rc=$?
set -e
want_rc "--socket before STAMPEDE_CONTROL_SOCKET" 0
reply '{"status": {"$close": true}}'
run status
want_rc "closed without a reply" 3
grep -q "closed the connection without replying" <<<"$err" || bad "closed without a reply" "message"
reply '{"status": {"$sleep_ms": 1200}}'
run --timeout 0.3 status
want_rc "timeout" 3
grep -q "no reply from stampede-control at .* within 300 ms" <<<"$err" || bad "timeout" "message"

# ---- garbage replies: exit 4, a message, no crash, nothing on stdout ----
garbage() { # NAME COMMAND_ARGS SCRIPT
	local name=$1 args=$2
	reply "$3"
	# shellcheck disable=SC2086
	run $args
	want_rc "garbage $name" 4
	grep -q "^stampedectl: unexpected reply from stampede-control: " <<<"$err" || bad "garbage $name" "message"
	[ -z "$out" ] || bad "garbage $name" "stdout not empty"
	# shellcheck disable=SC2086
	run --json $args
	want_rc "garbage $name --json" 4
	[ -z "$out" ] || bad "garbage $name --json" "stdout not empty"
}
garbage "not JSON" status '{"status": {"$raw": "hello"}}'
garbage "not an object" status '{"status": {"$raw": "[1, 2]"}}'
garbage "a string" status '{"status": {"$raw": "\"ok\""}}'
garbage "closed mid-reply" status '{"status": {"$raw": "{\"ok\": tr", "$len": 100}}'
garbage "length 0" status '{"status": {"$raw": "", "$len": 0}}'
garbage "length too big" status '{"status": {"$raw": "{}", "$len": 4294967295}}'
garbage "no ok" events '{"events": {"events": []}}'
garbage "ok a string" events '{"events": {"ok": "yes", "events": []}}'
garbage "error without a code" open\ 1 '{"open": {"ok": false, "message": "x"}}'
garbage "error code a number" open\ 1 '{"open": {"ok": false, "error": 404}}'
mutate() { # PYTHON_STATEMENT on o (the status reply) -> script
	python3 -c "import json, sys
o = json.loads(sys.argv[1])
$1
print(json.dumps({'status': o}))" "$status_reply"
}
garbage "status events not an array" status "$(mutate 'o["events"] = {}')"
garbage "status capacity a string" status "$(mutate 'o["events"][0]["capacity"] = "1000"')"
garbage "status name missing" status "$(mutate 'del o["events"][1]["name"]')"
garbage "status event not an object" status "$(mutate 'o["events"][1] = 3')"
garbage "status statuses a list" status "$(mutate 'o["events"][0]["statuses"] = [1]')"
garbage "status status count a string" status "$(mutate 'o["events"][0]["statuses"]["taken"] = "3"')"
garbage "status requests_per_s a string" status "$(mutate 'o["events"][0]["requests_per_s"] = "844"')"
garbage "status histogram lengths" status "$(mutate 'o["latency_us"]["counts"] = [1]')"
garbage "status histogram negative" status "$(mutate 'o["latency_us"]["counts"][0] = -1')"
garbage "status histogram null inside" status "$(mutate 'o["latency_us"]["le"][0] = None')"
garbage "status no storage" status "$(mutate 'del o["storage"]')"
garbage "status no control" status "$(mutate 'del o["control"]')"
garbage "status sync a number" status "$(mutate 'o["sync"] = 1')"
garbage "events parts a string" events '{"events": {"ok": true, "events": [{"id": 1, "name": "a", "state": "open", "on_sale_ms": 0, "hold_ttl_ms": 1, "buyer_limit": 1, "capacity": 1, "parts": "x"}]}}'
garbage "events id missing" events '{"events": {"ok": true, "events": [{"name": "a", "state": "open", "on_sale_ms": 0, "hold_ttl_ms": 1, "buyer_limit": 1, "capacity": 1, "parts": 1}]}}'
garbage "load events not an array" "load $ex" '{"load": {"ok": true, "events": "added"}}'
garbage "load action missing" "load $ex" '{"load": {"ok": true, "events": [{"id": 2016, "name": "x"}]}}'
garbage "open state missing" "open 1" '{"open": {"ok": true, "event": 1}}'
garbage "set admission missing" "set 1 --max-active 5" '{"set": {"ok": true, "event": 1, "max_active_shoppers": 5}}'
garbage "release released a string" "release-holds --all" '{"release-holds": {"ok": true, "released": "57", "ended": 0, "holds": []}}'
garbage "release holds of strings" "release-holds --all" '{"release-holds": {"ok": true, "released": 1, "ended": 0, "holds": ["1"]}}'
garbage "holds not an array" holds '{"holds": {"ok": true, "total": 1, "holds": {}}}'
garbage "holds total missing" holds '{"holds": {"ok": true, "holds": []}}'
garbage "hold tickets a float" holds '{"holds": {"ok": true, "total": 1, "holds": [{"hold_id": 1, "event": 1, "part": 1, "part_name": "a", "kind": "ga", "client_id": 1, "tickets": 1.5, "items": [], "created_ms": 0, "expiry_ms": 0}]}}'
garbage "export tickets not an array" export '{"export": {"ok": true, "tickets": null}}'
garbage "export seat a string" export '{"export": {"ok": true, "tickets": [{"order_id": 1, "hold_id": 1, "event": 1, "part": 1, "part_name": "a", "kind": "seat", "row": "A", "seat": "12", "serial": null, "client_id": 1, "tier": 1, "tier_name": "t", "price_cents": 1, "time_ms": 0}]}}'
garbage "export row a number" export '{"export": {"ok": true, "tickets": [{"order_id": 1, "hold_id": 1, "event": 1, "part": 1, "part_name": "a", "kind": "seat", "row": 1, "seat": 12, "serial": null, "client_id": 1, "tier": 1, "tier_name": "t", "price_cents": 1, "time_ms": 0}]}}'
garbage "export time missing" export '{"export": {"ok": true, "tickets": [{"order_id": 1, "hold_id": 1, "event": 1, "part": 1, "part_name": "a", "kind": "ga", "row": null, "seat": null, "serial": 1, "client_id": 1, "tier": 1, "tier_name": "t", "price_cents": 1}]}}'
reply '{"export": {"ok": true, "tickets": [1]}}'
run export -o "$work/garbage.csv"
want_rc "garbage export -o" 4
[ ! -e "$work/garbage.csv" ] || bad "garbage export -o" "file written"
[ "$(find "$work" -name 'garbage.csv*' | wc -l)" = 0 ] || bad "garbage export -o" "temporary file left"

# ---- keys generate / rotate (offline) and reload (through the control process) ----
kf=$work/keys/wr.keys
mkdir -p "$work/keys"
run keys generate "$kf" --id 7
want_rc "keys generate" 0
[ "$out" = "$kf: created with current key 7" ] || bad "keys generate" "output"
[ -z "$sent" ] || bad "keys generate" "something was sent"
[ "$(stat -c %a "$kf")" = 600 ] || bad "keys generate" "mode $(stat -c %a "$kf"), want 600"
[ "$(grep -cE '^7 [0-9a-f]{64}$' "$kf")" = 1 ] || bad "keys generate" "file: $(cat "$kf")"
before=$(cat "$kf")
run keys generate "$kf" --id 3
want_rc "keys generate over an existing file" 1
[ "$err" = "$kf: File exists" ] || bad "keys generate over an existing file" "message"
[ "$(cat "$kf")" = "$before" ] || bad "keys generate over an existing file" "file changed"
run keys generate "$work/keys/nodir/x"
want_rc "keys generate in a missing directory" 1
run --json keys generate "$work/keys/default.keys"
want_rc "keys generate --json" 0
py "keys generate --json" "assert o == {'file': '$work/keys/default.keys', 'current': 1}, o"
for v in 256 -1 x ''; do
	run keys generate "$work/keys/bad-id" --id "$v"
	want_rc "keys generate --id '$v'" 2
	[ ! -e "$work/keys/bad-id" ] || bad "keys generate --id '$v'" "file created"
done
run keys generate
want_rc "keys generate without FILE" 2
run keys rotate "$kf" --id 3
want_rc "keys rotate --id" 2
run keys frob
want_rc "keys frob" 2
grep -q "keys: unknown action 'frob'" <<<"$err" || bad "keys frob" "message"

run keys rotate "$kf"
want_rc "keys rotate" 0
[ "$out" = "$kf: rotated, current key 8" ] || bad "keys rotate" "output"
[ -z "$sent" ] || bad "keys rotate" "something was sent"
grep -vE '^(#|$)' "$kf" | awk '{print $1}' | tr '\n' ' ' | grep -qx '8 7 ' || bad "keys rotate" "ids: $(cat "$kf")"
[ "$(grep -E '^7 ' "$kf")" = "$(grep -E '^7 ' <<<"$before")" ] || bad "keys rotate" "old key not kept as previous"
[ "$(stat -c %a "$kf")" = 600 ] || bad "keys rotate" "mode"
run --json keys rotate "$kf"
py "keys rotate --json" "assert o == {'file': '$kf', 'current': 9}, o"
grep -vE '^(#|$)' "$kf" | awk '{print $1}' | tr '\n' ' ' | grep -qx '9 8 ' || bad "keys rotate twice" "ids: $(cat "$kf")"
# a bad file: the loader's message, exit 1, the file unchanged
printf '1 %s\n1 %s\n' "$(printf 'ab%.0s' $(seq 32))" "$(printf 'cd%.0s' $(seq 32))" >"$work/keys/dup.keys"
chmod 600 "$work/keys/dup.keys"
before=$(cat "$work/keys/dup.keys")
run keys rotate "$work/keys/dup.keys"
want_rc "keys rotate of a bad file" 1
grep -qE "^$work/keys/dup.keys:2: " <<<"$err" || bad "keys rotate of a bad file" "message not FILE:LINE: ..."
[ "$(cat "$work/keys/dup.keys")" = "$before" ] || bad "keys rotate of a bad file" "file changed"
chmod 644 "$work/keys/dup.keys"
run keys rotate "$work/keys/dup.keys"
want_rc "keys rotate of a 0644 file" 1
grep -q "mode 0644 lets group or others" <<<"$err" || bad "keys rotate of a 0644 file" "message"
run keys rotate "$work/keys/missing.keys"
want_rc "keys rotate of a missing file" 1
[ ! -e "$work/keys/missing.keys" ] || bad "keys rotate of a missing file" "file created"

reply '{"keys-reload": {"ok": true, "keys": 2, "current": 9}}'
run keys reload
want_rc "keys reload" 0
want_sent "keys reload request" '[{"cmd": "keys-reload"}]'
[ "$out" = "keys reloaded: 2 keys, current 9" ] || bad "keys reload" "output"
run --json keys reload
py "keys reload --json" "assert o == {'keys': 2, 'current': 9}, o"
reply '{"keys-reload": {"ok": true, "keys": 0, "current": null}}'
run keys reload
want_rc "keys reload, keys-file none" 0
[ "$out" = "keys reloaded: none (keys-file none)" ] || bad "keys reload, keys-file none" "output"
reply '{"keys-reload": {"ok": false, "error": "invalid", "message": "/etc/stampede/wr.keys:3: duplicate key id 1"}}'
run keys reload
want_rc "keys reload refused" 1
grep -qF "/etc/stampede/wr.keys:3: duplicate key id 1" <<<"$err" || bad "keys reload refused" "loader's message"
reply '{"keys-reload": {"ok": false, "error": "unreachable", "message": "the dataplane socket /x does not answer"}}'
run keys reload
want_rc "keys reload, dataplane down" 3
reply '{"keys-reload": {"ok": true, "keys": "two", "current": 9}}'
run keys reload
want_rc "keys reload, garbage reply" 4
run keys reload "$kf"
want_rc "keys reload FILE" 2
[ -z "$sent" ] || bad "keys reload FILE" "something was sent"

# ---- help for every command, usage errors ----
for c in status events validate load open pause close release-holds set export holds watch keys presale; do
	for form in "$c --help" "help $c" "$c -h"; do
		# shellcheck disable=SC2086
		run $form
		want_rc "help '$form'" 0
		grep -qF "Usage: stampedectl [--json] $c " <<<"$out" || bad "help '$form'" "usage line"
		grep -q "^  3  control process unreachable" <<<"$out" || bad "help '$form'" "exit status"
		[ -z "$sent" ] || bad "help '$form'" "something was sent"
	done
done
run help release-holds
grep -q -- "--older-than DURATION" <<<"$out" || bad "help release-holds" "options not listed"
run status --all
want_rc "status --all" 2
grep -q "unknown option '--all' for status" <<<"$err" || bad "status --all" "message"
run --limit 5 holds
want_rc "command option before the command" 2
run --timeout 0 status
want_rc "--timeout 0" 2
run status --socket
want_rc "--socket without a path" 2

echo "ctl_remote: $checks exit-status checks, $([ $fail = 0 ] && echo passed || echo FAILED)"
exit $fail
