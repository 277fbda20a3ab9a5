#!/usr/bin/env bash
# control_test.sh SCENARIO STAMPEDE_CONTROL FAKE_DATAPLANE - one scenario of
# control_test.py in a fresh temp dir (sockets live there: short paths for
# sun_path). The trap ends every process the scenario started and removes
# the dir, whatever happens.
set -euo pipefail
here=$(dirname "$(realpath "$0")")
work=$(mktemp -d /tmp/stc-XXXXXX)
cleanup() {
	if [ -f "$work/pids" ]; then
		while read -r pid; do kill -9 "$pid" 2>/dev/null || true; done <"$work/pids"
	fi
	rm -rf "$work"
}
trap cleanup EXIT INT TERM
python3 "$here/control_test.py" "$1" "$work" "$(realpath "$2")" "$(realpath "$3")"
