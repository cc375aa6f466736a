#!/usr/bin/env python3
"""This project against PyTorch on the same networks, alternating in one run.

For each network, ROUNDS rounds; each round runs our `train_speed` example
and then the same measurement in PyTorch, each in a fresh process, so the
two meet the same machine state. Both use THREADS threads (PyTorch with
`torch.set_num_threads(THREADS)` and one interop thread), flush denormals,
and train on the real MNIST files in data/mnist:

- mlp: the deep and wide MLP, 784-512x4-10, ReLU, He-normal weights, zero
  biases, Adam (lr 0.001, TensorFlow's epsilon 1e-7), batch 100; seconds per
  epoch of 60,000 shuffled images, after one warm-up epoch.
- cnn: the tutorial's CNN (LADDER.md, F): conv 5x5x32, pool, conv 5x5x64,
  pool, dense 1024, dropout 0.5, dense 10, Adam 1e-4, batch 50; seconds per
  training step, median of STEPS steps after ten warm-up steps.

    benches/scripts/vs_pytorch.py [--nets mlp,cnn] [--rounds 3]
        [--threads 2] [--epochs 1] [--steps 60] [--json out.json]

Build ours first (`cargo build --release -p benches --example train_speed`);
MNIST_KERNEL is passed through (e.g. MNIST_KERNEL=avx2 on an AVX-512
machine), and with MNIST_KERNEL=avx2 PyTorch's own libraries are held to
AVX2 too (ONEDNN_MAX_CPU_ISA=AVX2 for its convolutions,
MKL_ENABLE_INSTRUCTIONS=AVX2 for its matrix products), so that both sides
see what an AVX2-only CPU offers. PyTorch comes from a virtual environment outside the repository
(`pip install torch numpy`); run this script with its python.
"""

import argparse
import gzip
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OURS = ROOT / "target" / "release" / "examples" / "train_speed"


def cpu_model():
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def load_mnist():
    import numpy as np

    def idx(name):
        with gzip.open(ROOT / "data" / "mnist" / name, "rb") as f:
            raw = f.read()
        dims = raw[3]
        shape = [int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(dims)]
        return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)

    images = idx("train-images-idx3-ubyte.gz").astype(np.float32) / 255.0
    labels = idx("train-labels-idx1-ubyte.gz").astype(np.int64)
    return images, labels


def torch_child(net, threads, count):
    """One PyTorch measurement; prints a JSON line like train_speed's."""
    import numpy as np
    import torch
    from torch import nn

    torch.set_num_threads(threads)
    torch.set_num_interop_threads(1)
    torch.set_flush_denormal(True)
    torch.manual_seed(1)
    images, labels = load_mnist()
    x_all = torch.from_numpy(images)
    y_all = torch.from_numpy(labels)
    if net == "mlp":
        widths = [784, 512, 512, 512, 512, 10]
        layers = []
        for i in range(len(widths) - 1):
            dense = nn.Linear(widths[i], widths[i + 1])
            nn.init.kaiming_normal_(dense.weight, nonlinearity="relu")
            nn.init.zeros_(dense.bias)
            layers.append(dense)
            if i + 2 < len(widths):
                layers.append(nn.ReLU())
        model = nn.Sequential(*layers)
        x_all = x_all.reshape(-1, 784)
        opt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
        batch = 100
    else:
        def trunc(t, std):
            nn.init.trunc_normal_(t, std=std, a=-2 * std, b=2 * std)

        conv1, conv2 = nn.Conv2d(1, 32, 5, padding=2), nn.Conv2d(32, 64, 5, padding=2)
        fc1, fc2 = nn.Linear(3136, 1024), nn.Linear(1024, 10)
        for layer, std in [(conv1, 0.1), (conv2, 0.1), (fc1, 1.0)]:
            trunc(layer.weight, std)
            nn.init.constant_(layer.bias, 0.1)
        nn.init.zeros_(fc2.weight)
        nn.init.zeros_(fc2.bias)
        model = nn.Sequential(
            conv1, nn.ReLU(), nn.MaxPool2d(2), conv2, nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), fc1, nn.ReLU(), nn.Dropout(0.5), fc2,
        )
        x_all = x_all.reshape(-1, 1, 28, 28)
        opt = torch.optim.Adam(model.parameters(), lr=1e-4, eps=1e-7)
        batch = 50
    loss_fn = nn.CrossEntropyLoss()
    model.train()

    def step(xb, yb):
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(xb), yb)
        loss.backward()
        opt.step()

    seconds = []
    if net == "mlp":
        g = torch.Generator().manual_seed(2)
        for epoch in range(count + 1):
            order = torch.randperm(len(x_all), generator=g)
            start = time.perf_counter()
            for b in range(0, len(x_all), batch):
                idx = order[b : b + batch]
                step(x_all[idx], y_all[idx])
            if epoch > 0:
                seconds.append(time.perf_counter() - start)
    else:
        batches = len(x_all) // batch
        for i in range(10 + count):
            first = (i % batches) * batch
            xb, yb = x_all[first : first + batch], y_all[first : first + batch]
            start = time.perf_counter()
            step(xb, yb)
            if i >= 10:
                seconds.append(time.perf_counter() - start)
    print(json.dumps({"framework": f"pytorch {torch.__version__}", "net": net,
                      "threads": threads, "seconds": seconds}))


def run(cmd, env=None):
    out = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if out.returncode != 0:
        sys.exit(f"{' '.join(map(str, cmd))} failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--nets", default="mlp,cnn")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--steps", type=int, default=60)
    p.add_argument("--json", help="write every measurement here")
    p.add_argument("--child", help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.child:
        net, threads, count = a.child.split(",")
        return torch_child(net, int(threads), int(count))
    if not OURS.exists():
        sys.exit(f"{OURS} is missing: cargo build --release -p benches --example train_speed")
    env = dict(os.environ, RAYON_NUM_THREADS=str(a.threads))
    if os.environ.get("MNIST_KERNEL", "").strip().lower() == "avx2":
        env.update(ONEDNN_MAX_CPU_ISA="AVX2", MKL_ENABLE_INSTRUCTIONS="AVX2")
    record = {"cpu": cpu_model(), "threads": a.threads, "rounds": [],
              "pytorch_isa_caps": {k: env[k] for k in ("ONEDNN_MAX_CPU_ISA", "MKL_ENABLE_INSTRUCTIONS") if k in env}}
    print(f"CPU: {record['cpu']}; {a.threads} threads; kernel: {os.environ.get('MNIST_KERNEL', 'detected')}; "
          f"PyTorch capped: {record['pytorch_isa_caps'] or 'no'}")
    for net in a.nets.split(","):
        count = a.epochs if net == "mlp" else a.steps
        unit = "s/epoch" if net == "mlp" else "ms/step"
        scale = 1 if net == "mlp" else 1000
        ours_all, torch_all = [], []
        for r in range(a.rounds):
            ours = run([OURS, net, str(a.threads), str(count)], env)
            theirs = run([sys.executable, __file__, "--child", f"{net},{a.threads},{count}"], env)
            o, t = statistics.median(ours["seconds"]), statistics.median(theirs["seconds"])
            ours_all.append(o)
            torch_all.append(t)
            record["rounds"].append({"net": net, "round": r, "ours": ours, "pytorch": theirs})
            print(f"{net} round {r + 1}: ours ({ours['kernel']}) {o * scale:.2f} {unit}, "
                  f"{theirs['framework']} {t * scale:.2f} {unit}, ratio {t / o:.2f}", flush=True)
        o, t = statistics.median(ours_all), statistics.median(torch_all)
        print(f"{net} median of {a.rounds} rounds: ours {o * scale:.2f}, PyTorch {t * scale:.2f} {unit}; "
              f"PyTorch / ours = {t / o:.2f}")
    if a.json:
        Path(a.json).write_text(json.dumps(record, indent=1) + "\n")


if __name__ == "__main__":
    main()
