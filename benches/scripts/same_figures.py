#!/usr/bin/env python3
"""Compares two ladder.json files run by run: every record of every run's
history (steps, costs, accuracies, losses) and the final train, test and
validation figures, with wall times and thread counts left out.

    python3 benches/scripts/same_figures.py results/ladder.json OTHER/ladder.json [A0,A3,...]

Prints one line per rung (runs identical / compared) and exits 1 when any
run compared differs, 2 when a rung is missing from either file.
"""
import json
import sys

IGNORED = {"seconds", "threads"}
# Fields newer than some files: absent reads as this value.
DEFAULTS = {"diverged": None}


def strip(value):
    if isinstance(value, dict):
        if "records" in value:
            value = {**DEFAULTS, **value}
        return {k: strip(v) for k, v in value.items() if k not in IGNORED}
    if isinstance(value, list):
        return [strip(v) for v in value]
    return value


def runs(path):
    with open(path) as f:
        data = json.load(f)
    return {r["rung"]["id"]: {run["seed"]: strip(run) for run in r["runs"]} for r in data["rungs"]}


def main():
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__)
    a, b = runs(sys.argv[1]), runs(sys.argv[2])
    rungs = sys.argv[3].split(",") if len(sys.argv) == 4 else sorted(set(a) & set(b))
    differ = missing = 0
    for rung in rungs:
        if rung not in a or rung not in b:
            print(f"{rung}: missing from {'the first' if rung not in a else 'the second'} file")
            missing += 1
            continue
        seeds = sorted(set(a[rung]) & set(b[rung]))
        same = [s for s in seeds if a[rung][s] == b[rung][s]]
        other = [s for s in seeds if s not in same]
        differ += len(other)
        note = f"; seeds differing: {other}" if other else ""
        print(f"{rung}: {len(same)} of {len(seeds)} runs identical{note}")
    sys.exit(2 if missing else 1 if differ else 0)


if __name__ == "__main__":
    main()
