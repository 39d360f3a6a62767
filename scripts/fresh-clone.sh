#!/usr/bin/env bash
# A user's first hour, measured (issue 17 points 1 and 2): clones this repository to a temporary
# directory, hides chromium (a PATH of links to every command but chromium and chromedriver, and
# CI unset, so the Explorer's browser test must say it was skipped), runs and times the
# README's two commands in the clean clone (nothing built yet: the crates are compiled from
# scratch, the registry's download cache is reused), then `cargo install --path . --root TMP`,
# moves the clone away and runs the installed binary from another directory: `list scenarios`,
# `check no-stack-check` (exit 1, the violation), `replay` of its trace, `ci --filter stack-check`.
#
#   scripts/fresh-clone.sh [BRANCH]      (default: the current branch; what is committed only)
#
# Prints one "time:" line per command; README.md "Two commands" records them.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
branch=${1:-$(git -C "$repo" rev-parse --abbrev-ref HEAD)}
tmp=$(mktemp -d /tmp/klpcheck-fresh.XXXXXX)
echo "fresh clone of $branch in $tmp"
git clone -q --branch "$branch" "$repo" "$tmp/klpcheck"

# The PATH without chromium: one directory of links to everything else on PATH.
mkdir "$tmp/path"
IFS=: read -ra dirs <<<"$PATH"
for d in "${dirs[@]}"; do
    for f in "$d"/*; do
        name=${f##*/}
        case $name in chromium* | chromedriver) continue ;; esac
        [ -x "$f" ] && [ ! -e "$tmp/path/$name" ] && ln -s "$f" "$tmp/path/$name"
    done
done
export PATH="$tmp/path"
unset CI CARGO_TARGET_DIR CARGO_MANIFEST_DIR
if command -v chromium >/dev/null || command -v chromedriver >/dev/null; then
    echo "chromium is still on PATH" >&2
    exit 1
fi

timed() {
    local what=$1 want=$2 start=$SECONDS rc=0
    shift 2
    "$@" || rc=$?
    echo "time: $what: $((SECONDS - start)) s (exit $rc)"
    if [ "$rc" -ne "$want" ]; then
        echo "fresh-clone: $what exited $rc, expected $want" >&2
        exit 1
    fi
}

cd "$tmp/klpcheck"
timed "cargo run --release -- check" 0 cargo run --release -- check
timed "cargo nextest run --workspace --release" 0 \
    bash -c 'set -o pipefail; cargo nextest run --workspace --release 2>&1 | tee ../nextest.log'
grep -q "SKIPPED: the Explorer's browser test did not run: chromium and chromedriver not installed" ../nextest.log \
    || { echo "fresh-clone: the browser test did not say it was skipped" >&2; exit 1; }
timed "cargo install --path . --root $tmp/install" 0 cargo install --quiet --path . --root "$tmp/install"

# The source tree moved away: the installed binary runs on what is compiled into it.
mv "$tmp/klpcheck" "$tmp/moved"
mkdir "$tmp/elsewhere"
cd "$tmp/elsewhere"
klpcheck=$tmp/install/bin/klpcheck
n=$("$klpcheck" list scenarios | grep -c '^[a-z]')
[ "$n" -gt 0 ] || { echo "fresh-clone: list scenarios is empty" >&2; exit 1; }
echo "installed: list scenarios: $n scenarios"
timed "installed: check no-stack-check" 1 "$klpcheck" check no-stack-check --threads 1 --out out
timed "installed: replay" 1 "$klpcheck" replay out/no-stack-check--no_mixed_universe.json
timed "installed: ci --filter stack-check" 0 "$klpcheck" ci --filter stack-check --out out
echo "fresh-clone: all passed; rm -rf $tmp to clean up"
