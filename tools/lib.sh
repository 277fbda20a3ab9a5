# shellcheck shell=bash
# tools/lib.sh - shell helpers shared by tools/bootstrap, tools/test,
# tools/bench and tools/demo. Source it after setting STAMPEDE_ROOT and
# STAMPEDE_TOOL (the name prefixed to every message):
#
#   STAMPEDE_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
#   STAMPEDE_TOOL=bootstrap
#   . "$STAMPEDE_ROOT/tools/lib.sh"
#
# Nothing here runs on its own; it only defines functions.

: "${STAMPEDE_ROOT:?set STAMPEDE_ROOT before sourcing tools/lib.sh}"
: "${STAMPEDE_TOOL:=stampede}"
: "${STAMPEDE_QUIET:=0}"

# Where tool logs go (ignored by git: /build*/ in .gitignore).
# shellcheck disable=SC2034 # used by the scripts that source this file
STAMPEDE_LOGDIR="$STAMPEDE_ROOT/build-logs"

# say MSG...: one short progress line on stdout, unless quiet.
say() {
    if [[ "$STAMPEDE_QUIET" != 1 ]]; then
        printf '%s: %s\n' "$STAMPEDE_TOOL" "$*"
    fi
}

# warn MSG...: a line on stderr, always.
warn() {
    printf '%s: %s\n' "$STAMPEDE_TOOL" "$*" >&2
}

# die MSG...: a line on stderr, exit 1.
die() {
    warn "$@"
    exit 1
}

# is_configured DIR: DIR is a meson build dir whose last setup succeeded.
is_configured() {
    [[ -f "$1/meson-private/coredata.dat" ]]
}

# show_log_tail LOG [LINES]: the end of a log on stderr, indented; for a
# ninja log, from its first FAILED: line instead (the first compiler error),
# unless that is meson's own regeneration, whose error comes before it.
show_log_tail() {
    local log=$1 lines=${2:-40} first
    [[ -s "$log" ]] || return 0
    first=$(grep -n -m1 '^FAILED: ' -- "$log" | cut -d: -f1) || true
    if [[ -n "$first" ]] && grep -q '^FAILED: build\.ninja' -- "$log"; then
        first=
    fi
    if [[ -n "$first" ]]; then
        warn "${log#"$STAMPEDE_ROOT"/} from the first failure:"
        tail -n "+$first" -- "$log" | head -n "$((lines + 20))" | sed 's/^/    /' >&2 || true
    else
        warn "last $lines lines of ${log#"$STAMPEDE_ROOT"/}:"
        tail -n "$lines" -- "$log" | sed 's/^/    /' >&2 || true
    fi
}

# run_logged LOG CMD...: run CMD with its output appended to LOG (or straight
# to the terminal when STAMPEDE_VERBOSE=1). On failure, show the log's tail on
# stderr and return CMD's status. Safe to call from an `if` or `||`.
run_logged() {
    local log=$1 rc=0
    shift
    if [[ "${STAMPEDE_VERBOSE:-0}" == 1 ]]; then
        "$@" || rc=$?
    else
        mkdir -p -- "$(dirname -- "$log")"
        printf '+ %s\n' "$*" >>"$log"
        "$@" >>"$log" 2>&1 </dev/null || rc=$?
        if ((rc != 0)); then
            warn "failed (exit $rc): $*"
            show_log_tail "$log"
            warn "full log: ${log#"$STAMPEDE_ROOT"/}"
        fi
    fi
    return "$rc"
}

# meson_options_match DIR -Dkey=value...: every given option already has that
# value in DIR's configuration. An option DIR does not know counts as a
# mismatch (a new meson_options.txt entry needs a reconfigure).
meson_options_match() {
    local dir=$1 intro
    shift
    intro=$(meson introspect "$dir" --buildoptions 2>/dev/null) || return 1
    python3 -c '
import json, sys
opts = {}
for o in json.loads(sys.argv[1]):
    v = o.get("value")
    if isinstance(v, bool):
        v = "true" if v else "false"
    elif isinstance(v, list):
        v = ",".join(str(x) for x in v)
    else:
        v = str(v)
    opts[o["name"]] = v
for arg in sys.argv[2:]:
    key, _, want = arg[2:].partition("=")
    if opts.get(key) != want:
        sys.exit(1)
' "$intro" "$@"
}

# meson_c_compiler_id DIR: the C compiler DIR was set up with (gcc, clang,
# clang-14, cc ...): meson-info/intro-compilers.json where meson writes it
# (1.1 and later), else the c_COMPILER rule of DIR/build.ninja.
meson_c_compiler_id() {
    python3 - "$1" 2>/dev/null <<'PY'
import json, os, sys
d = sys.argv[1]
try:
    with open(os.path.join(d, "meson-info", "intro-compilers.json")) as f:
        print(json.load(f)["host"]["c"]["id"])
        sys.exit(0)
except (OSError, ValueError, KeyError):
    pass
with open(os.path.join(d, "build.ninja")) as f:
    lines = f.read().splitlines()
for i, line in enumerate(lines):
    if line.strip() == "rule c_COMPILER" and i + 1 < len(lines):
        words = lines[i + 1].split("=", 1)[1].split()
        words = [w for w in words if os.path.basename(w) not in ("ccache", "sccache")]
        print(os.path.basename(words[0]))
        sys.exit(0)
sys.exit(1)
PY
}

# meson_select DIR WORD...: the names of DIR's tests that WORD selects, one a
# line: a WORD selects a whole suite by name (storage, storage:, or
# stampede:storage) and any test whose name contains it or matches it as a
# glob (st_*). Several WORDs select the union.
meson_select() {
    local dir=$1 intro
    shift
    intro=$(meson introspect "$dir" --tests) || return 1
    python3 -c '
import fnmatch, json, sys
words = sys.argv[2:]
seen = set()
for t in json.loads(sys.argv[1]):
    name = t["name"]
    suites = set()
    for s in t.get("suite") or []:
        suites.add(s)
        suites.add(s.split(":", 1)[-1])
    for w in words:
        ws = w.rstrip(":")
        if ws in suites or w in name or fnmatch.fnmatchcase(name, w):
            if name not in seen:
                seen.add(name)
                print(name)
            break
' "$intro" "$@"
}

# testlog_tally TESTLOG LABEL: count a meson testlog.json (one JSON object per
# line). Prints "PASSED FAILED SKIPPED" on the first line, then one line per
# failure naming it ("LABEL: project:suite / name (RESULT)"). OK and EXPECTEDFAIL
# pass, SKIP is skipped, any other result (FAIL, TIMEOUT, ERROR,
# UNEXPECTEDPASS, ...) fails; so does a line that is not valid JSON. A missing
# file counts as no tests.
testlog_tally() {
    python3 - "$1" "$2" <<'PY'
import json, os, sys

path, label = sys.argv[1], sys.argv[2]
passed = failed = skipped = 0
names = []
if os.path.exists(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        for lineno, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                t = json.loads(line)
                result = str(t.get("result", "")).upper()
            except (ValueError, AttributeError):
                failed += 1
                names.append(f"{label}: unreadable line {lineno} of {path}")
                continue
            if result in ("OK", "EXPECTEDFAIL"):
                passed += 1
            elif result == "SKIP":
                skipped += 1
            else:
                failed += 1
                # meson's name already reads "project:suite / test"
                name = t.get("name", "?")
                names.append(f"{label}: {name} ({result or 'NO RESULT'})")
print(passed, failed, skipped)
for n in names:
    print(n)
PY
}
