#!/usr/bin/env bash
# Runs SPIN, klpcheck and stateright on the same toy livepatch model (toy/README.md: toy/toy.pml
# for SPIN, crate klp-toy for the other two) and prints wall times, distinct states per second and the ratios, all from this one run.
#
#   scripts/bench-vs-spin.sh [N] [THREADS]      (default N=6; THREADS: klpcheck's default)
#   KLPCHECK=/path/to/klpcheck skips the cargo build and uses that binary.
#
# SPIN is built as toy/README.md says: spin -DN=$N -a; gcc -O2 -DSAFETY -DMEMLIM=20000;
# ./pan -m1000000 -w26. pan exits 0 even when it reports errors or a too small search depth,
# so its output is parsed.
# SPIN's files (pan*, *.trail) go to a temporary directory, never into the repository.
set -euo pipefail

N="${1:-6}"
THREADS="${2:-}"
repo="$(cd "$(dirname "$0")/.." && pwd)"
pml="$repo/toy/toy.pml"

need=()
command -v spin >/dev/null || need+=(spin)
command -v gcc >/dev/null || need+=(gcc)
if ((${#need[@]})); then
    echo "installing ${need[*]} with apt-get" >&2
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

if [[ -n "${KLPCHECK:-}" ]]; then
    bin="$KLPCHECK"
else
    (cd "$repo" && cargo build --release --quiet --bin klpcheck)
    bin="${CARGO_TARGET_DIR:-$repo/target}/release/klpcheck"
fi

now() { date +%s.%N; }
json_field() { sed -n "s/.*\"$2\":\([^,}]*\).*/\1/p" <<<"$1"; }

# --- SPIN -------------------------------------------------------------------------------
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp "$pml" "$work/toy.pml"
spin_out="$(
    cd "$work"
    spin -DN="$N" -a toy.pml >/dev/null
    gcc -O2 -DSAFETY -DMEMLIM=20000 -o pan pan.c 2>/dev/null
    t0=$(now)
    ./pan -m1000000 -w26 2>&1
    t1=$(now)
    echo "WALL $(echo "$t1 - $t0" | bc -l)"
)"
spin_wall="$(sed -n 's/^WALL //p' <<<"$spin_out")"
spin_states="$(sed -n 's/^ *\([0-9e+.]*\) states, stored.*/\1/p' <<<"$spin_out" | head -1)"
spin_errors="$(sed -n 's/.*errors: *\([0-9]*\).*/\1/p' <<<"$spin_out" | head -1)"
spin_mem="$(sed -n 's/^ *\([0-9.]*\)\s*total actual memory usage.*/\1/p' <<<"$spin_out" | head -1)"
if [[ -z "$spin_states" || "${spin_errors:-1}" != 0 ]] || grep -q "max search depth too small" <<<"$spin_out"; then
    echo "SPIN did not finish cleanly (errors: ${spin_errors:-?}, or its search depth was cut); its output:" >&2
    echo "$spin_out" >&2
    exit 1
fi
# pan's own elapsed time excludes process start; the wall clock above includes it.
spin_sps="$(echo "$spin_states / $spin_wall" | bc -l)"

# --- klpcheck and stateright --------------------------------------------------------------
targs=()
[[ -n "$THREADS" ]] && targs=(--threads "$THREADS")
kl="$("$bin" bench toy --tasks "$N" --engine klpcheck "${targs[@]}" --json)"
sr="$("$bin" bench toy --tasks "$N" --engine stateright "${targs[@]}" --json)"

kl_wall="$(json_field "$kl" wall_s)"
sr_wall="$(json_field "$sr" wall_s)"
kl_states="$(json_field "$kl" unique_states)"
sr_states="$(json_field "$sr" unique_states)"
kl_sps="$(json_field "$kl" states_per_s)"
sr_sps="$(json_field "$sr" states_per_s)"

printf '\ntoy model, N=%s, %s cores, load average: %s\n' "$N" "$(nproc)" "$(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-22s %12s %10s %14s %s\n' engine states wall_s states/s memory
printf '%-22s %12s %10.2f %14.0f %s MB\n' "spin (gcc -O2 -DSAFETY)" "$spin_states" "$spin_wall" "$spin_sps" "${spin_mem:-?}"
printf '%-22s %12s %10.2f %14.0f %.0f MB (%.1f B/state, visited set %.1f)\n' \
    "klpcheck ($(json_field "$kl" threads) thr)" "$kl_states" "$kl_wall" "$kl_sps" \
    "$(echo "$(json_field "$kl" peak_rss_bytes) / 1000000" | bc -l)" \
    "$(json_field "$kl" bytes_per_state)" "$(json_field "$kl" visited_bytes_per_state)"
printf '%-22s %12s %10.2f %14.0f %.0f MB\n' "stateright ($(json_field "$sr" threads) thr)" \
    "$sr_states" "$sr_wall" "$sr_sps" "$(echo "$(json_field "$sr" peak_rss_bytes) / 1000000" | bc -l)"
printf '\nratios (higher = klpcheck better)\n'
printf '  time   spin/klpcheck       %6.2fx   stateright/klpcheck       %6.2fx\n' \
    "$(echo "$spin_wall / $kl_wall" | bc -l)" "$(echo "$sr_wall / $kl_wall" | bc -l)"
printf '  states/s klpcheck/spin     %6.2fx   klpcheck/stateright       %6.2fx\n' \
    "$(echo "$kl_sps / $spin_sps" | bc -l)" "$(echo "$kl_sps / $sr_sps" | bc -l)"
echo "(SPIN stores one state more than klpcheck: the state before init starts the processes)"

# Machine-readable results for the paper (scripts/gen-paper.sh): BENCH_JSON=FILE.
if [[ -n "${BENCH_JSON:-}" ]]; then
    cat >"$BENCH_JSON" <<JSON
{"model": "toy", "n": $N, "cores": $(nproc),
 "spin": {"states": $spin_states, "wall_s": $spin_wall, "states_per_s": $spin_sps, "memory_mb": ${spin_mem:-null}},
 "klpcheck": $kl,
 "stateright": $sr}
JSON
fi
