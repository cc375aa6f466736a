"""The fast recipe (`mnist train --recipe fast`, rung G, issue 19) in PyTorch.

The same run written plainly in PyTorch, to time it beside ours and to check
that its accuracy belongs to the recipe, not to our code:

- the network: three 3x3 SAME convolutions of 12, 32 and 48 filters, each
  followed by 2x2 max-pooling (the last on 7x7 keeps the partial window,
  ceil_mode, as ours does, giving 4x4), batch norm (epsilon 1e-7, running
  statistics moving by 0.1 a step, our momentum 0.9) and ReLU; then flatten
  and dense 10. Glorot-uniform weights, zero biases (our defaults);
- Adam (beta1, beta2 as given, epsilon 1e-8) with our one-cycle schedule,
  `onecycle:0.2`: over T steps the rate at step t (from 0) is
  lr (t + 1) / R while t < R = round(0.2 T), then lr (T - t) / (T - R);
- TensorFlow's split (the first 5,000 training images are validation), a
  fresh permutation of the other 55,000 each epoch, batches of 128 (the
  last of an epoch is 88), 430 steps: one epoch;
- 2 threads and one interop thread, denormals flushed (as ours).

The batch order and the initial weights come from PyTorch's generator, so a
seed here is not the same run as ours with that seed: compare the spread of
several seeds. Usage (needs torch and numpy; a virtual environment outside
the repository):

    python docs/reference/fast_pytorch.py data/mnist SEED [--steps 430]
        [--report-every 430] [--lr 0.02] [--beta1 0.9] [--beta2 0.999]
        [--threads 2] [--channels-last]

Test accuracy (and validation accuracy) at every report. The last line
printed is a JSON record of the run: the accuracies, the seconds spent
loading, training and evaluating, and every report.
"""

import argparse
import gzip
import json
import os
import time

STARTED = time.perf_counter()

import numpy as np  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402

IMPORTED = time.perf_counter()


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def load(folder, stem):
    images = read_idx(os.path.join(folder, f"{stem}-images-idx3-ubyte.gz"))
    labels = read_idx(os.path.join(folder, f"{stem}-labels-idx1-ubyte.gz"))
    x = torch.from_numpy(images.reshape(len(images), 1, 28, 28).astype(np.float32) / 255.0)
    return x, torch.from_numpy(labels.astype(np.int64))


def network():
    def block(c_in, c_out, ceil):
        return [
            nn.Conv2d(c_in, c_out, 3, padding=1),
            nn.MaxPool2d(2, ceil_mode=ceil),
            nn.BatchNorm2d(c_out, eps=1e-7, momentum=0.1),
            nn.ReLU(),
        ]

    net = nn.Sequential(
        *block(1, 12, False),
        *block(12, 32, False),
        *block(32, 48, True),
        nn.Flatten(),
        nn.Linear(48 * 4 * 4, 10),
    )
    for m in net.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.init.xavier_uniform_(m.weight)
            nn.init.zeros_(m.bias)
    return net


def one_cycle(lr, step, total, warmup=0.2):
    rise = round(warmup * total)
    share = (step + 1) / rise if step < rise else (total - step) / (total - rise)
    return lr * min(max(share, 0.0), 1.0)


def accuracy(net, x, y, memory_format):
    net.eval()
    correct = 0
    with torch.no_grad():
        for start in range(0, len(x), 1000):
            xb = x[start : start + 1000].contiguous(memory_format=memory_format)
            correct += (net(xb).argmax(1) == y[start : start + 1000]).sum().item()
    net.train()
    return correct / len(x)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("data")
    p.add_argument("seed", type=int)
    p.add_argument("--steps", type=int, default=430)
    p.add_argument("--report-every", type=int, default=430)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=0.02)
    p.add_argument("--beta1", type=float, default=0.9)
    p.add_argument("--beta2", type=float, default=0.999)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--channels-last", action="store_true")
    args = p.parse_args()

    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)
    torch.set_flush_denormal(True)
    torch.manual_seed(args.seed)
    memory_format = torch.channels_last if args.channels_last else torch.contiguous_format

    load_start = time.perf_counter()
    train_x, train_y = load(args.data, "train")
    valid_x, valid_y = train_x[:5000], train_y[:5000]
    train_x, train_y = train_x[5000:].contiguous(), train_y[5000:].contiguous()
    test_x, test_y = load(args.data, "t10k")
    loading = time.perf_counter() - load_start

    net = network().to(memory_format=memory_format)
    opt = torch.optim.Adam(net.parameters(), lr=args.lr, betas=(args.beta1, args.beta2), eps=1e-8)
    loss_fn = nn.CrossEntropyLoss()

    fit_start = time.perf_counter()
    evaluating = 0.0
    records = []
    order = torch.randperm(len(train_x))
    cursor = 0
    for step in range(args.steps):
        if cursor >= len(order):
            order, cursor = torch.randperm(len(train_x)), 0
        idx = order[cursor : cursor + args.batch_size]
        cursor += args.batch_size
        xb = train_x[idx].contiguous(memory_format=memory_format)
        for group in opt.param_groups:
            group["lr"] = one_cycle(args.lr, step, args.steps)
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(net(xb), train_y[idx])
        loss.backward()
        opt.step()
        if (step + 1) % args.report_every == 0 or step + 1 == args.steps:
            eval_start = time.perf_counter()
            valid = accuracy(net, valid_x, valid_y, memory_format)
            test = accuracy(net, test_x, test_y, memory_format)
            evaluating += time.perf_counter() - eval_start
            seconds = time.perf_counter() - fit_start
            records.append(
                {"step": step + 1, "seconds": seconds, "evaluating": evaluating, "validation": valid, "test": test}
            )
            print(f"Step: {step + 1}, Loss: {loss.item():.6f} (validation {valid:.4f}, test {test:.4f}; {seconds:.2f} s)")
    training = time.perf_counter() - fit_start
    last = records[-1]
    print(f"Test Accuracy: {last['test']:.4f}")
    print(
        json.dumps(
            {
                "framework": "pytorch",
                "torch": torch.__version__,
                "seed": args.seed,
                "steps": args.steps,
                "threads": args.threads,
                "channels_last": args.channels_last,
                "test": last["test"],
                "validation": last["validation"],
                "importing_seconds": IMPORTED - STARTED,
                "loading_seconds": loading,
                "training_seconds": training,
                "evaluating_seconds": evaluating,
                "records": records,
            }
        )
    )


if __name__ == "__main__":
    main()
