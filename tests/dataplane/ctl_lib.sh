# shellcheck shell=bash
# tests/dataplane/ctl_lib.sh - sourced by the dataplane control-socket tests
# (control_test.sh, queue_control_test.sh, presale_control_test.sh): a
# stampede-dataplane on net_null with its control socket, and the calls to
# it. Set dp (the dataplane), call (dp_ctl_call), name (for messages) and
# tag (the temp dir's and file prefix's stem) before sourcing. Defines work,
# prefix, sock, eal; fail, c, expect, load_req, start_dp, stop_dp. Every
# process is killed, the temp dir and the DPDK runtime dir removed, on any
# exit.
set -euo pipefail
: "${dp:?}" "${call:?}" "${name:?}" "${tag:?}"
work=$(mktemp -d "/tmp/stampede-$tag-XXXXXX")
prefix="st$tag$$"
dp_pid=""
ctl_lib_cleanup() {
	[ -n "$dp_pid" ] && kill -KILL "$dp_pid" 2>/dev/null || true
	rm -rf "$work" "/var/run/dpdk/$prefix"
}
trap ctl_lib_cleanup EXIT INT TERM
sock="$work/run/dp.sock"
eal=(--no-huge -m 256 --no-pci --log-level=lib.eal:error --file-prefix "$prefix" --vdev net_null0)

# fail MSG: say what failed, with the end of the dataplane's log, and exit 1.
fail() {
	echo "$name: FAIL: $*" >&2
	[ -f "$work/dp.log" ] && tail -20 "$work/dp.log" >&2
	exit 1
}
# c JSON: one request on the control socket, the reply on stdout.
c() { "$call" "$sock" "$@"; }
# expect REPLY PATTERN WHAT: REPLY must contain PATTERN.
expect() {
	grep -q -- "$2" <<<"$1" || fail "$3: got ${1:0:600}"
}
# load_req FILE: a `load` request carrying FILE's text.
load_req() {
	python3 -c 'import json,sys; print(json.dumps({"cmd": "load", "name": sys.argv[1].split("/")[-1], "inventory": open(sys.argv[1]).read()}))' "$1"
}
# start_dp [SETTING ARGS...]: start the dataplane (data in $work/data, the
# control socket $sock, small tables) and wait for "ready on".
start_dp() {
	: >"$work/dp.log"
	"$dp" -l 1 "${eal[@]}" -- --data "$work/data" --control-socket "$sock" --holds-max 1024 --orders-max 1024 \
		--idem-max 1024 --buyers-max 1024 "$@" >>"$work/dp.log" 2>&1 &
	dp_pid=$!
	for _ in $(seq 100); do
		grep -q "ready on" "$work/dp.log" && return 0
		kill -0 "$dp_pid" 2>/dev/null || fail "dataplane exited at start"
		sleep 0.1
	done
	fail "dataplane not ready"
}
# stop_dp: SIGTERM; it must exit 0 and remove its socket.
stop_dp() {
	kill -TERM "$dp_pid"
	wait "$dp_pid" || fail "dataplane exit status $? on SIGTERM"
	dp_pid=""
	[ ! -e "$sock" ] || fail "socket file left behind at exit"
}
