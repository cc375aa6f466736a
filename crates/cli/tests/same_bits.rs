//! Whole training runs give the same bits on every kernel (`MNIST_KERNEL`
//! portable, avx2, avx512: one arithmetic for every instruction set) and on
//! one and two threads: the saved model files' tensors and every record of
//! the history are identical, not close.
//!
//! The runs train on a slice of the real MNIST (2,000 training and 500 test
//! images, written as IDX files here; `--split full`), so they take seconds even on the
//! portable kernel: a 200-step MLP with dropout, batch norm, Adam and
//! augmentation (rotation, elastic distortion: our own sin, cos and exp), a
//! 200-step sigmoid MLP (our own exp through the sigmoid and its
//! cross-entropy), and 30 steps of the tutorial's CNN. They need `data/mnist`
//! (skipped with a reason without it, unless `MNIST_REQUIRE_DATA` is set); a
//! kernel this CPU lacks is skipped with a reason, unless
//! `MNIST_REQUIRE_KERNELS` is set.

use std::path::{Path, PathBuf};
use std::process::Command;

use kernels::Isa;
use mnist_io::{Mnist, Split, Verify, idx};
use safetensors::SafeTensors;

fn data_dir() -> Option<PathBuf> {
    mnist_io::data_dir_for_tests(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/mnist"))
}

/// The first `train` training and `test` test images of the real MNIST,
/// written into `dir` as IDX files.
fn real_slice(from: &Path, dir: &Path, train: usize, test: usize) {
    let m = Mnist::load(from, Split::Full, Verify::Checksums).unwrap();
    let write = |name: &str, set: &mnist_io::Subset, n: usize| {
        let images: Vec<u8> = (0..n).flat_map(|i| set.image(i).to_vec()).collect();
        let labels = set.labels()[..n].to_vec();
        std::fs::write(
            dir.join(format!("{name}-images-idx3-ubyte")),
            idx::encode(&[n, 28, 28], &images),
        )
        .unwrap();
        std::fs::write(
            dir.join(format!("{name}-labels-idx1-ubyte")),
            idx::encode(&[n], &labels),
        )
        .unwrap();
    };
    write("train", &m.train, train);
    write("t10k", &m.test, test);
}

fn kernels_here() -> Vec<Isa> {
    Isa::ALL.into_iter().filter(|isa| isa.supported_or_skip()).collect()
}

/// What a run leaves: the model's tensors by name and the history's records.
#[derive(PartialEq, Debug)]
struct Outcome {
    tensors: Vec<(String, Vec<u8>)>,
    records: String,
}

fn train(data: &Path, settings: &str, isa: Isa, threads: usize, out: &Path) -> Outcome {
    let (model, history) = (out.join("model.safetensors"), out.join("history.json"));
    let run = Command::new(env!("CARGO_BIN_EXE_mnist"))
        .args(["train", "--no-verify", "--quiet", "--split", "full", "--data-dir"])
        .arg(data)
        .args(settings.split_whitespace())
        .arg("--save")
        .arg(&model)
        .arg("--history")
        .arg(&history)
        .env("MNIST_KERNEL", isa.name())
        .env("RAYON_NUM_THREADS", threads.to_string())
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let bytes = std::fs::read(&model).unwrap();
    let file = SafeTensors::deserialize(&bytes).unwrap();
    let mut tensors: Vec<_> = file
        .tensors()
        .into_iter()
        .map(|(name, t)| (name, t.data().to_vec()))
        .collect();
    tensors.sort();
    let history: serde_json::Value = serde_json::from_slice(&std::fs::read(&history).unwrap()).unwrap();
    let mut records = history["records"].clone();
    // Wall times (and the part of them spent evaluating) are the only
    // thing allowed to differ.
    for r in records.as_array_mut().unwrap() {
        let r = r.as_object_mut().unwrap();
        r.remove("seconds");
        r.remove("evaluating");
    }
    Outcome {
        tensors,
        records: records.to_string(),
    }
}

/// Runs `settings` on every kernel here and on 1 and 2 threads, and checks
/// that every run saves what the first one saved.
fn same_everywhere(settings: &str) {
    let Some(real) = data_dir() else { return };
    let dir = tempfile::tempdir().unwrap();
    real_slice(&real, dir.path(), 2000, 500);
    let mut first: Option<(String, Outcome)> = None;
    for isa in kernels_here() {
        for threads in [1, 2] {
            let out = dir.path().join(format!("{}-{threads}", isa.name()));
            std::fs::create_dir_all(&out).unwrap();
            let outcome = train(dir.path(), settings, isa, threads, &out);
            let name = format!("{} on {threads} thread(s)", isa.name());
            match &first {
                None => first = Some((name, outcome)),
                Some((first_name, want)) => {
                    assert!(
                        want.records == outcome.records,
                        "{settings}: {name}'s history differs from {first_name}'s"
                    );
                    assert!(
                        want.tensors == outcome.tensors,
                        "{settings}: {name}'s model differs from {first_name}'s"
                    );
                }
            }
        }
    }
}

#[test]
fn mlp_with_dropout_batch_norm_adam_and_augmentation() {
    same_everywhere(
        "--hidden 256,128 --dropout 0.3 --batch-norm --optimizer adam --lr 0.001 --augment rotate=10,shear=5,elastic=8:3 \
         --batch-size 100 --steps 200 --report-every 50 --seed 3",
    );
}

#[test]
fn sigmoid_mlp() {
    same_everywhere(
        "--hidden 64,10 --activation sigmoid --lr 0.5 --batch-size 50 --steps 200 --report-every 100 --seed 2",
    );
}

#[test]
fn tutorial_cnn() {
    same_everywhere("--model cnn --optimizer adam --lr 1e-4 --batch-size 50 --steps 30 --report-every 30 --seed 1");
}
