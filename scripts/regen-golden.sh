#!/bin/sh
# Regenerates the golden counterexample traces (traces/golden/counterexamples/): for every row of
# index.toml, runs `klpcheck check` and `klpcheck render --svg` and writes the JSON, timeline,
# dmesg transcript and SVG; removes files no row produces. Review the diff (`git diff traces/golden`)
# and look at the SVGs before committing. Run from anywhere inside the repository.
set -eu
cd "$(dirname "$0")/.."
if cargo nextest --version >/dev/null 2>&1; then
    KLPCHECK_BLESS=1 cargo nextest run --release --test traces -E 'test(golden_counterexamples)'
else
    KLPCHECK_BLESS=1 cargo test --release --test traces golden_counterexamples
fi
git status --short traces/golden/counterexamples
