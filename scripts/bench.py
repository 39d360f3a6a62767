#!/usr/bin/env python3
"""The benchmark of issue 16, in one go: klpcheck against stateright and SPIN, and the big scenarios.

    scripts/bench.py [--rounds N] [--parts default,toy,large,xl] [--quick] [--xl-timeout S]

1. `default` scenario: klpcheck's engine (2 threads, liveness included), stateright's
   (`--engine stateright`, 2 threads, no liveness: it has none) and klpcheck on 1 thread;
2. the toy model (toy/README.md) at N = 6: klpcheck (`bench toy`), stateright and SPIN
   (toy/toy.pml; gcc -O2 -DSAFETY; ./pan -m1000000 -w26, compiled once before the rounds);

   1 and 2 run as INTERLEAVED rounds: every round runs each of the six once, the order rotated
   from round to round, so that a slow spell of the shared machine hits them alike; the tables
   give the median of the rounds;
3. `large` once with liveness and once with --no-liveness: states, time, memory, bytes per state;
4. `xl` (model/bench/xl.toml) once, with every property, under --timeout (default 600 s, the
   target) and --max-memory 16 GiB; symmetry reduction on (`--symmetry` while the binary has it
   off by default, i.e. while `check --help` offers no `--no-symmetry`).

Wall time is the whole process (start to exit) and memory its peak RSS, both measured here
(wait4's ru_maxrss) in the same way for the three tools; states come from each tool's output.
Then it reports the targets of issue 16 and whether each is met, writes paper/data/bench.json
and rewrites README.md's bench table (scripts/readme_tables.py); paper/main.typ reads the JSON.
Nothing is typed by hand, and no test asserts a time.

The engine table's parts (README "Engine: measured targets", paper/data/engine.json; not run unless
named): toy-threads (the toy model at N = 6 on 1 and 2 threads, --rounds interleaved rounds) and
toy-symmetry (the toy model at N = 14 reduced, by both canonicalisers); `large` refreshes that
table's large row too. engine.json keeps the parts not run.

--quick (development): one round, toy N = 4, parts default and toy only unless --parts is given,
and nothing is written. SPIN and gcc are installed with apt-get when missing. A full run takes
about 35 minutes on 2 idle cores today (5 rounds of about 4 minutes, large about 4, xl up to 10).
"""
import argparse
import datetime
import json
import os
import pathlib
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

REPO = pathlib.Path(__file__).resolve().parent.parent
XL = "model/bench/xl.toml"
GB = 1e9
PARTS = ("default", "toy", "large", "xl")
ENGINE_PARTS = ("toy-threads", "toy-symmetry")  # paper/data/engine.json's parts (README engine table)


def measure(cmd, cwd=REPO, ok=(0,)):
    """Runs cmd; returns (stdout, exit code, wall seconds, peak RSS bytes) of that process alone."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.monotonic()
        p = subprocess.Popen(cmd, cwd=cwd, stdout=out, stderr=err)
        _, status, usage = os.wait4(p.pid, 0)
        wall = time.monotonic() - t0
        p.returncode = code = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
    if code not in ok:
        sys.exit(f"{' '.join(map(str, cmd))} exited {code}:\n{stderr[-3000:]}")
    return stdout, code, wall, usage.ru_maxrss * 1024


def check_run(stdout):
    """The one run of a `check --json` report (docs/json.md), its resources inlined."""
    doc = json.loads(stdout)
    run = dict(doc["runs"][0])
    run.update(run.pop("resources") or {})
    run["verdict"] = doc["verdict"]
    return run


def parse_pan(text):
    """SPIN's pan output: distinct states stored, memory; refuses a run with errors or a cut depth."""
    states = errors = memory = None
    for line in text.splitlines():
        words = line.split()
        if "states, stored" in line and states is None:
            states = int(float(words[0]))
        elif "errors:" in line and errors is None:
            errors = int(line.split("errors:")[1].split()[0])
        elif "total actual memory usage" in line and memory is None:
            memory = float(words[0])
    if states is None or errors != 0 or "max search depth too small" in text:
        raise ValueError(f"SPIN did not finish cleanly (errors: {errors}, or its depth was cut):\n{text}")
    return {"states": states, "memory_mb": memory}


def ensure_spin():
    need = [t for t in ("spin", "gcc") if shutil.which(t) is None]
    if need:
        print(f"installing {' '.join(need)} with apt-get", file=sys.stderr)
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        subprocess.run(["apt-get", "update", "-qq"], check=True, env=env, stdout=subprocess.DEVNULL)
        subprocess.run(["apt-get", "install", "-y", "-qq", *need], check=True, env=env, stdout=subprocess.DEVNULL)


def build_pan(work, n):
    shutil.copy(REPO / "toy" / "toy.pml", work / "toy.pml")
    subprocess.run(["spin", f"-DN={n}", "-a", "toy.pml"], cwd=work, check=True, stdout=subprocess.DEVNULL)
    subprocess.run(["gcc", "-O2", "-DSAFETY", "-DMEMLIM=20000", "-o", "pan", "pan.c"], cwd=work, check=True,
                   stderr=subprocess.DEVNULL)
    return [str(work / "pan"), "-m1000000", "-w26"]


def contenders(bin_, parts, n, pan):
    """The runs of one round: name -> (command, how its states are read)."""
    c = {}
    if "default" in parts:
        check = [bin_, "check", "default", "--json", "--no-progress"]
        c["default/klpcheck"] = ([*check, "--threads", "2"], "check")
        c["default/stateright"] = ([*check, "--threads", "2", "--engine", "stateright"], "check")
        c["default/klpcheck-1thread"] = ([*check, "--threads", "1"], "check")
    if "toy" in parts:
        toy = [bin_, "bench", "toy", "--tasks", str(n), "--threads", "2", "--json"]
        c["toy/klpcheck"] = ([*toy, "--engine", "klpcheck"], "bench")
        c["toy/stateright"] = ([*toy, "--engine", "stateright"], "bench")
        c["toy/spin"] = (pan, "pan")
    return c


def states_of(kind, stdout):
    if kind == "check":
        return check_run(stdout)["unique_states"]
    if kind == "bench":
        return json.loads(stdout)["unique_states"]
    return parse_pan(stdout)["states"]


def rounds_of(runs, rounds):
    names = list(runs)
    got = {name: [] for name in names}
    # No interleaved contender (e.g. --parts large): nothing to run in rounds.
    for r in range(rounds if names else 0):
        order = names[r % len(names):] + names[:r % len(names)]
        for name in order:
            cmd, kind = runs[name]
            stdout, code, wall, rss = measure(cmd, ok=(0, 1, 3) if kind == "check" else (0,))
            got[name].append({"wall_s": wall, "peak_rss_bytes": rss, "states": states_of(kind, stdout),
                              "exit": code})
            print(f"round {r + 1}/{rounds} {name}: {wall:.2f} s, {rss / 1e6:.0f} MB", file=sys.stderr)
    return {name: {"runs": g, "states": g[-1]["states"],
                   "median_wall_s": statistics.median(x["wall_s"] for x in g),
                   "median_rss_bytes": statistics.median(x["peak_rss_bytes"] for x in g)}
            for name, g in got.items()}


def one_check(bin_, *args):
    stdout, code, wall, rss = measure([bin_, "check", *args, "--json", "--no-progress"], ok=(0, 1, 3))
    run = check_run(stdout)
    keep = ("unique_states", "generated", "max_depth", "seconds", "liveness_seconds", "complete",
            "limit_hit", "symmetry", "graph_bytes_per_state", "verdict")
    out = {k: run.get(k) for k in keep}
    out.update({"wall_s": wall, "peak_rss_bytes": rss, "exit": code, "bytes_per_state": rss / run["unique_states"],
                "args": list(args), "undecided": [p["name"] for p in run["properties"]
                                                  if p["verdict"] in ("incomplete", "unchecked")]})
    out["run"] = run
    return out


def large(bin_):
    return {"loadavg_start": os.getloadavg(), "liveness": one_check(bin_, "large", "--threads", "2"),
            "no_liveness": one_check(bin_, "large", "--threads", "2", "--no-liveness")}


def xl(bin_, timeout):
    helptext = subprocess.run([bin_, "check", "--help"], capture_output=True, text=True).stdout
    sym = [] if "--no-symmetry" in helptext else ["--symmetry"]
    load = os.getloadavg()
    r = one_check(bin_, XL, "--threads", "2", "--timeout", str(timeout), "--max-memory", str(16 * 1024), *sym)
    r["timeout_s"] = timeout
    r["loadavg_start"] = load
    return r


def toy_threads(bin_, rounds):
    """Thread scaling on the toy model, N = 6: 1 and 2 threads interleaved (engine.json "scaling")."""
    runs = {1: [], 2: []}
    for r in range(rounds):
        for t in (1, 2):
            j = json.loads(measure([bin_, "bench", "toy", "--tasks", "6", "--threads", str(t), "--json"])[0])
            runs[t].append(j)
            print(f"toy-threads round {r + 1}/{rounds}: {t} thread(s) {j['wall_s']:.2f} s", file=sys.stderr)
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


def toy_symmetry(bin_):
    """The toy model at N = 14 reduced, by both canonicalisers (engine.json "symmetry")."""
    sym = {}
    for canon in ("sort", "counts"):
        cmd = [bin_, "bench", "toy", "--tasks", "14", "--symmetry", "--canonical", canon, "--json"]
        sym[canon] = json.loads(measure(cmd)[0])
        print(f"toy-symmetry N=14 ({canon}): {sym[canon]['unique_states']:,} states", file=sys.stderr)
    return {
        "tasks": 14, "states": sym["sort"]["unique_states"], "wall_s": sym["sort"]["wall_s"],
        "states_counts": sym["counts"]["unique_states"], "wall_s_counts": sym["counts"]["wall_s"],
        "agree": sym["sort"]["unique_states"] == sym["counts"]["unique_states"],
        "bytes_per_state": sym["sort"]["bytes_per_state"],
    }


def write_engine_json(d, parts, rounds, bin_):
    """paper/data/engine.json (README engine table, paper): its parts measured now, the rest kept."""
    path = REPO / "paper" / "data" / "engine.json"
    out = json.loads(path.read_text()) if path.exists() else {}
    if "toy-threads" in parts:
        out["scaling"] = toy_threads(bin_, rounds)
    if "toy-symmetry" in parts:
        out["symmetry"] = toy_symmetry(bin_)
    if "large" in parts:
        out["large"] = d["large"]["liveness"]["run"]
    if set(out) != {"scaling", "symmetry", "large"}:
        sys.exit(f"{path}: no earlier run to keep the other parts of; run --parts large,{','.join(ENGINE_PARTS)}")
    path.write_text(json.dumps(out, indent=1) + "\n")


def ratio(a, b):
    return a / b if b else float("inf")


def targets(d):
    """Issue 16's targets: [{target, measured, met}] from what was measured (parts not run: absent)."""
    t = []
    if "default" in d:
        k, s, k1 = d["default"]["klpcheck"], d["default"]["stateright"], d["default"]["klpcheck-1thread"]
        tr, rr = ratio(s["median_wall_s"], k["median_wall_s"]), ratio(s["median_rss_bytes"], k["median_rss_bytes"])
        t.append({"target": "default: wall <= 1/4 of stateright's",
                  "measured": f"{k['median_wall_s']:.2f} s vs {s['median_wall_s']:.2f} s: {tr:.2f}x faster",
                  "met": tr >= 4})
        t.append({"target": "default: peak RSS <= 1/2 of stateright's",
                  "measured": f"{k['median_rss_bytes'] / 1e6:.0f} MB vs {s['median_rss_bytes'] / 1e6:.0f} MB: "
                              f"{rr:.2f}x less", "met": rr >= 2})
        sp = ratio(k1["median_wall_s"], k["median_wall_s"])
        t.append({"target": "default: 2 threads >= 1.8x faster than 1",
                  "measured": f"{k1['median_wall_s']:.2f} s vs {k['median_wall_s']:.2f} s: {sp:.2f}x", "met": sp >= 1.8})
    if "toy" in d:
        k, s, p = d["toy"]["klpcheck"], d["toy"]["stateright"], d["toy"]["spin"]
        n = d["toy"]["n"]
        ps, ss = ratio(p["median_wall_s"], k["median_wall_s"]), ratio(s["median_wall_s"], k["median_wall_s"])
        t.append({"target": f"toy N={n}: >= 15x SPIN",
                  "measured": f"{k['median_wall_s']:.2f} s vs {p['median_wall_s']:.2f} s: {ps:.2f}x",
                  "met": ps >= 15 and n == 6})
        t.append({"target": f"toy N={n}: >= 6x stateright",
                  "measured": f"{k['median_wall_s']:.2f} s vs {s['median_wall_s']:.2f} s: {ss:.2f}x",
                  "met": ss >= 6 and n == 6})
    if "large" in d:
        lv, nl = d["large"]["liveness"], d["large"]["no_liveness"]
        t.append({"target": "large: < 30 s and < 1 GB with liveness",
                  "measured": f"{lv['unique_states']:,} states, {lv['wall_s']:.1f} s, "
                              f"{lv['peak_rss_bytes'] / GB:.2f} GB ({lv['bytes_per_state']:.0f} B/state; "
                              f"--no-liveness: {nl['wall_s']:.1f} s, {nl['bytes_per_state']:.0f} B/state)",
                  "met": lv["complete"] and lv["wall_s"] < 30 and lv["peak_rss_bytes"] < GB})
    if "xl" in d:
        x = d["xl"]
        how = "complete" if x["complete"] else f"INCOMPLETE ({x['limit_hit'] or 'under-approximation'})"
        und = f", {len(x['undecided'])} properties undecided" if x["undecided"] else ", every property decided"
        t.append({"target": "xl: < 10 min, < 16 GB, every property",
                  "measured": f"{x['unique_states']:,} states ({'symmetry-reduced' if x['symmetry'] else 'unreduced'}"
                              f"), {how}{und}, {x['wall_s']:.0f} s, {x['peak_rss_bytes'] / GB:.2f} GB",
                  "met": x["complete"] and not x["undecided"] and x["exit"] == 0 and x["wall_s"] < 600
                  and x["peak_rss_bytes"] < 16 * GB})
    return t


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=5, help="interleaved rounds of default and toy (median)")
    ap.add_argument("--parts", help=f"comma-separated, from {','.join(PARTS + ENGINE_PARTS)} "
                    f"(default: {','.join(PARTS)})")
    ap.add_argument("--quick", action="store_true", help="1 round, toy N=4, default+toy, writes nothing")
    ap.add_argument("--xl-timeout", type=int, default=600, help="seconds xl may run (default 600: the target)")
    a = ap.parse_args()
    parts = a.parts.split(",") if a.parts else (["default", "toy"] if a.quick else list(PARTS))
    if set(parts) - set(PARTS + ENGINE_PARTS):
        sys.exit(f"unknown part(s) {','.join(sorted(set(parts) - set(PARTS + ENGINE_PARTS)))} "
                 f"(parts: {','.join(PARTS + ENGINE_PARTS)})")
    rounds, n = (1, 4) if a.quick else (a.rounds, 6)
    subprocess.run(["cargo", "build", "--release", "--quiet", "--bin", "klpcheck"], cwd=REPO, check=True)
    bin_ = str(pathlib.Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target")) / "release" / "klpcheck")
    d = {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
         "cores": os.cpu_count(), "quick": a.quick, "loadavg_start": os.getloadavg()}
    with tempfile.TemporaryDirectory() as work:
        pan = None
        if "toy" in parts:
            ensure_spin()
            pan = build_pan(pathlib.Path(work), n)
        got = rounds_of(contenders(bin_, parts, n, pan), rounds)
    for name, g in got.items():
        part, who = name.split("/")
        d.setdefault(part, {"rounds": rounds, "loadavg_start": d["loadavg_start"]})[who] = g
    if "toy" in d:
        d["toy"]["n"] = n
    if "large" in parts:
        d["large"] = large(bin_)
    if "xl" in parts:
        d["xl"] = xl(bin_, a.xl_timeout)
    d["loadavg_end"] = os.getloadavg()
    d["targets"] = targets(d)
    print(f"\n{d['cores']} cores, load average {d['loadavg_start'][0]:.1f} at the start, "
          f"{d['loadavg_end'][0]:.1f} at the end; default and toy: medians of {rounds} interleaved rounds")
    for t in d["targets"]:
        print(f"  [{'met' if t['met'] else 'NOT met'}] {t['target']}: {t['measured']}")
    if a.quick:
        return
    if {"large", *ENGINE_PARTS} & set(parts):
        write_engine_json(d, parts, rounds, bin_)
    for part in ("large", "xl"):
        if part in d:
            d[part] = {k: v for k, v in d[part].items() if k != "run"}
            for sub in ("liveness", "no_liveness"):
                d[part].get(sub, {}).pop("run", None)
    path = REPO / "paper" / "data" / "bench.json"
    old = json.loads(path.read_text()) if path.exists() else {}
    for part in set(PARTS) - set(parts):
        if part in old:
            d[part] = old[part]
    d["targets"] = targets(d)
    path.write_text(json.dumps(d, indent=1) + "\n")
    subprocess.run([sys.executable, str(REPO / "scripts" / "readme_tables.py")], cwd=REPO, check=True)


if __name__ == "__main__":
    main()
