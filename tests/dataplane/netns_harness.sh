#!/usr/bin/env bash
# netns_harness.sh DATAPLANE INVENTORY DRIVER [DRIVER ARGS...]
#
# Starts stampede-dataplane inside a network namespace of its own on net_tap,
# gives the tap an address inside that namespace, runs DRIVER inside the same
# namespace with STAMPEDE_SERVER/STAMPEDE_PORT/STAMPEDE_RESTART set, and
# removes the namespace and every process when done, on failure too.
# STAMPEDE_RESTART names a script the driver runs to restart the dataplane
# (SIGTERM, wait, start again on the same data directory).
# STAMPEDE_DP_EAL replaces the lcore option (default `-l 0`: one worker).
# STAMPEDE_DP_KEYS=1 starts the dataplane with a waiting-room key file made
# here (else --keys-file none).
# Exit: the driver's status; 77 (skipped) when network namespaces cannot be
# made here (not root).
set -euo pipefail

dp=$1 inv=$2
shift 2
if [ "$(id -u)" != 0 ] || ! command -v ip >/dev/null; then
	echo "netns harness: needs root and iproute2; skipped" >&2
	exit 77
fi

ns="stp-$$-$RANDOM"
work=$(mktemp -d /tmp/stampede-netns-XXXXXX)
prefix="stpns$$"
dp_pid=""
cleanup() {
	local rc=$?
	[ -f "$work/dp.pid" ] && dp_pid=$(cat "$work/dp.pid")
	if [ -n "$dp_pid" ] && kill -0 "$dp_pid" 2>/dev/null; then
		kill -TERM "$dp_pid" 2>/dev/null || true
		for _ in $(seq 50); do kill -0 "$dp_pid" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$dp_pid" 2>/dev/null || true
	fi
	ip netns pids "$ns" 2>/dev/null | xargs -r kill -KILL 2>/dev/null || true
	ip netns del "$ns" 2>/dev/null || true
	rm -rf "$work" "/var/run/dpdk/$prefix"
	exit $rc
}
trap cleanup EXIT INT TERM

keys_arg=none
if [ "${STAMPEDE_DP_KEYS:-0}" = 1 ]; then
	keys_arg="$work/keys"
	printf '3 %s\n' "$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')" >"$keys_arg"
	chmod 600 "$keys_arg"
fi
ip netns add "$ns"
ip -n "$ns" link set lo up

start_dp() {
	local before
	before=$(grep -c "ready on" "$work/dataplane.log" 2>/dev/null || true)
	# shellcheck disable=SC2086 # STAMPEDE_DP_EAL is a list of EAL options
	ip netns exec "$ns" "$dp" ${STAMPEDE_DP_EAL:--l 0} --no-huge -m 256 --no-pci --file-prefix "$prefix" \
		--vdev "net_tap0,iface=stp0" --log-level=lib.eal:error -- \
		--ip 10.11.0.2 --port 7300 --data "$work/data" --keys-file "$keys_arg" --inventory "$inv" --control-socket "$work/dp.sock" \
		--rx-desc 256 --tx-desc 256 --holds-max 65536 --orders-max 65536 --idem-max 65536 \
		--buyers-max 65536 ${STAMPEDE_DP_ARGS:-} >>"$work/dataplane.log" 2>&1 &
	dp_pid=$!
	for _ in $(seq 100); do
		if [ "$(grep -c "ready on" "$work/dataplane.log" 2>/dev/null)" -gt "${before:-0}" ] &&
			ip -n "$ns" link show stp0 >/dev/null 2>&1; then
			break
		fi
		kill -0 "$dp_pid" 2>/dev/null || { cat "$work/dataplane.log" >&2; echo "dataplane died at start" >&2; return 1; }
		sleep 0.1
	done
	ip -n "$ns" addr replace 10.11.0.1/24 dev stp0
	ip -n "$ns" link set stp0 up
	echo "$dp_pid" >"$work/dp.pid"
}

# The restart script the driver calls: TERM, wait for exit 0, start again.
cat >"$work/restart.sh" <<RS
#!/usr/bin/env bash
exec 3>&-
kill -TERM \$(cat "$work/dp.pid")
for _ in \$(seq 100); do kill -0 \$(cat "$work/dp.pid") 2>/dev/null || exit 0; sleep 0.1; done
echo "dataplane did not stop on SIGTERM" >&2
exit 1
RS
chmod +x "$work/restart.sh"

start_dp
# ICMP echo: ordinary tools reach the dataplane.
if command -v ping >/dev/null; then
	ip netns exec "$ns" ping -c 2 -W 2 10.11.0.2 >"$work/ping.log" 2>&1 || {
		cat "$work/ping.log" >&2; echo "netns harness: no ICMP echo reply from the dataplane" >&2; exit 1; }
fi
export STAMPEDE_SERVER=10.11.0.2 STAMPEDE_PORT=7300 STAMPEDE_WORK="$work"
# The driver asks for restarts through a FIFO so the dataplane stays this
# shell's child (its pid is tracked and cleaned up here).
mkfifo "$work/ctl" "$work/ack"
(
	set +e
	while read -r cmd <"$work/ctl"; do
		case "$cmd" in
		restart)
			"$work/restart.sh"
			start_dp && echo "ok" >"$work/ack" || echo "fail" >"$work/ack" ;;
		stop)
			"$work/restart.sh"; echo "ok" >"$work/ack" ;;
		*) echo "fail" >"$work/ack" ;;
		esac
	done
) &
ctl_pid=$!
set +e
ip netns exec "$ns" env STAMPEDE_CTL="$work/ctl" STAMPEDE_ACK="$work/ack" "$@"
rc=$?
set -e
kill "$ctl_pid" 2>/dev/null || true
# rte_telemetry, read with DPDK's own client: the restarted dataplane's
# counters must show the requests made after the restart.
if [ $rc -eq 0 ] && command -v dpdk-telemetry.py >/dev/null; then
	echo /stampede/stats | dpdk-telemetry.py -f "$prefix" >"$work/telemetry.out" 2>&1 || true
	if ! python3 - "$work/telemetry.out" <<'PY'
import json, sys
t = open(sys.argv[1]).read()
docs = [json.loads(l) for l in t.splitlines() if l.startswith("{")]
s = [d["/stampede/stats"] for d in docs if "/stampede/stats" in d]
assert s and s[-1]["requests"] > 0 and s[-1]["status_ok"] > 0 and s[-1]["sync"] == "full", t
PY
	then
		echo "netns harness: /stampede/stats telemetry missing or wrong" >&2
		cat "$work/telemetry.out" >&2
		rc=1
	fi
fi
if [ $rc -ne 0 ]; then
	echo "--- dataplane log ---" >&2
	cat "$work/dataplane.log" >&2
fi
exit $rc
