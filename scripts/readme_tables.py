#!/usr/bin/env python3
"""Rewrites the generated tables of README.md from paper/data/*.json (scripts/gen-paper.sh).

The block between `<!-- scenarios-table:begin -->` and `<!-- scenarios-table:end -->` becomes
the table of every shipped scenario: distinct states, time, memory, result. The block between
`<!-- engine-table:begin -->` and `<!-- engine-table:end -->` becomes the engine's measured
targets (paper/data/engine.json, written by scripts/bench.py), when that file exists.
The block between `<!-- bench-table:begin -->` and `<!-- bench-table:end -->` becomes issue 16's
targets and the runs behind them (paper/data/bench.json, written by scripts/bench.py).
"""
import json
import pathlib
import re
import sys

REPO = pathlib.Path(__file__).resolve().parent.parent


def scenarios_table(rows):
    out = ["| scenario | distinct states | generated | depth | time (s) | peak RSS (MB) | B/state | result |",
           "|---|---:|---:|---:|---:|---:|---:|---|"]
    for r in sorted(rows, key=lambda r: r["unique_states"]):
        bps = r.get("bytes_per_state")
        rss = f"{bps * r['unique_states'] / 1e6:.0f}" if bps else "–"
        bps = f"{bps:.0f}" if bps else "–"
        result = {0: "all hold", 1: "violation", 3: "incomplete"}.get(r["exit"], f"exit {r['exit']}")
        out.append(f"| `{r['name']}` | {r['unique_states']:,} | {r['generated']:,} | {r['max_depth']} "
                   f"| {r['wall_s']:.2f} | {rss} | {bps} | {result} |")
    return "\n".join(out)


def engine_table(e):
    sc, sy, lg = e["scaling"], e["symmetry"], e["large"]
    rss_mb = lg["bytes_per_state"] * lg["unique_states"] / 1e6
    rows = [
        "| target | measured | met |",
        "|---|---|---|",
        f"| 2 threads >= 1.7x faster than 1 (toy N={sc['tasks']}) | median of {sc['rounds']} interleaved runs: "
        f"{sc['median_s_1']:.2f} s vs {sc['median_s_2']:.2f} s = {sc['speedup']:.2f}x "
        f"(runs: {', '.join(f'{w:.1f}' for w in sc['wall_s_1'])} / {', '.join(f'{w:.1f}' for w in sc['wall_s_2'])} s) "
        f"| {'yes' if sc['speedup'] >= 1.7 else 'no'} |",
        f"| <= 16 bytes per distinct state in the visited set (toy N={sc['tasks']}, {sc['states']:,} states) "
        f"| visited set {sc['visited_bytes_per_state']:.1f} B/state; whole process {sc['bytes_per_state']:.1f} B/state "
        f"(peak RSS / states); collision probability {sc['collision_probability']:.1e} "
        f"| {'yes' if sc['visited_bytes_per_state'] <= 16 else 'no'} |",
        f"| symmetry: toy N={sy['tasks']} in under 2 minutes, count cross-checked | {sy['states']:,} canonical states in "
        f"{sy['wall_s']:.1f} s; second canonicaliser: {sy['states_counts']:,} states "
        f"({'equal' if sy['agree'] else 'DIFFERENT'}), {sy['wall_s_counts']:.1f} s "
        f"| {'yes' if sy['wall_s'] < 120 and sy['agree'] else 'no'} |",
        f"| a shipped kernel scenario of >= 10 million states | `large`: {lg['unique_states']:,} states, "
        f"{lg['generated']:,} generated, depth {lg['max_depth']}, search {lg['seconds']:.0f} s + liveness "
        f"{lg['liveness_seconds']:.0f} s, peak RSS {rss_mb / 1e3:.1f} GB ({lg['bytes_per_state']:.0f} B/state, "
        f"the stored graph included) | {'yes' if lg['unique_states'] >= 10_000_000 else 'no'} |",
    ]
    return "\n".join(rows)


def bench_table(b):
    """Issue 16's targets as scripts/bench.py judged them, then every measured run."""
    out = ["| target (issue 16) | measured | met |", "|---|---|---|"]
    out += [f"| {t['target']} | {t['measured']} | {'yes' if t['met'] else '**no**'} |" for t in b["targets"]]
    out += ["", "| run | distinct states | wall (s), median | peak RSS (MB), median | wall of each round (s) |",
            "|---|---:|---:|---:|---|"]
    for part in ("default", "toy"):
        for who, g in b.get(part, {}).items():
            if isinstance(g, dict) and "runs" in g:
                label = f"{part} (N={b[part]['n']})" if part == "toy" else part
                walls = ", ".join(f"{r['wall_s']:.1f}" for r in g["runs"])
                out.append(f"| {label}: {who} | {g['states']:,} | {g['median_wall_s']:.2f} "
                           f"| {g['median_rss_bytes'] / 1e6:.0f} | {walls} |")
    for name, r in [("large", b.get("large", {}).get("liveness")), ("large --no-liveness", b.get("large", {}).get("no_liveness")),
                    ("xl " + " ".join(b.get("xl", {}).get("args", [])[1:]), b.get("xl"))]:
        if r:
            out.append(f"| {name} | {r['unique_states']:,}{'' if r['complete'] else ' (incomplete)'} | {r['wall_s']:.2f} "
                       f"| {r['peak_rss_bytes'] / 1e6:.0f} | one run |")
    loads = sorted({f"{b[p]['loadavg_start'][0]:.1f}" for p in ("default", "toy", "large", "xl") if p in b})
    out += ["", f"{b['cores']} cores; load average (1 min) when each part began: {', '.join(loads)}; "
                f"default and toy: medians of {b.get('default', b.get('toy', {})).get('rounds', '?')} interleaved rounds."]
    return "\n".join(out)


def replace_block(text, name, table):
    new, n = re.subn(rf"(<!-- {name}:begin -->\n).*?(<!-- {name}:end -->)",
                     lambda m: m.group(1) + table + "\n" + m.group(2), text, flags=re.S)
    if n != 1:
        sys.exit(f"README.md: no {name} markers")
    return new


def main():
    data = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else REPO / "paper" / "data"
    readme = REPO / "README.md"
    text = readme.read_text()
    if (data / "scenarios.json").exists():
        text = replace_block(text, "scenarios-table", scenarios_table(json.loads((data / "scenarios.json").read_text())))
        print("README.md: scenarios table rewritten", file=sys.stderr)
    if (data / "engine.json").exists():
        text = replace_block(text, "engine-table", engine_table(json.loads((data / "engine.json").read_text())))
        print("README.md: engine table rewritten", file=sys.stderr)
    if (data / "bench.json").exists():
        text = replace_block(text, "bench-table", bench_table(json.loads((data / "bench.json").read_text())))
        print("README.md: bench table rewritten", file=sys.stderr)
    readme.write_text(text)


if __name__ == "__main__":
    main()
