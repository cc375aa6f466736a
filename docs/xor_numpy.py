"""An independent check of the ladder's XOR rungs (E1-E3) in NumPy, float64.

Four points, sigmoid output with binary cross-entropy (mean over the four),
weights U(-1, 1), biases 0, gradient descent 0.1, 10,000 full-batch steps.
Counts the seeds (0..N-1, NumPy's generator) whose accuracy reaches 1.0 and,
for ReLU, how many failures end with a whole hidden layer at zero for all
four points (a dead layer: no gradient reaches below it).

    python3 docs/xor_numpy.py E1 100    # printed: E1: 71 of 100 reach 1.0
    python3 docs/xor_numpy.py E3 40     # printed: E3: 15 of 40 reach 1.0; 15 of 25 failures have a dead layer
"""
import sys

import numpy as np

X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], float)
Y = np.array([[0], [1], [1], [0]], float)
RUNGS = {"E1": ([2], "sigmoid"), "E2": ([5] * 10, "sigmoid"), "E3": ([5] * 10, "relu")}


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def run(seed, hidden, activation, steps=10_000, lr=0.1):
    rng = np.random.default_rng(seed)
    sizes = [2] + hidden + [1]
    W = [rng.uniform(-1, 1, (a, b)) for a, b in zip(sizes[:-1], sizes[1:])]
    b = [np.zeros(s) for s in sizes[1:]]
    for _ in range(steps):
        hs, zs = [X], []
        for i in range(len(W)):
            z = hs[-1] @ W[i] + b[i]
            zs.append(z)
            last = i == len(W) - 1
            hs.append(sigmoid(z) if last or activation == "sigmoid" else np.maximum(z, 0))
        d = (hs[-1] - Y) / len(X)
        for i in reversed(range(len(W))):
            gW, gb = hs[i].T @ d, d.sum(0)
            if i > 0:
                dh = d @ W[i].T
                d = dh * hs[i] * (1 - hs[i]) if activation == "sigmoid" else dh * (zs[i - 1] > 0)
            W[i] -= lr * gW
            b[i] -= lr * gb
    accuracy = ((hs[-1] > 0.5) == Y).mean()
    dead = any((h <= 0).all() for h in hs[1:-1])
    return accuracy, dead


if __name__ == "__main__":
    rung, seeds = sys.argv[1], int(sys.argv[2])
    hidden, activation = RUNGS[rung]
    results = [run(s, hidden, activation) for s in range(seeds)]
    wins = sum(a == 1.0 for a, _ in results)
    line = f"{rung}: {wins} of {seeds} reach 1.0"
    if activation == "relu":
        failures = [d for a, d in results if a < 1.0]
        line += f"; {sum(failures)} of {len(failures)} failures have a dead layer"
    print(line)
