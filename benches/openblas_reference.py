"""OpenBLAS (through NumPy) against this project's sgemm on the GEMM table's
shapes, alternating, so that the bar "the best BLAS" is measured on this
machine rather than quoted.

    cargo build --release -p benches --example gemm_one
    python3 benches/openblas_reference.py --threads 1 [--filter 1024x] [--rounds 3]

Each round times NumPy's `matmul` (best of five batches of about 50 ms)
and then `gemm_one` (this project's `sgemm`, also the best of five
batches) on the same shape; each figure is the median over the rounds.
The shapes are read from `benches/src/lib.rs` (`PRODUCTS`), so the two
tables cannot drift apart. A transposed operand is a transposed NumPy view,
which NumPy hands to OpenBLAS as a transpose flag, as `sgemm` gets it.

NumPy costs a microsecond or two per call on top of OpenBLAS: that weighs
on the smallest products (100x512x10 is about 1 MFLOP, some 10 us).
"""

import argparse
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BATCH_SECONDS = 0.05


def products():
    """(label, m, k, n, ta, tb) of every product in benches/src/lib.rs."""
    source = (ROOT / "benches/src/lib.rs").read_text()
    found = re.findall(r'Product::new\("[^"]*", ([\d_]+), ([\d_]+), ([\d_]+), ([NT]), ([NT])\)', source)
    if not found:
        sys.exit("openblas_reference: no Product::new(...) found in benches/src/lib.rs")
    for m, k, n, ta, tb in found:
        m, k, n = (int(x.replace("_", "")) for x in (m, k, n))
        mark = ("Aᵀ" if ta == "T" else "A") + ("Bᵀ" if tb == "T" else "B")
        yield f"{m}x{k}x{n} ({mark})", m, k, n, ta, tb


def numpy_gflops(np, m, k, n, ta, tb):
    rng = np.random.default_rng(1)
    a = rng.random((k, m) if ta == "T" else (m, k), dtype=np.float32)
    b = rng.random((n, k) if tb == "T" else (k, n), dtype=np.float32)
    a, b = (a.T if ta == "T" else a), (b.T if tb == "T" else b)
    c = np.empty((m, n), dtype=np.float32)
    flops = 2.0 * m * k * n
    np.matmul(a, b, out=c)
    start = time.perf_counter()
    np.matmul(a, b, out=c)
    reps = max(1, int(BATCH_SECONDS / max(time.perf_counter() - start, 1e-7)))
    best = 0.0
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(reps):
            np.matmul(a, b, out=c)
        best = max(best, flops * reps / (time.perf_counter() - start) / 1e9)
    return best, reps


def ours_gflops(binary, threads, m, k, n, ta, tb, reps):
    env = dict(os.environ, GEMM_ONE_THREADS=str(threads), MATMUL_NUM_THREADS=str(threads))
    out = subprocess.run(
        [str(binary), str(m), str(k), str(n), ta, tb, "ours", str(reps)],
        env=env, capture_output=True, text=True, check=True,
    ).stdout
    return float(re.search(r": ([\d.]+) GFLOP/s", out).group(1))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=1, help="threads for both (default 1)")
    parser.add_argument("--filter", default="", help="keep shapes whose label contains this text")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds per shape (default 3)")
    parser.add_argument("--gemm-one", type=Path, default=ROOT / "target/release/examples/gemm_one",
                        help="the gemm_one binary (default: target/release/examples/gemm_one)")
    args = parser.parse_args()
    if not args.gemm_one.exists():
        sys.exit(f"openblas_reference: {args.gemm_one} not found; build it with "
                 "`cargo build --release -p benches --example gemm_one`")
    # OpenBLAS reads its thread count when it is loaded.
    os.environ["OPENBLAS_NUM_THREADS"] = str(args.threads)
    import numpy as np

    config = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
    print(f"NumPy {np.__version__}, {config.get('name')} {config.get('version')}, {args.threads} thread(s)")
    print()
    print("| shape (M x K x N) | OpenBLAS | ours | ours / OpenBLAS |")
    print("| --- | ---: | ---: | ---: |")
    for label, m, k, n, ta, tb in products():
        if args.filter not in label:
            continue
        theirs, mine = [], []
        for _ in range(args.rounds):
            g, reps = numpy_gflops(np, m, k, n, ta, tb)
            theirs.append(g)
            mine.append(ours_gflops(args.gemm_one, args.threads, m, k, n, ta, tb, reps))
        t, o = statistics.median(theirs), statistics.median(mine)
        print(f"| {label} | {t:.1f} | {o:.1f} | {o / t:.2f} |", flush=True)


if __name__ == "__main__":
    main()
