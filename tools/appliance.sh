# shellcheck shell=bash
# tools/appliance.sh - the whole appliance on one machine, for the system
# tests (tests/system/lib.sh) and tools/demo: stampede-dataplane in a network
# namespace of its own on net_tap (10.11.0.2, udp 7300; the tap gets
# 10.11.0.1), stampede-control and stampedectl on Unix sockets in a private
# temp dir, buyers inside the namespace.
#
# Source it with BUILD (the build dir) set and a function `fail MSG` defined;
# then call app_init once, and app_cleanup on exit (it stops everything and
# removes the namespace, the temp dir and the DPDK runtime dir, on failure
# too). Needs root and iproute2.

: "${BUILD:?BUILD must name the build dir}"
DP_EXE="$BUILD/dataplane/app/stampede-dataplane"
CTL_EXE="$BUILD/control/stampede-control"
CLI_EXE="$BUILD/control/stampedectl"
BUYER_EXE="$BUILD/client/stampede"

# app_init [NAME]: make the namespace NAME-PID-RANDOM (default name stps),
# the temp dir and the names the functions below use.
app_init() {
	local name=${1:-stps}
	NS="$name-$$-$RANDOM"
	WORK=$(mktemp -d "/tmp/$name-XXXXXX")
	PREFIX="$name$$"
	DATA="$WORK/data"
	DP_SOCK="$WORK/dp.sock"
	CTL_SOCK="$WORK/ctl.sock"
	METRICS_PORT=$((20000 + RANDOM % 20000))
	DP_PID=""
	CTL_PID=""
	ip netns add "$NS"
	ip -n "$NS" link set lo up
}

# app_log_tail: the last 40 lines of the dataplane's and stampede-control's
# logs on stderr.
app_log_tail() {
	for f in "$WORK"/dataplane.log "$WORK"/control.log; do
		[ -f "$f" ] && { echo "--- $(basename "$f") (last 40 lines) ---" >&2; tail -40 "$f" >&2; }
	done
	return 0
}

# app_cleanup: stop stampede-control (kill -9) and the dataplane (SIGTERM,
# then -9 after 5 s), kill whatever else runs in the namespace, delete it and
# the temp dir. Safe to call twice.
app_cleanup() {
	# disown first: the shell would report the jobs it reaps as "Killed".
	[ -n "${CTL_PID:-}" ] && { disown "$CTL_PID" 2>/dev/null; kill -KILL "$CTL_PID" 2>/dev/null; }
	if [ -n "${DP_PID:-}" ] && kill -0 "$DP_PID" 2>/dev/null; then
		disown "$DP_PID" 2>/dev/null
		kill -TERM "$DP_PID" 2>/dev/null || true
		for _ in $(seq 50); do kill -0 "$DP_PID" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$DP_PID" 2>/dev/null || true
	fi
	CTL_PID="" DP_PID=""
	if [ -n "${NS:-}" ]; then
		ip netns pids "$NS" 2>/dev/null | xargs -r kill -KILL 2>/dev/null || true
		ip netns del "$NS" 2>/dev/null || true
	fi
	[ -n "${WORK:-}" ] && rm -rf "$WORK"
	[ -n "${PREFIX:-}" ] && rm -rf "/var/run/dpdk/$PREFIX"
	return 0
}

# start_dp [SETTING ARGS...]: start the dataplane (inventory loaded later
# through the control path) and wait until it answers ARP/ICMP and its
# control socket exists.
start_dp() {
	local before
	before=$(grep -c "ready on" "$WORK/dataplane.log" 2>/dev/null || true)
	# shellcheck disable=SC2086 # STAMPEDE_DP_EAL is a list of EAL options
	ip netns exec "$NS" "$DP_EXE" ${STAMPEDE_DP_EAL:--l 0} --no-huge -m 256 --no-pci --file-prefix "$PREFIX" \
		--vdev "net_tap0,iface=stp0" --log-level=lib.eal:error -- \
		--ip 10.11.0.2 --port 7300 --data "$DATA" --keys-file none --control-socket "$DP_SOCK" \
		--rx-desc 256 --tx-desc 256 --holds-max 65536 --orders-max 65536 --idem-max 65536 \
		--buyers-max 65536 "$@" >>"$WORK/dataplane.log" 2>&1 &
	DP_PID=$!
	for _ in $(seq 150); do
		if [ "$(grep -c "ready on" "$WORK/dataplane.log" 2>/dev/null)" -gt "${before:-0}" ] &&
			[ -S "$DP_SOCK" ] && ip -n "$NS" link show stp0 >/dev/null 2>&1; then
			ip -n "$NS" addr replace 10.11.0.1/24 dev stp0
			ip -n "$NS" link set stp0 up
			return 0
		fi
		kill -0 "$DP_PID" 2>/dev/null || fail "dataplane died at start"
		sleep 0.1
	done
	fail "dataplane not ready after 15 s"
}

# stop_dp: SIGTERM, and it must exit 0 within 10 s.
stop_dp() {
	kill -TERM "$DP_PID"
	local rc=0
	wait "$DP_PID" || rc=$?
	DP_PID=""
	[ $rc -eq 0 ] || fail "dataplane exited $rc on SIGTERM"
}

# start_ctl [ARGS...]: start stampede-control and wait for its socket to answer.
start_ctl() {
	ip netns exec "$NS" "$CTL_EXE" --data "$DATA" --dataplane "$DP_SOCK" --socket "$CTL_SOCK" \
		--metrics "127.0.0.1:$METRICS_PORT" "$@" >>"$WORK/control.log" 2>&1 &
	CTL_PID=$!
	for _ in $(seq 100); do
		if [ -S "$CTL_SOCK" ] && "$CLI_EXE" --socket "$CTL_SOCK" events >/dev/null 2>&1; then
			return 0
		fi
		kill -0 "$CTL_PID" 2>/dev/null || fail "stampede-control died at start"
		sleep 0.1
	done
	fail "stampede-control not answering after 10 s"
}

# kill_ctl: kill -9, as a crash would.
kill_ctl() {
	kill -KILL "$CTL_PID" 2>/dev/null || true
	wait "$CTL_PID" 2>/dev/null || true
	CTL_PID=""
}

# ctl ARGS...: stampedectl against this control process.
ctl() {
	"$CLI_EXE" --socket "$CTL_SOCK" "$@"
}

# buyer CLIENT_ID ARGS...: one buyer request from inside the namespace, JSON out.
buyer() {
	local cid=$1
	shift
	ip netns exec "$NS" "$BUYER_EXE" --server 10.11.0.2 --port 7300 --client-id "$cid" --timeout 500 \
		--retries 10 --json "$@"
}
