#!/usr/bin/env python3
"""Collects klpcheck's JSON output for the paper (called by scripts/gen-paper.sh).

    paper_data.py scenarios BIN        every shipped scenario, upstream: counts, time, memory, verdicts
    paper_data.py selftests BIN        `klpcheck run` transcripts vs the kernel selftests' expected text
    paper_data.py variants BIN         seed-* and history-* scenarios x every variant preset: verdicts
    paper_data.py toy BIN MAX_N        the toy model on klpcheck's engine and stateright's, N = 3..MAX_N
    paper_data.py anchor README        the figures toy/README.md records for SPIN on the toy model
                                       (one run each; TLC cannot be installed here)

Each prints one JSON document on stdout. Nothing here computes a verdict: it only runs klpcheck.
"""
import difflib
import json
import pathlib
import subprocess
import sys
import time

REPO = pathlib.Path(__file__).resolve().parent.parent


def klp(bin_, *args, ok=(0, 1, 3)):
    t0 = time.monotonic()
    p = subprocess.run([bin_, *args], cwd=REPO, capture_output=True, text=True)
    wall = time.monotonic() - t0
    if p.returncode not in ok:
        sys.exit(f"klpcheck {' '.join(args)} exited {p.returncode}:\n{p.stderr}")
    return p, wall


def check_run(doc):
    """The one run of a `check --json` report (docs/json.md), its resources inlined."""
    run = dict(doc["runs"][0])
    run.update(run.pop("resources") or {})
    return run


def scenarios(bin_):
    out = []
    for s in json.loads(klp(bin_, "list", "scenarios", "--json")[0].stdout):
        p, wall = klp(bin_, "check", s["name"], "--json")
        j = check_run(json.loads(p.stdout))
        j["name"] = s["name"]
        j["wall_s"] = wall
        j["exit"] = p.returncode
        out.append(j)
    return out


def selftests(bin_):
    out = []
    golden = REPO / "traces" / "golden" / "selftests"
    for g in sorted(golden.glob("*.txt")):
        name = g.stem
        p, _ = klp(bin_, "run", name, ok=(0,))
        kernel = g.read_text().splitlines()
        model = p.stdout.splitlines()
        sm = difflib.SequenceMatcher(a=kernel, b=model, autojunk=False)
        same = sum(b.size for b in sm.get_matching_blocks())
        missing = [kernel[i] for op, i1, i2, _, _ in sm.get_opcodes() if op in ("delete", "replace") for i in range(i1, i2)]
        extra = [model[j] for op, _, _, j1, j2 in sm.get_opcodes() if op in ("insert", "replace") for j in range(j1, j2)]
        out.append({"name": name, "kernel_lines": len(kernel), "model_lines": len(model), "matching": same,
                    "exact": kernel == model, "missing": missing, "extra": extra})
    return out


def variants(bin_):
    names = [s["name"] for s in json.loads(klp(bin_, "list", "scenarios", "--json")[0].stdout)]
    chosen = [n for n in names if n.startswith(("seed-", "history-"))]
    presets = ["upstream"] + [v["name"] for v in json.loads(klp(bin_, "list", "variants", "--json")[0].stdout)]
    out = []
    for s in chosen:
        for v in presets:
            p, wall = klp(bin_, "check", s, "--variant", v, "--json", "--max-states", "5000000")
            j = check_run(json.loads(p.stdout))
            j.update({"name": s, "variant_name": v, "wall_s": wall, "exit": p.returncode})
            out.append(j)
    return out


def toy(bin_, max_n):
    out = []
    for n in range(3, max_n + 1):
        for engine in ("klpcheck", "stateright"):
            p, _ = klp(bin_, "bench", "toy", "--tasks", str(n), "--engine", engine, "--json", ok=(0,))
            out.append(json.loads(p.stdout))
        p, _ = klp(bin_, "bench", "toy", "--tasks", str(n), "--engine", "klpcheck", "--symmetry", "--json", ok=(0,))
        out.append(json.loads(p.stdout))
    return out


def anchor(readme):
    """Rows of toy/README.md's "Figures measured" table: checker, N, time, states/s, memory."""
    rows, inside = [], False
    for line in pathlib.Path(readme).read_text().splitlines():
        if line.startswith("## Figures measured"):
            inside = True
        elif line.startswith("## "):
            inside = False
        elif inside and line.startswith("|") and not line.startswith(("| checker", "|---")):
            checker, n, time_, rate, memory = [c.strip() for c in line.strip("|").split("|")]
            rows.append({"checker": checker.replace("`", ""), "n": int(n), "time": time_, "states_per_s": rate, "memory": memory})
    if not rows:
        sys.exit(f"{readme}: no 'Figures measured' table")
    return {"source": str(pathlib.Path(readme).resolve().relative_to(REPO)), "rows": rows}


def main():
    what, bin_ = sys.argv[1], sys.argv[2]
    if what == "scenarios":
        r = scenarios(bin_)
    elif what == "selftests":
        r = selftests(bin_)
    elif what == "variants":
        r = variants(bin_)
    elif what == "anchor":
        r = anchor(bin_)
    elif what == "toy":
        r = toy(bin_, int(sys.argv[3]))
    else:
        sys.exit(f"unknown data set {what}")
    json.dump(r, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
