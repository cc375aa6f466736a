"""Rung F (LADDER.md section F) in TensorFlow itself, as a cross-check.

The tutorial's CNN written the way the TensorFlow 1 tutorial wrote it (graph
mode through tf.compat.v1: placeholders, tf.nn.conv2d, AdamOptimizer), with
LADDER.md's settings: conv 5x5x32 SAME, ReLU, max-pool 2; conv 5x5x64 SAME,
ReLU, max-pool 2; dense 1024, ReLU; dropout keep 0.5; dense 10. Conv weights
truncated N(0, 0.1), conv biases 0.1; dense-1024 weights truncated N(0, 1),
bias 0.1; output weights and bias 0. Adam 1e-4, batch 50, 55,000 training
images (TensorFlow's split: the first 5,000 are validation), 10,000 steps,
test accuracy every 500 steps.

It shares no code with this project, so it tells whether a figure of rung F
belongs to the settings or to our code. Usage (needs tensorflow-cpu):

    python docs/reference/rung_f_tensorflow.py data/mnist SEED [STEPS] [--tutorial-init]

`--tutorial-init` uses "Deep MNIST for Experts"' initialisers instead:
truncated N(0, 0.1) for every weight and 0.1 for every bias. The last line
printed is a JSON record of the run.
"""

import gzip
import json
import os
import sys
import time

import numpy as np
import tensorflow as tf


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def load(folder, stem):
    images = read_idx(os.path.join(folder, f"{stem}-images-idx3-ubyte.gz"))
    labels = read_idx(os.path.join(folder, f"{stem}-labels-idx1-ubyte.gz"))
    x = images.reshape(len(images), 28, 28, 1).astype(np.float32) / 255.0
    return x, labels.astype(np.int64)


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    tutorial_init = "--tutorial-init" in sys.argv
    folder, seed = args[0], int(args[1])
    steps = int(args[2]) if len(args) > 2 else 10_000
    train_x, train_y = load(folder, "train")
    train_x, train_y = train_x[5000:], train_y[5000:]
    test_x, test_y = load(folder, "t10k")

    tf.compat.v1.disable_eager_execution()
    tf.compat.v1.set_random_seed(seed)
    rng = np.random.default_rng(seed)

    def weight(shape, std):
        return tf.Variable(tf.random.truncated_normal(shape, stddev=std))

    def const(shape, value):
        return tf.Variable(tf.constant(value, shape=shape))

    x = tf.compat.v1.placeholder(tf.float32, [None, 28, 28, 1])
    y = tf.compat.v1.placeholder(tf.int64, [None])
    keep_prob = tf.compat.v1.placeholder(tf.float32)

    conv = lambda a, w: tf.nn.conv2d(a, w, strides=[1, 1, 1, 1], padding="SAME")
    pool = lambda a: tf.nn.max_pool2d(a, ksize=2, strides=2, padding="SAME")
    h1 = pool(tf.nn.relu(conv(x, weight([5, 5, 1, 32], 0.1)) + const([32], 0.1)))
    h2 = pool(tf.nn.relu(conv(h1, weight([5, 5, 32, 64], 0.1)) + const([64], 0.1)))
    flat = tf.reshape(h2, [-1, 7 * 7 * 64])
    fc1_std = 0.1 if tutorial_init else 1.0
    fc1 = tf.nn.relu(flat @ weight([3136, 1024], fc1_std) + const([1024], 0.1))
    drop = tf.nn.dropout(fc1, rate=1.0 - keep_prob)
    if tutorial_init:
        w2, b2 = weight([1024, 10], 0.1), const([10], 0.1)
    else:
        w2, b2 = const([1024, 10], 0.0), const([10], 0.0)
    logits = drop @ w2 + b2

    loss = tf.reduce_mean(
        tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits)
    )
    train_step = tf.compat.v1.train.AdamOptimizer(1e-4).minimize(loss)
    correct = tf.reduce_sum(tf.cast(tf.equal(tf.argmax(logits, 1), y), tf.int32))

    config = tf.compat.v1.ConfigProto(
        intra_op_parallelism_threads=2, inter_op_parallelism_threads=1
    )
    records = []
    start = time.time()
    with tf.compat.v1.Session(config=config) as sess:
        sess.run(tf.compat.v1.global_variables_initializer())
        order, at = rng.permutation(len(train_x)), 0
        for step in range(1, steps + 1):
            if at + 50 > len(order):
                order, at = rng.permutation(len(train_x)), 0
            batch = order[at : at + 50]
            at += 50
            cost, _ = sess.run(
                [loss, train_step],
                {x: train_x[batch], y: train_y[batch], keep_prob: 0.5},
            )
            if step % 500 == 0:
                right = sum(
                    sess.run(correct, {x: test_x[i : i + 1000], y: test_y[i : i + 1000], keep_prob: 1.0})
                    for i in range(0, len(test_x), 1000)
                )
                accuracy = right / len(test_x)
                records.append({"step": step, "cost": float(cost), "test": accuracy})
                print(f"Step: {step}, Loss: {cost:.4f}, Accuracy: {accuracy:.4f}", flush=True)
    seconds = time.time() - start
    print(json.dumps({
        "tensorflow": tf.__version__, "seed": seed, "steps": steps,
        "init": "tutorial" if tutorial_init else "ladder",
        "test": records[-1]["test"], "seconds": round(seconds, 1), "records": records,
    }))


if __name__ == "__main__":
    main()
