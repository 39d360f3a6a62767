#!/usr/bin/env python3
"""The engine's targets, measured side by side in one run on this machine:

1. thread scaling on the toy model, N = 6: ROUNDS rounds, each one run with 1 thread then one
   with 2 (interleaved, so that a slow spell of a shared machine hits both alike); the medians
   and their ratio, and bytes per distinct state (peak RSS / states, and the visited set alone);
2. symmetry: the toy model at N = 14 reduced, with the fast canonicaliser and with the second,
   independently written one (their distinct-state counts must be equal);
3. the largest shipped scenario of the kernel model (`large`): states, time, memory.

    scripts/bench-engine.py [ROUNDS] [PART,...]   (default 5, all parts: about 15 minutes on 2 idle cores)

PART is scaling, symmetry or large; parts not run keep their entry of the existing engine.json.

Writes paper/data/engine.json, then rewrites README.md's engine table (scripts/readme_tables.py).
Every number comes from klpcheck's own --json output; nothing is typed by hand.
"""
import json
import pathlib
import statistics
import subprocess
import sys

REPO = pathlib.Path(__file__).resolve().parent.parent


def klp(bin_, *args):
    p = subprocess.run([bin_, *args], cwd=REPO, capture_output=True, text=True)
    if p.returncode not in (0, 1):
        sys.exit(f"klpcheck {' '.join(args)} exited {p.returncode}:\n{p.stderr}")
    return json.loads(p.stdout)


def check_run(doc):
    """The one run of a `check --json` report (docs/json.md), its resources inlined."""
    run = dict(doc["runs"][0])
    run.update(run.pop("resources") or {})
    return run


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    parts = sys.argv[2].split(",") if len(sys.argv) > 2 else ["scaling", "symmetry", "large"]
    unknown = set(parts) - {"scaling", "symmetry", "large"}
    if unknown:
        sys.exit(f"unknown part(s) {', '.join(sorted(unknown))} (scaling, symmetry, large)")
    path = REPO / "paper" / "data" / "engine.json"
    out = json.loads(path.read_text()) if path.exists() else {}
    if len(parts) < 3 and set(out) != {"scaling", "symmetry", "large"}:
        sys.exit(f"{path}: no complete earlier run to keep the other parts of; run every part")
    subprocess.run(["cargo", "build", "--release", "--quiet", "--bin", "klpcheck"], cwd=REPO, check=True)
    bin_ = str(REPO / "target" / "release" / "klpcheck")

    if "scaling" in parts:
        out["scaling"] = scaling(bin_, rounds)
    if "symmetry" in parts:
        out["symmetry"] = symmetry(bin_)
    if "large" in parts:
        out["large"] = check_run(klp(bin_, "check", "large", "--json"))
        print(f"large: {out['large']['unique_states']:,} states, {out['large']['seconds']:.1f} s", file=sys.stderr)
    path.write_text(json.dumps(out, indent=1) + "\n")
    subprocess.run([sys.executable, str(REPO / "scripts" / "readme_tables.py")], cwd=REPO, check=True)


def scaling(bin_, rounds):
    runs = {1: [], 2: []}
    for r in range(rounds):
        for t in (1, 2):
            j = klp(bin_, "bench", "toy", "--tasks", "6", "--threads", str(t), "--json")
            runs[t].append(j)
            print(f"scaling round {r + 1}/{rounds}: {t} thread(s) {j['wall_s']:.2f} s", file=sys.stderr)
    med = {t: statistics.median(j["wall_s"] for j in runs[t]) for t in runs}
    last = runs[2][-1]
    return {
        "tasks": 6, "rounds": rounds, "states": last["unique_states"],
        "wall_s_1": [j["wall_s"] for j in runs[1]], "wall_s_2": [j["wall_s"] for j in runs[2]],
        "median_s_1": med[1], "median_s_2": med[2], "speedup": med[1] / med[2],
        "bytes_per_state": max(j["bytes_per_state"] for j in runs[1] + runs[2]),
        "visited_bytes_per_state": last["visited_bytes_per_state"],
        "collision_probability": last["collision_probability"],
    }


def symmetry(bin_):
    sym = {}
    for canon in ("sort", "counts"):
        sym[canon] = klp(bin_, "bench", "toy", "--tasks", "14", "--symmetry", "--canonical", canon, "--json")
        print(f"symmetry N=14 ({canon}): {sym[canon]['unique_states']:,} states, {sym[canon]['wall_s']:.1f} s",
              file=sys.stderr)
    return {
        "tasks": 14, "states": sym["sort"]["unique_states"], "wall_s": sym["sort"]["wall_s"],
        "states_counts": sym["counts"]["unique_states"], "wall_s_counts": sym["counts"]["wall_s"],
        "agree": sym["sort"]["unique_states"] == sym["counts"]["unique_states"],
        "bytes_per_state": sym["sort"]["bytes_per_state"],
    }


if __name__ == "__main__":
    main()
