#!/usr/bin/env bash
# Guard removal: does each reliability guard have a test that fails without it?
#
# For every row of scripts/guard-removal/guards.tsv (id, point of issue 6, guard, file, test),
# this applies scripts/guard-removal/<id>.patch (which removes the guard) to a scratch copy of
# the source tree, builds, and runs the one test named there: "caught" if it fails, "MISSED" if
# it passes. Each test is first run on the unpatched copy (it must pass there). The working
# tree is never modified, except README.md's guard-removal table, rewritten from the results.
#
#   scripts/guard-removal.sh            # every guard (about 30-40 min on 2 cores)
#   scripts/guard-removal.sh ID...      # only these guards (their rows of the table are updated)
#
# Scratch copy and its build: target/guard-removal/{tree,target} (GUARD_WORK to move them),
# kept between runs so that each guard only rebuilds the crates its patch touches. Exit 1 if a
# guard is MISSED, its patch no longer applies (STALE), it does not build (BUILD-FAIL) or its
# test fails without the patch (BASELINE-FAIL).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
DATA=$ROOT/scripts/guard-removal
WORK=${GUARD_WORK:-$ROOT/target/guard-removal}
TREE=$WORK/tree
mkdir -p "$TREE"
export CARGO_TARGET_DIR=$WORK/target CARGO_TERM_COLOR=never
# The release profile of the tests, minus link-time optimisation and debug info (a quicker
# rebuild per guard; the same optimisation level, so timing-based tests behave the same).
export CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_DEBUG=0 CARGO_PROFILE_RELEASE_INCREMENTAL=true

# sync SRC DST: makes DST a copy of the files listed in $WORK/files. Only files whose content
# differs are copied, with a new mtime, so cargo rebuilds exactly the crates they belong to.
sync() {
    local f
    while IFS= read -r f; do
        [ -f "$1/$f" ] || continue
        if ! cmp -s "$1/$f" "$2/$f"; then
            mkdir -p "$(dirname "$2/$f")"
            cp "$1/$f" "$2/$f"
        fi
    done <"$WORK/files"
    (cd "$2" && find . -type f ! -path './target/*' ! -path './traces/out/*' | sed 's|^\./||' | sort) \
        | comm -23 - "$WORK/files" | while IFS= read -r f; do rm -f "$2/$f"; done
}
# The working tree's files (tracked and untracked, not ignored) are snapshot once into
# $WORK/base, so edits made while this runs do not leak into it; TREE is reset from the snapshot.
snapshot() {
    (cd "$ROOT" && git ls-files -co --exclude-standard) | sort >"$WORK/files"
    mkdir -p "$WORK/base"
    sync "$ROOT" "$WORK/base"
}
sync_tree() { sync "$WORK/base" "$TREE"; }

# test spec "package:target:name" -> cargo test arguments (target: lib, or the crate's one
# integration test binary, whose test names are module::function)
test_args() {
    local pkg target name
    IFS=: read -r pkg target name <<<"$1"
    if [ "$target" = lib ]; then
        echo "-p $pkg --lib"
    else
        echo "-p $pkg --test $target"
    fi
}
test_name() {
    local r=${1#*:}
    echo "${r#*:}"
}

# build_and_run SPEC LOG: 0 test passed, 1 test failed, 2 build failed
build_and_run() {
    local args name
    args=$(test_args "$1")
    name=$(test_name "$1")
    # shellcheck disable=SC2086
    if ! (cd "$TREE" && cargo test --release --no-run $args) >"$2" 2>&1; then
        return 2
    fi
    # shellcheck disable=SC2086
    if (cd "$TREE" && timeout 900 cargo test --release $args -- --exact "$name") >>"$2" 2>&1; then
        # A name that matches no test passes too: it must have run exactly one.
        grep -q '^test result: ok\. 1 passed' "$2" && return 0
        echo "guard-removal: '$name' ran no test" >>"$2"
        return 3
    fi
    return 1
}

mapfile -t ROWS < <(grep -v '^#' "$DATA/guards.tsv" | grep -v '^[[:space:]]*$')
if [ $# -gt 0 ]; then
    want=" $* "
    SEL=()
    for r in "${ROWS[@]}"; do
        id=${r%%$'\t'*}
        [[ $want == *" $id "* ]] && SEL+=("$r")
    done
    ROWS=("${SEL[@]}")
fi
[ ${#ROWS[@]} -gt 0 ] || { echo "no such guard: $*" >&2; exit 2; }

RESULTS=$WORK/results.tsv
: >"$RESULTS"
mkdir -p "$WORK/logs"
snapshot
declare -A BASE
bad=0
for r in "${ROWS[@]}"; do
    IFS=$'\t' read -r id point guard file test <<<"$r"
    log=$WORK/logs/$id.log
    start=$(date +%s)
    # Baseline: the test passes with the guard in place (once per test).
    if [ -z "${BASE[$test]:-}" ]; then
        sync_tree
        if build_and_run "$test" "$WORK/logs/$id.baseline.log"; then BASE[$test]=ok; else BASE[$test]=fail; fi
    fi
    sync_tree
    if [ "${BASE[$test]}" != ok ]; then
        result=BASELINE-FAIL
    elif ! (cd "$TREE" && patch -p1 --quiet --batch --no-backup-if-mismatch <"$DATA/$id.patch") >"$log" 2>&1; then
        result=STALE
    else
        rc=0
        build_and_run "$test" "$log" || rc=$?
        case $rc in
            0) result=MISSED ;;
            1) result=caught ;;
            2) result=BUILD-FAIL ;;
            *) result=NO-TEST ;;
        esac
    fi
    [ "$result" = caught ] || bad=1
    printf '%-10s %-13s %4ss  %s (%s)\n' "$id" "$result" "$(($(date +%s) - start))" "$guard" "$(test_name "$test")"
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$id" "$point" "$guard" "$file" "$test" "$result" >>"$RESULTS"
done
sync_tree

# Results are kept per guard in $WORK/all-results.tsv (a run over some guards replaces theirs);
# once every guard of guards.tsv has one, README.md's table is rewritten from them.
python3 - "$DATA/guards.tsv" "$RESULTS" "$WORK/all-results.tsv" "$ROOT/README.md" <<'PY'
import os, sys
guards, results, keep, readme = sys.argv[1:]
rows = [l.split("\t") for l in open(guards).read().splitlines() if l.strip() and not l.startswith("#")]
have = {}
for f in (keep, results):
    if os.path.exists(f):
        for l in open(f).read().splitlines():
            r = l.split("\t")
            have[r[0]] = r
# A result counts only for the guard as it is now (same point, text, file and test).
have = {r[0]: have[r[0]] for r in rows if r[0] in have and have[r[0]][:5] == r}
open(keep, "w").write("".join("\t".join(r) + "\n" for r in have.values()))
missing = [r[0] for r in rows if r[0] not in have]
if missing:
    print("README.md left alone: no result yet for " + " ".join(missing))
    sys.exit(0)
start = "<!-- guard-removal table: generated by scripts/guard-removal.sh -->"
end = "<!-- end of guard-removal table -->"
out = [start, "", "| # | point | guard removed | in | test that must fail | result |", "|---|---|---|---|---|---|"]
for r in rows:
    id, point, guard, file, test, result = have[r[0]]
    pkg, target, name = test.split(":", 2)
    if target == "lib":
        where = f"{pkg} (unit)"
    elif "::" in name:  # a module of the crate's one integration test binary
        module, name = name.split("::", 1)
        where = f"{module}.rs"
    else:
        where = f"{target}.rs"
    out.append(f"| {id} | {point} | {guard} | `{file}` | `{name}` ({where}) | {result} |")
out += ["", end]
text = open(readme).read()
a, b = text.index(start), text.index(end) + len(end)
open(readme, "w").write(text[:a] + "\n".join(out) + text[b:])
print("README.md: guard-removal table rewritten")
PY
exit $bad
