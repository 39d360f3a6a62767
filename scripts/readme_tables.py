#!/usr/bin/env python3
"""Rewrites the generated tables of README.md from paper/data/*.json (scripts/gen-paper.sh).

The block between `<!-- scenarios-table:begin -->` and `<!-- scenarios-table:end -->` becomes
the table of every shipped scenario: distinct states, time, memory, result.
"""
import json
import pathlib
import re
import sys

REPO = pathlib.Path(__file__).resolve().parent.parent


def scenarios_table(rows):
    out = ["| scenario | distinct states | generated | depth | time (s) | peak RSS (MB) | result |",
           "|---|---:|---:|---:|---:|---:|---|"]
    for r in sorted(rows, key=lambda r: r["unique_states"]):
        rss = r.get("bytes_per_state")
        rss = f"{rss * r['unique_states'] / 1e6:.0f}" if rss else "–"
        result = {0: "all hold", 1: "violation", 3: "incomplete"}.get(r["exit"], f"exit {r['exit']}")
        out.append(f"| `{r['name']}` | {r['unique_states']:,} | {r['generated']:,} | {r['max_depth']} "
                   f"| {r['wall_s']:.2f} | {rss} | {result} |")
    return "\n".join(out)


def main():
    data = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else REPO / "paper" / "data"
    readme = REPO / "README.md"
    text = readme.read_text()
    table = scenarios_table(json.loads((data / "scenarios.json").read_text()))
    new, n = re.subn(r"(<!-- scenarios-table:begin -->\n).*?(<!-- scenarios-table:end -->)",
                     lambda m: m.group(1) + table + "\n" + m.group(2), text, flags=re.S)
    if n != 1:
        sys.exit("README.md: no scenarios-table markers")
    readme.write_text(new)
    print("README.md: scenarios table rewritten", file=sys.stderr)


if __name__ == "__main__":
    main()
