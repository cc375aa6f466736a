"""Loads an MLP saved by `mnist train --save` and classifies the MNIST test
set with a NumPy forward pass (no batch norm, no dropout at test time).

    python3 docs/load_mlp.py model.safetensors data/mnist [predictions.txt]

With a third argument it writes the predicted digit of every test image,
one a line, as `mnist eval --predictions` does, to compare the two.
"""
import gzip
import json
import sys

import numpy as np
from safetensors import safe_open
from safetensors.numpy import load_file

path, data = sys.argv[1], sys.argv[2]
tensors = load_file(path)
with safe_open(path, "np") as f:
    arch = json.loads(f.metadata()["architecture"])
assert not arch["batch_norm"], "this snippet covers Dense + ReLU only"

with gzip.open(f"{data}/t10k-images-idx3-ubyte.gz") as f:
    x = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 784).astype(np.float32) * np.float32(1 / 255)
with gzip.open(f"{data}/t10k-labels-idx1-ubyte.gz") as f:
    y = np.frombuffer(f.read(), np.uint8, offset=8)

# Dense layers are named dense, dense_1, ...; weights are [inputs, outputs].
layers = sorted({k.rsplit(".", 1)[0] for k in tensors}, key=lambda n: int(n.split("_")[1]) if "_" in n else 0)
h = x
for i, name in enumerate(layers):
    h = h @ tensors[f"{name}.weight"] + tensors[f"{name}.bias"]
    if i + 1 < len(layers):
        h = np.maximum(h, 0)
predictions = h.argmax(1)
print(f"Test Accuracy: {(predictions == y).mean():.4f}")
if len(sys.argv) > 3:
    with open(sys.argv[3], "w") as f:
        f.writelines(f"{p}\n" for p in predictions)
