//! Short versions of the ladder's rungs A0 and A2 on the real MNIST, through
//! the `mnist` binary. They need `data/mnist`; without it they skip with a
//! reason, unless `MNIST_REQUIRE_DATA` is set (CI), where they fail.
//!
//! The bounds are what these short runs reach over seeds 1 to 5 (A0 after two
//! epochs: 0.807 to 0.819; A2 after one: 0.886 to 0.891; the CNN after 100
//! steps, seeds 1 and 2: 0.910 and 0.880), widened by a few points: a wrong
//! gradient, a wrong split or shuffled labels fall far outside them, and a
//! softmax regression cannot reach the upper bound.

use std::path::{Path, PathBuf};
use std::process::Command;

fn data_dir() -> Option<PathBuf> {
    mnist_io::data_dir_for_tests(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/mnist"))
}

struct Run {
    costs: Vec<f64>,
    train: f64,
    test: f64,
}

fn train(dir: &Path, args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_mnist"))
        .args(["train", "--data-dir", dir.to_str().unwrap()])
        .args(args)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let value = |prefix: &str| -> f64 {
        let line = stdout
            .lines()
            .find(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("{stdout}"));
        line[prefix.len()..].trim().parse().unwrap()
    };
    let costs = stdout
        .lines()
        .filter_map(|l| l.strip_prefix("Epoch: "))
        .map(|l| {
            let cost = l.split("cost = ").nth(1).unwrap();
            cost.split_whitespace().next().unwrap().parse().unwrap()
        })
        .collect();
    assert!(
        stdout.contains("Learning Finished!") && stdout.contains("Label: ["),
        "{stdout}"
    );
    Run {
        costs,
        train: value("Train Accuracy:"),
        test: value("Test Accuracy:"),
    }
}

#[test]
fn a0_softmax_regression_learns() {
    let Some(dir) = data_dir() else { return };
    let run = train(
        &dir,
        &["--model", "softmax", "--lr", "0.1", "--epochs", "2", "--seed", "1"],
    );
    assert_eq!(run.costs.len(), 2);
    assert!(run.costs[1] < run.costs[0], "{:?}", run.costs);
    assert!((0.77..0.90).contains(&run.test), "test accuracy {}", run.test);
    assert!((0.77..0.90).contains(&run.train), "train accuracy {}", run.train);
}

#[test]
fn a2_relu_network_learns_with_a_small_rate() {
    let Some(dir) = data_dir() else { return };
    let run = train(
        &dir,
        &[
            "--model", "mlp", "--hidden", "256,256", "--lr", "0.01", "--epochs", "1", "--seed", "2",
        ],
    );
    assert!((0.85..0.95).contains(&run.test), "test accuracy {}", run.test);
}

/// Rung F, shortened: the tutorial's CNN, 100 steps of batch 50 with Adam 1e-4.
#[test]
fn f_cnn_learns_in_a_hundred_steps() {
    let Some(dir) = data_dir() else { return };
    let out = Command::new(env!("CARGO_BIN_EXE_mnist"))
        .args([
            "train",
            "--data-dir",
            dir.to_str().unwrap(),
            "--model",
            "cnn",
            "--optimizer",
            "adam",
        ])
        .args([
            "--lr",
            "1e-4",
            "--batch-size",
            "50",
            "--steps",
            "100",
            "--report-every",
            "100",
            "--seed",
            "1",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let line = stdout
        .lines()
        .find(|l| l.starts_with("Step: 100, Loss: "))
        .unwrap_or_else(|| panic!("{stdout}"));
    let accuracy: f64 = line.rsplit("Accuracy: ").next().unwrap().trim().parse().unwrap();
    assert!((0.84..0.97).contains(&accuracy), "test accuracy {accuracy}");
}
