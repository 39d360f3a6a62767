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
# 3. Checkpoints: a run stopped by --max-states after checkpoints at every level, resumed on
#    as many ranks, ends with the single-process output and traces; a resume on another rank
#    count is refused; a rank killed (SIGKILL) in the middle of a run ends the job non-zero
#    with a message naming the lost rank and the resume command, which then reaches the
#    single-process counts and traces.
# 4. Every fast ci entry (issue 19's "done when"), one MPI job per rank count:
#    `ci --filter fast --distributed` must match every state count and verdict of
#    expectations/klpcheck.toml but the leads-to ones (listed UNCHECKED, exit 3), and write
#    every trace file of a single-process `ci --filter fast` byte for byte but those of the
#    leads-to violations it lists. About 2,234 entries: 20 s on 1 rank, 15 s on 2, 50 s on 3
#    and 4 min on 4 at a load of 10 on 2 cores; more ranks than free cores take turns in every
#    collective (at a load of 27, 3 ranks took over 8 min).
# Environment: QUICK=1 runs only the ranks' self-test and dist_check, two cases (fork, and
# symmetry-module-workers: 102,797 states), the checkpoint tests and the fast ci entries on
# CI_RANKS ranks (default 1 2: no more ranks than cores) (CI). CI_RANKS="..." sets the rank counts of part 4 (default:
# RANKS). KLPCHECK_BIN=PATH tests that binary (built with --features distributed) without
# building anything or running dist_check.
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
if [ -n "${KLPCHECK_BIN:-}" ]; then
    # A klpcheck built already (with --features distributed): no build, no dist_check.
    bin=$KLPCHECK_BIN
else
    cargo build --release --quiet --features distributed
    cargo build --release --quiet -p klp-checker --features distributed --example dist_check
    bin=$root/target/release/klpcheck
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failed=0
fail() {
    echo "FAIL: $*" >&2
    failed=1
}

for n in $ranks; do
    [ -z "${KLPCHECK_BIN:-}" ] || break
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

# reference NAME SCENARIO ARGS...: the single-process run (2 threads), in $work/NAME/single.
reference() {
    name=$1
    scenario=$root/model/scenarios/$2.toml
    shift 2
    mkdir -p "$work/$name/single"
    (cd "$work/$name/single" && "$bin" check "$scenario" "$@" --out out --threads 2 --no-progress </dev/null >stdout 2>stderr) || true
    stable "$work/$name/single/stdout" >"$work/$name/single.txt"
}

# case NAME SCENARIO ARGS...: single-process (2 threads) against each rank count (1 thread).
case_() {
    reference "$@"
    shift 2
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
# A mid-size one: 102,797 states, 29 levels.
case_ smw symmetry-module-workers --no-liveness --no-symmetry --witness transition_completed
if [ -z "${QUICK:-}" ]; then
    case_ fork-no-stack-check fork --variant no-stack-check --no-liveness
    case_ fork-no-init-wmb-unreduced fork --variant no-init-wmb --no-liveness --no-symmetry --witness transition_in_progress
    case_ stuck-script-sync-drop stuck-script --variant sync-drop-in-complete-unpatching --no-liveness
    case_ seed-module-load-no-handler-rmb seed-module-load-during-transition --variant no-handler-rmb --no-liveness
    case_ symmetry-sleepers-sync-drop symmetry-sleepers --variant sync-drop-in-complete-unpatching --no-liveness
    case_ fork-depth-8 fork --no-liveness --max-depth 8
fi

# Checkpoints. same DIR NAME: DIR's output and traces equal to the single-process run of case NAME.
same() {
    stable "$1/stdout" >"$1.txt"
    if ! diff "$work/$2/single.txt" "$1.txt" >"$1.diff"; then
        fail "$3: output differs from the single-process run"
        cat "$1.diff" >&2
    elif { [ -d "$work/$2/single/out" ] || [ -d "$1/out" ]; } && ! diff -r "$work/$2/single/out" "$1/out" >"$1.diff" 2>&1; then
        fail "$3: traces differ from the single-process run"
        head -20 "$1.diff" >&2
    else
        echo "ok: $3: $(sed -n 2p "$1.txt"), $(find "$1/out" -type f 2>/dev/null | wc -l) trace files identical"
    fi
}
ranks_odd=3
fork=$root/model/scenarios/fork.toml
ck="$fork --variant no-stack-check --no-liveness --threads 1 --no-progress --distributed --out out --checkpoint ck --checkpoint-every 0"
[ -d "$work/fork-no-stack-check" ] || reference fork-no-stack-check fork --variant no-stack-check --no-liveness
d=$work/ck-limit
mkdir -p "$d"
rc=0
# shellcheck disable=SC2086 # $ck is a list of arguments
(cd "$d" && mpirun --oversubscribe -n $ranks_odd "$bin" check $ck --max-states 15000 </dev/null >stdout.1 2>stderr.1) || rc=$?
if [ "$rc" -eq 0 ] || ! grep -q "max-states" "$d/stdout.1" || ! [ -f "$d/ck/CURRENT" ]; then
    fail "checkpoint, $ranks_odd ranks: --max-states did not stop with a checkpoint (exit $rc)"
fi
rc=0
# shellcheck disable=SC2086
(cd "$d" && mpirun --oversubscribe -n 2 "$bin" check $ck --resume ck </dev/null >stdout.2 2>stderr.2) || rc=$?
if [ "$rc" -eq 2 ] && grep -q "written by $ranks_odd ranks and this job has 2" "$d/stderr.2"; then
    echo "ok: checkpoint of $ranks_odd ranks resumed on 2: refused (exit 2)"
else
    fail "checkpoint of $ranks_odd ranks resumed on 2: exit $rc"
    cat "$d/stderr.2" >&2
fi
# shellcheck disable=SC2086
(cd "$d" && rm -rf out && mpirun --oversubscribe -n $ranks_odd "$bin" check $ck --resume ck </dev/null >stdout 2>stderr) || true
same "$d" fork-no-stack-check "checkpoint at --max-states, resumed on $ranks_odd ranks"

# A rank killed in the middle of a run (after the checkpoint of level 10, of 29).
smw=$root/model/scenarios/symmetry-module-workers.toml
d=$work/kill
mkdir -p "$d"
kill_args="$smw --no-liveness --no-symmetry --witness transition_completed --threads 1 --no-progress --distributed --out out --checkpoint ck --checkpoint-every 0"
# shellcheck disable=SC2086
(cd "$d" && exec mpirun --oversubscribe -n 2 "$bin" check $kill_args </dev/null >stdout.1 2>stderr.1) &
mp=$!
i=0
while ! grep -qs "level-1[0-9]" "$d/ck/CURRENT" && [ $i -lt 1200 ]; do
    sleep 0.1
    i=$((i + 1))
done
victim=$(pgrep -P $mp | tail -n 1)
[ -n "$victim" ] && kill -9 "$victim"
rc=0
wait $mp || rc=$?
if [ "$rc" -ne 0 ] && grep -q "exited on signal 9" "$d/stderr.1" && grep -q "resumes it" "$d/stderr.1" \
    && ! grep -q "search complete" "$d/stdout.1"; then
    echo "ok: a rank killed at $(cat "$d/ck/CURRENT"): job ended with exit $rc, the lost rank and the resume command named"
else
    fail "a rank killed: exit $rc (victim '$victim', checkpoint $(cat "$d/ck/CURRENT" 2>/dev/null))"
    cat "$d/stderr.1" >&2
fi
# shellcheck disable=SC2086
(cd "$d" && rm -rf out && mpirun --oversubscribe -n 2 "$bin" check $kill_args --resume ck </dev/null >stdout 2>stderr) || true
same "$d" smw "the killed run, resumed on 2 ranks"

# 4. Every fast ci entry in one job per rank count, against the expectations and the traces
# of a single-process `ci --filter fast`.
if [ -n "${QUICK:-}" ]; then
    ci_ranks=${CI_RANKS:-1 2}
else
    ci_ranks=${CI_RANKS:-$ranks}
fi
d=$work/ci
mkdir -p "$d/single"
rc=0
(cd "$d/single" && "$bin" ci --filter fast --threads 2 --out out </dev/null >stdout 2>stderr) || rc=$?
[ "$rc" -eq 0 ] || fail "ci --filter fast, single process: exit $rc"
for n in $ci_ranks; do
    e=$d/n$n
    mkdir -p "$e"
    rc=0
    t0=$(date +%s)
    (cd "$e" && mpirun --oversubscribe -n "$n" "$bin" ci --filter fast --distributed --threads 1 --out out \
        </dev/null >stdout 2>stderr) || rc=$?
    secs=$(($(date +%s) - t0))
    # Unchecked: leads-to only; its expected violations are the traces the run cannot write.
    grep '^UNCHECKED ' "$e/stdout" >"$e/unchecked" || true
    other=$(grep -vc 'leads-to is not checked in a distributed run' "$e/unchecked" || true)
    # (a trace of the upstream variant is named without `@upstream`)
    sed -n 's/^UNCHECKED \([^:]*\): \([a-z0-9_]*\): expected violated,.*/\1--\2/p' "$e/unchecked" \
        | sed 's/@upstream--/--/' | sort >"$e/missing"
    diff -r "$d/single/out" "$e/out" >"$e/traces.diff" 2>&1 || true
    sed -n "s#^Only in $d/single/out: \(.*\)\.\(json\|dmesg\.txt\|timeline\.txt\)\$#\1#p" "$e/traces.diff" \
        | sort | uniq -c | awk '$1 == 3 { print $2 }' >"$e/absent"
    extra=$(grep -v "^Only in $d/single/out: " "$e/traces.diff" | head -5 || true)
    if [ "$rc" -ne 3 ] || grep -q '^DIFF ' "$e/stdout" || [ "$other" -ne 0 ] || ! [ -s "$e/unchecked" ]; then
        fail "ci --filter fast, $n ranks: exit $rc, $(grep -c '^DIFF ' "$e/stdout") DIFF lines, $other unchecked verdicts not leads-to"
        grep -v '^UNCHECKED ' "$e/stdout" | head -20 >&2
        tail -5 "$e/stderr" >&2
    elif [ -n "$extra" ] || ! cmp -s "$e/missing" "$e/absent" \
        || [ "$(grep -c '^Only in' "$e/traces.diff")" -ne $((3 * $(wc -l <"$e/missing"))) ]; then
        fail "ci --filter fast, $n ranks: trace files differ from the single-process ci's"
        head -10 "$e/traces.diff" >&2
    else
        echo "ok: ci --filter fast, $n ranks, $secs s: $(tail -n 1 "$e/stdout" | sed 's/^ci: [^:]*: //'); \
$(find "$e/out" -type f | wc -l) trace files identical, $(wc -l <"$e/missing") leads-to violations unchecked"
    fi
done

# Possibility and deadlock are checked in a distributed run, leads-to is not: exit 3, unchecked.
d=$work/liveness
mkdir -p "$d"
rc=0
(cd "$d" && mpirun --oversubscribe -n 2 "$bin" check "$root/model/scenarios/fork.toml" --threads 1 --no-progress --distributed >stdout 2>stderr) || rc=$?
if [ "$rc" -eq 3 ] && grep -q "transition_completes *unchecked" "$d/stdout" && grep -q "no_deadlock *holds" "$d/stdout"; then
    echo "ok: liveness, 2 ranks: exit 3, leads-to unchecked, deadlock and possibility checked"
else
    fail "liveness, 2 ranks: exit $rc"
fi

# An error every rank meets is printed once, by rank 0: bad input (before MPI starts) and a
# checkpoint directory that does not exist (after).
for what in "no-such-scenario --no-liveness" "fork --no-liveness --resume $work/no-such-checkpoint"; do
    d=$work/error
    mkdir -p "$d"
    rc=0
    # shellcheck disable=SC2086 # $what is a list of arguments
    (cd "$d" && mpirun --oversubscribe -n 3 "$bin" check $what --threads 1 --no-progress --distributed >stdout 2>stderr) || rc=$?
    if [ "$rc" -eq 2 ] && [ "$(grep -c '^klpcheck: error' "$d/stderr")" -eq 1 ]; then
        echo "ok: check $what, 3 ranks: exit 2, one error message"
    else
        fail "check $what, 3 ranks: exit $rc, $(grep -c '^klpcheck: error' "$d/stderr") error messages"
        cat "$d/stderr" >&2
    fi
done

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
