#!/usr/bin/env python3
"""How much would a reduction of task-private steps save on the shipped scenarios?

The engine issue names one candidate partial-order reduction: steps that touch only one task's
private state, "for example calls and returns of functions no patch touches". In the model
such a step is a `Call`/`Return` of a function that no patch of the scenario patches, made by a
task already in the kernel (a kthread's or idle task's main loop calling it, or a function
listing it in `calls`). A `Syscall` into such a function is not private: it moves a user task
into the kernel, which `klp_try_switch_task()` (task_curr) and `klp_update_patch_state()` on
the way back to user mode both observe.

This script lists, per shipped scenario, the unpatched functions and those of them a private
step can reach. Every function a scenario names is there because the transition reads it
(scenario format: only functions that matter to livepatch), so the count is 0 everywhere and
the reduction would remove no transition at all: it does not pay. Exit 1 if some scenario has a
private step (then the argument no longer holds and the reduction should be reconsidered).

    scripts/por-potential.py
"""
import pathlib
import sys
import tomllib

REPO = pathlib.Path(__file__).resolve().parent.parent


def main():
    private_total = 0
    for path in sorted((REPO / "model" / "scenarios").glob("*.toml")):
        d = tomllib.loads(path.read_text())
        funcs = {f["name"]: f for f in d.get("functions", [])}
        patched = {fn if isinstance(fn, str) else fn["name"]
                   for p in d.get("patches", []) for o in p.get("objects", []) for fn in o.get("funcs", [])}
        in_kernel_calls = {c for f in funcs.values() for c in f.get("calls", [])}
        in_kernel_calls |= {e for t in d.get("tasks", []) if t.get("kind") in ("kthread", "idle")
                            for e in t.get("entry", [])}
        unpatched = sorted(n for n in funcs if n not in patched)
        private = sorted(n for n in unpatched if n in in_kernel_calls)
        private_total += len(private)
        print(f"{path.stem}: unpatched functions {unpatched or '-'}; reachable by a private step: {private or 'none'}")
    print(f"\nscenarios: {len(list((REPO / 'model' / 'scenarios').glob('*.toml')))}, "
          f"functions a private step can reach: {private_total}")
    sys.exit(1 if private_total else 0)


if __name__ == "__main__":
    main()
