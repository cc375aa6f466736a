"""The fast recipe, ours against PyTorch's, alternating in one run (issue 19).

For each seed, ours (`mnist train --recipe fast`) and then PyTorch's
(`fast_pytorch.py`, the same recipe), each in a fresh process, so that the
two meet the same machine state. Two passes:

1. timing: the recipe as it is (one report, at the end); the figure is the
   wall time from the process's start to its end, measured from outside
   (interpreter start, imports and loading the data included), and the
   test accuracy at the end;
2. curve: the same runs reporting test accuracy every tenth of the run.
   Each report's time is what the wall clock would have said had the run
   stopped there: the time from the process's start to the report, less
   the time spent evaluating at the reports before it.

Usage (from the project folder, with PyTorch's python; build ours first
with `cargo build --release -p cli`):

    /path/to/venv/bin/python docs/reference/fast_vs_pytorch.py
        [--seeds 1,2,3,4,5] [--passes timing,curve]
        [--out docs/reference/fast-vs-pytorch.json]

MNIST_KERNEL is passed through to ours. The JSON keeps every run; the
ladder draws it beside rung G (results/plots/fast.svg).
"""

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OURS = ROOT / "target" / "release" / "mnist"
THEIRS = ROOT / "docs" / "reference" / "fast_pytorch.py"
STEPS = 430


def cpu_model():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def run_ours(seed, report_every):
    with tempfile.TemporaryDirectory() as tmp:
        history = Path(tmp) / "history.json"
        cmd = [str(OURS), "train", "--recipe", "fast", "--seed", str(seed), "--history", str(history)]
        if report_every:
            cmd += ["--report-every", str(report_every)]
        start = time.perf_counter()
        # Two threads, as PyTorch is given, whatever the machine's core count.
        env = dict(os.environ, RAYON_NUM_THREADS="2")
        done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, check=True)
        wall = time.perf_counter() - start
        h = json.loads(history.read_text())
    # The wall-time line (on stderr) names the training time and the kernel.
    line = re.search(r"training ([0-9.]+) s \((\w+) kernel, (\d+) threads\)", done.stderr)
    records, before = [], 0.0
    for r in h["records"]:
        records.append({"step": r["step"], "seconds": r["seconds"] - before, "test": r["test"]["accuracy"]})
        before = r["evaluating"]
    return {
        "framework": "ours",
        "seed": seed,
        "wall_seconds": wall,
        "training_seconds": float(line.group(1)),
        "test": h["records"][-1]["test"]["accuracy"],
        "kernel": line.group(2),
        "threads": int(line.group(3)),
        "records": records,
    }


def run_theirs(seed, report_every):
    # channels_last: PyTorch's faster layout for these convolutions on the
    # CPU (86 steps: about 1.5 s against 2.1 s in NCHW on Zen 4).
    cmd = [sys.executable, str(THEIRS), str(ROOT / "data" / "mnist"), str(seed), "--channels-last"]
    if report_every:
        cmd += ["--report-every", str(report_every)]
    start = time.perf_counter()
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=True).stdout
    wall = time.perf_counter() - start
    j = json.loads(out.strip().splitlines()[-1])
    records, before = [], 0.0
    for r in j["records"]:
        records.append({"step": r["step"], "seconds": r["seconds"] - before, "test": r["test"]})
        before = r["evaluating"]
    return {
        "framework": f"PyTorch {j['torch']}",
        "seed": seed,
        "wall_seconds": wall,
        "training_seconds": j["training_seconds"],
        "test": j["test"],
        "records": records,
    }


def with_wall_times(run):
    """Report times from the process's start: what came before and after the
    training loop (start-up, loading, the end) is the wall time less the
    training time."""
    prelude = run["wall_seconds"] - run["training_seconds"]
    for r in run["records"]:
        r["wall_seconds"] = prelude + r["seconds"]
    return run


def summary(runs):
    out = {}
    for name in sorted({r["framework"] for r in runs}):
        mine = [r for r in runs if r["framework"] == name]
        out[name] = {
            "median_wall_seconds": statistics.median(r["wall_seconds"] for r in mine),
            "test": [r["test"] for r in mine],
            "min_test": min(r["test"] for r in mine),
            "mean_test": statistics.mean(r["test"] for r in mine),
        }
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", default="1,2,3,4,5")
    p.add_argument("--passes", default="timing,curve")
    p.add_argument("--out", default=str(ROOT / "docs" / "reference" / "fast-vs-pytorch.json"))
    args = p.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    passes = args.passes.split(",")
    result = {
        "command": " ".join(sys.argv),
        "cpu": cpu_model(),
        "threads": 2,
        "mnist_kernel": os.environ.get("MNIST_KERNEL", "default"),
        "steps": STEPS,
    }
    for name, every in [("timing", None), ("curve", STEPS // 10)]:
        if name not in passes:
            continue
        runs = []
        for seed in seeds:
            for runner in (run_ours, run_theirs):
                run = with_wall_times(runner(seed, every))
                print(
                    f"{name} seed {seed} {run['framework']}: test {run['test']:.4f}, "
                    f"{run['wall_seconds']:.2f} s wall",
                    flush=True,
                )
                runs.append(run)
        result[name] = {"runs": runs, "summary": summary(runs)}
        print(json.dumps(result[name]["summary"], indent=1))
    Path(args.out).write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
