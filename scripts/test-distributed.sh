#!/bin/sh
# Tests `check --distributed` (cargo feature `distributed`, issue 19) under
# `mpirun --oversubscribe -n 1..4` against the single-process engine. Not part of the plain
# test command (that one needs no MPI). Run from anywhere inside the repository:
#
#   scripts/install-mpi.sh && scripts/test-distributed.sh [RANKS...]   (default: 1 2 3 4)
#
# 1. checker/examples/dist_check.rs: the engine on the toy model and small models (ties, a
#    rank that owns no state, a depth bound, symmetry, a state limit), after the start-up
#    self-test of every MPI reduction (u64 MIN/MAX edges) and exchange (empty messages).
# 2. `klpcheck check --distributed` on fast ci scenarios: its output (but the time and memory
#    lines) and every trace file byte for byte equal to a single-process run's; a run with
#    liveness exits 3 with the liveness properties "unchecked"; --max-states stops every rank.
#    SAMPLE=K adds every K-th fast ci entry (unreduced, without liveness).
set -eu
cd "$(dirname "$0")/.."
root=$(pwd)
ranks=${*:-1 2 3 4}
if ! command -v mpirun >/dev/null 2>&1; then
    echo "test-distributed: no mpirun: run scripts/install-mpi.sh first" >&2
    exit 2
fi
# Open MPI refuses to start as root without these.
if [ "$(id -u)" -eq 0 ]; then
    export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi
cargo build --release --quiet --features distributed
cargo build --release --quiet -p klp-checker --features distributed --example dist_check
bin=$root/target/release/klpcheck
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failed=0
fail() {
    echo "FAIL: $*" >&2
    failed=1
}

for n in $ranks; do
    if mpirun --oversubscribe -n "$n" target/release/examples/dist_check; then
        echo "ok: dist_check, $n ranks"
    else
        fail "dist_check, $n ranks"
    fi
done

# Drops what differs from run to run: elapsed time, rate, memory.
stable() {
    sed -e 's/, [0-9.]* s\( (.*)\)\{0,1\}$//' -e '/^memory: /d' "$1"
}

# case NAME SCENARIO ARGS...: single-process (2 threads) against each rank count (1 thread).
case_() {
    name=$1
    scenario=$root/model/scenarios/$2.toml
    shift 2
    mkdir -p "$work/$name/single"
    (cd "$work/$name/single" && "$bin" check "$scenario" "$@" --out out --threads 2 --no-progress </dev/null >stdout 2>stderr) || true
    stable "$work/$name/single/stdout" >"$work/$name/single.txt"
    for n in $ranks; do
        d=$work/$name/n$n
        mkdir -p "$d"
        (cd "$d" && mpirun --oversubscribe -n "$n" "$bin" check "$scenario" "$@" --out out --threads 1 --no-progress --distributed \
            </dev/null >stdout 2>stderr) || true
        stable "$d/stdout" >"$d.txt"
        if ! diff "$work/$name/single.txt" "$d.txt" >"$d.diff"; then
            fail "$name, $n ranks: output differs"
            cat "$d.diff" >&2
        elif [ -d "$work/$name/single/out" ] || [ -d "$d/out" ] && ! diff -r "$work/$name/single/out" "$d/out" >"$d.diff" 2>&1; then
            fail "$name, $n ranks: traces differ"
            head -20 "$d.diff" >&2
        else
            traces=$(find "$d/out" -type f 2>/dev/null | wc -l)
            echo "ok: $name, $n ranks: $(sed -n 2p "$d.txt"), $traces trace files identical"
        fi
    done
}

case_ fork-witnesses fork --no-liveness --witness transition_completed --witness tasks_at_both_states --witness patch_applied
case_ fork-no-stack-check fork --variant no-stack-check --no-liveness
case_ fork-no-init-wmb-unreduced fork --variant no-init-wmb --no-liveness --no-symmetry --witness transition_in_progress
case_ stuck-script-sync-drop stuck-script --variant sync-drop-in-complete-unpatching --no-liveness
case_ seed-module-load-no-handler-rmb seed-module-load-during-transition --variant no-handler-rmb --no-liveness
case_ symmetry-sleepers-sync-drop symmetry-sleepers --variant sync-drop-in-complete-unpatching --no-liveness
case_ fork-depth-8 fork --no-liveness --max-depth 8

# SAMPLE=K: also every K-th fast ci entry (SAMPLE=1: all 2,234 of them; slow), unreduced.
if [ -n "${SAMPLE:-}" ]; then
    python3 - "$SAMPLE" >"$work/sample" <<'PY'
import sys, tomllib
k = int(sys.argv[1])
d = tomllib.load(open("expectations/klpcheck.toml", "rb"))
fast = [(s, v) for s, vs in d.items() for v, e in vs.items() if "fast" in e.get("tags", [])]
for s, v in fast[::k]:
    print(s, v)
PY
    while read -r scenario variant; do
        case_ "ci-$scenario-$variant" "$scenario" --variant "$variant" --no-liveness --no-symmetry
    done <"$work/sample"
fi

# Liveness is not checked in a distributed run: exit 3, each one "unchecked".
d=$work/liveness
mkdir -p "$d"
rc=0
(cd "$d" && mpirun --oversubscribe -n 2 "$bin" check "$root/model/scenarios/fork.toml" --threads 1 --no-progress --distributed >stdout 2>stderr) || rc=$?
if [ "$rc" -eq 3 ] && grep -q "transition_completes *unchecked" "$d/stdout"; then
    echo "ok: liveness, 2 ranks: exit 3, unchecked"
else
    fail "liveness, 2 ranks: exit $rc"
fi

# A state limit stops every rank with an incomplete verdict (exit 3).
d=$work/limit
mkdir -p "$d"
rc=0
(cd "$d" && mpirun --oversubscribe -n 3 "$bin" check "$root/model/scenarios/fork.toml" --no-liveness --max-states 1000 --threads 1 --no-progress --distributed >stdout 2>stderr) || rc=$?
if [ "$rc" -eq 3 ] && grep -q "max-states" "$d/stdout"; then
    echo "ok: --max-states, 3 ranks: exit 3, incomplete"
else
    fail "--max-states, 3 ranks: exit $rc"
fi

if [ "$failed" -ne 0 ]; then
    echo "test-distributed: FAILED" >&2
    exit 1
fi
echo "test-distributed: all passed"
