#!/usr/bin/env bash
# stampede-loadgen's command line: bad options are usage errors (exit 2)
# naming the option and quoting the value, nothing is sent; start-up
# failures are exit 3 with a reason; a dataplane that never answers is
# exit 3 after the run, with the JSON line still printed.
# Usage: cli_test.sh STAMPEDE_LOADGEN
set -u
LG=$1
fails=0

# expect CODE TEXT ARGS...: exit status CODE and TEXT on stderr.
expect() {
	local code=$1 text=$2
	shift 2
	local err rc
	err=$("$LG" "$@" 2>&1 >/dev/null)
	rc=$?
	if [ "$rc" != "$code" ] || [[ "$err" != *"$text"* ]]; then
		echo "FAIL: $* -> exit $rc (want $code), stderr: ${err%%$'\n'*} (want: $text)" >&2
		fails=$((fails + 1))
	fi
}

expect 2 '--scenario is required' --buyers 5
expect 2 'unknown scenario "nope"' --scenario nope
expect 2 '--buyers: "0" is not a number in 1..320000' --scenario comiccon --buyers 0
expect 2 '--buyers: "320001" is not a number in 1..320000' --scenario comiccon --buyers 320001
expect 2 '--buyers: "-3" is not a number' --scenario comiccon --buyers -3
expect 2 '--buyers: "12x" is not a number in 1..320000' --scenario comiccon --buyers 12x
expect 2 '--time-scale: "abc" is not a number in 0.0001..100' --scenario comiccon --time-scale abc
expect 2 '--time-scale: "0" is not a number in 0.0001..100' --scenario comiccon --time-scale 0
expect 2 '--abandon: "1.5" is not a number in 0..1' --scenario comiccon --abandon 1.5
expect 2 '--abandon: "nan" is not a number in 0..1' --scenario comiccon --abandon nan
expect 2 '--port: "70000" is not a number in 1..65535' --scenario comiccon --port 70000
expect 2 '--horizon-ms: "2001" is not a number in 100..2000' --scenario comiccon --horizon-ms 2001
expect 2 '--quantity: "17" is not a number in 1..16' --scenario comiccon --quantity 17
expect 2 '--seconds: "86401" is not a number in 1..86400' --scenario comiccon --seconds 86401
expect 2 '--once, --rate and --concurrency exclude each other' --scenario comiccon --rate 5 --concurrency 3
expect 2 '--load needs --ctl' --scenario comiccon --load
expect 2 '--transport: "tcp"' --scenario comiccon --transport tcp
expect 2 'unexpected argument "extra"' --scenario comiccon extra
expect 2 'unrecognized option' --scenario comiccon --bogus
expect 3 'nonexistent.json: cannot open' --scenario comiccon --inventory /nonexistent.json
expect 3 'is not an IPv4 address' --scenario comiccon --server 300.1.1.1
expect 3 'EAL arguments before "--" are for --transport dpdk only' -l 0 -- --scenario comiccon
expect 3 '--transport dpdk needs --ip' --scenario comiccon --transport dpdk
# Nobody answers on this port: a short run, exit 3, the JSON line still there.
out=$("$LG" --scenario comiccon --buyers 3 --server 127.0.0.1 --port 9 --seconds 1 --timeout-max-ms 200 --quiet 2>/dev/null)
rc=$?
if [ $rc != 3 ] || ! tail -1 <<<"$out" | grep -q '^{"scenario":"comiccon","buyers":3,"capacity":1000,"sold":0,'; then
	echo "FAIL: silent server: exit $rc, out: $out" >&2
	fails=$((fails + 1))
fi
"$LG" --help | grep -q -- '--scenario NAME' || { echo "FAIL: --help" >&2; fails=$((fails + 1)); }
[ $fails = 0 ] && echo "loadgen cli: ok"
exit $((fails > 0))
