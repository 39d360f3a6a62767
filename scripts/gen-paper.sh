#!/usr/bin/env bash
# Rebuilds everything the paper shows from klpcheck's own output, then the PDF:
#   paper/data/*.json     klpcheck list/check/bench/compare --json, selftest fidelity, SPIN
#                         (engine.json and bench.json: scripts/bench.py, run separately)
#   paper/figures/*.svg   scripts/paper_figures.py (matplotlib)
#   README.md             the scenarios table (scripts/readme_tables.py)
#   paper/main.pdf        typst (the PyPI `typst` package, in a venv under target/)
#
#   scripts/gen-paper.sh            toy model up to N=5, SPIN at N=5 (a few minutes)
#   FULL=1 scripts/gen-paper.sh     also N=6 for every engine and SPIN (about 10 minutes)
#   NO_PDF=1 scripts/gen-paper.sh   data and figures only
# No number in the paper is typed by hand: paper/main.typ reads paper/data/*.json.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo"
data=paper/data
mkdir -p "$data" paper/figures

cargo build --release --quiet --bin klpcheck
bin="${CARGO_TARGET_DIR:-$repo/target}/release/klpcheck"

echo "== lists" >&2
"$bin" list properties --json >"$data/properties.json"
"$bin" list knobs --json >"$data/knobs.json"
"$bin" list variants --json >"$data/variants.json"
"$bin" list scenarios --json >"$data/scenarios-list.json"

echo "== every shipped scenario, upstream" >&2
python3 scripts/paper_data.py scenarios "$bin" >"$data/scenarios.json"

echo "== selftest fidelity" >&2
python3 scripts/paper_data.py selftests "$bin" >"$data/selftests.json"

echo "== design variants" >&2
python3 scripts/paper_data.py variants "$bin" >"$data/variants-matrix.json"

echo "== toy model: klpcheck, stateright, SPIN" >&2
max_n=5
[[ -n "${FULL:-}" ]] && max_n=6
python3 scripts/paper_data.py toy "$bin" "$max_n" >"$data/toy.json"
BENCH_JSON="$data/spin.json" KLPCHECK="$bin" scripts/bench-vs-spin.sh "$max_n" >&2

echo "== toy/README.md figures (SPIN, one run each; TLC is not installable here)" >&2
python3 scripts/paper_data.py anchor toy/README.md >"$data/anchor.json"
# paper/data/bench.json (issue 16's benchmark: default, toy, large, xl) and engine.json (thread
# scaling, symmetry at N = 14, large) are written by scripts/bench.py, about an hour on its own
# (`scripts/bench.py --parts default,toy,large,xl,toy-threads,toy-symmetry`); run it first.

echo "== figures" >&2
venv="${CARGO_TARGET_DIR:-$repo/target}/paper-venv"
if [[ ! -x "$venv/bin/python" ]]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet matplotlib typst
fi
"$venv/bin/python" scripts/paper_figures.py "$data" paper/figures

python3 scripts/readme_tables.py "$data"

if [[ -z "${NO_PDF:-}" ]]; then
    echo "== pdf" >&2
    "$venv/bin/python" -c "import typst; typst.compile('paper/main.typ', output='paper/main.pdf', root='.')"
    echo "wrote paper/main.pdf" >&2
fi
