#!/bin/sh
# Refreshes every pinned result after an intended change (a model, property, scenario, preset or
# rendering change), with one mechanism: `klpcheck ci --update` for the expectations, then the
# test suite with KLPCHECK_BLESS=1, under which each test that compares with a pinned file
# rewrites it instead of failing. The pins:
#
#   expectations/klpcheck.toml       klpcheck ci --update (every entry, `large` included)
#   traces/golden/counterexamples/   tests/traces.rs, from its index.toml (files no row makes are removed)
#   tests/golden/compare/            tests/ci.rs (compare's Markdown, CSV and JSON)
#   tests/golden/simulate/           tests/simulate.rs (the pinned simulate counterexample)
#   tests/history/*.toml             tests/common/history.rs (state counts and steps; never a verdict)
#   tests/seed/cases.toml            tests/seed.rs
#   README.md bad-input table        tests/reliability.rs
#   README.md selftest table         tests/selftests.rs
#
# The whole suite runs, so a new test that blesses a pin is covered without changing this script.
# Nothing changes when nothing changed: the script ends with `git status --short`; review the
# diff (and look at the SVGs of traces/golden/counterexamples/) before committing it. Run from
# anywhere inside the repository.
set -eu
cd "$(dirname "$0")/.."
cargo run --release --quiet -- ci --update
if cargo nextest --version >/dev/null 2>&1; then
    KLPCHECK_BLESS=1 cargo nextest run --workspace --release --no-fail-fast
else
    KLPCHECK_BLESS=1 cargo test --workspace --release --no-fail-fast
fi
git status --short
