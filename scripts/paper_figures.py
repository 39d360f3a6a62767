#!/usr/bin/env python3
"""Figures for the paper from paper/data/*.json (called by scripts/gen-paper.sh).

    paper_figures.py DATA_DIR FIG_DIR

growth.svg: distinct states and wall time against the number of tasks on the toy model, for
klpcheck (with and without symmetry) and stateright, plus SPIN's point(s).
"""
import json
import pathlib
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main():
    data, figs = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
    toy = json.loads((data / "toy.json").read_text())
    spin = json.loads((data / "spin.json").read_text())
    series = {}
    for r in toy:
        label = r["engine"] + (" + symmetry" if r["symmetry"] else "")
        series.setdefault(label, []).append(r)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.4))
    for label, rs in sorted(series.items()):
        rs.sort(key=lambda r: r["tasks"])
        ns = [r["tasks"] for r in rs]
        ax1.plot(ns, [r["unique_states"] for r in rs], marker="o", label=label)
        ax2.plot(ns, [r["wall_s"] for r in rs], marker="o", label=label)
    ax2.plot([spin["n"]], [spin["spin"]["wall_s"]], marker="s", linestyle="", color="black", label="SPIN (-O2 -DSAFETY)")
    for ax, title in ((ax1, "distinct states"), (ax2, "wall time (s), 2 cores")):
        ax.set_yscale("log")
        ax.set_xlabel("tasks (N)")
        ax.set_title(title)
        ax.grid(True, which="both", alpha=0.3)
        ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    ax2.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(figs / "growth.svg")
    print(f"wrote {figs / 'growth.svg'}", file=sys.stderr)


if __name__ == "__main__":
    main()
