#!/usr/bin/env bash
# settings_test.sh DATAPLANE EXAMPLE_CONF - the settings table: the example
# config is accepted; bad values, unknown settings and bad flags are refused
# with a message naming the file, line and bounds, exit 2, before anything
# starts.
set -euo pipefail
dp=$1 conf=$2
work=$(mktemp -d /tmp/stampede-settings-XXXXXX)
trap 'rm -rf "$work" /var/run/dpdk/stps$$' EXIT
eal=(--no-huge -m 128 --no-pci -l 0 --file-prefix "stps$$" --log-level=lib.eal:error)
fail=0
expect() { # NAME WANT_RC WANT_TEXT -- ARGS...
	local name=$1 want_rc=$2 want=$3
	shift 4
	set +e
	out=$("$dp" "${eal[@]}" -- "$@" 2>&1)
	rc=$?
	set -e
	if [ "$rc" != "$want_rc" ] || ! grep -qF -- "$want" <<<"$out"; then
		echo "FAIL $name: rc $rc (want $want_rc), output:" >&2
		echo "$out" >&2
		fail=1
	fi
}
# The example parses: start-up goes on to the inventory it names.
expect example 1 "/etc/stampede/inventory.json: cannot open" -- --config "$conf" --data "$work/data"
printf 'port 99999\n' >"$work/a.conf"
expect bound 2 "a.conf:1: port \"99999\": expected a whole number 1..65535" -- --config "$work/a.conf"
printf '# comment\nbacklg 10\n' >"$work/b.conf"
expect unknown 2 "b.conf:2: unknown setting \"backlg\"" -- --config "$work/b.conf"
printf 'ip 10.0.0.300\n' >"$work/c.conf"
expect ip 2 "ip \"10.0.0.300\": expected a dotted IPv4 address" -- --config "$work/c.conf"
expect flag 2 "unknown flag \"--prot\"" -- --prot 7300
expect pow2 2 "handoff-ring 1000: expected a power of two" -- --handoff-ring 1000
expect nosync 2 "nosync \"maybe\": expected yes or no" -- --nosync maybe
expect help 0 "--backlog" -- --help
exit $fail
