//! A model saved by `mnist train` read by another implementation: Python's
//! `safetensors` package and a NumPy forward pass (docs/load_mlp.py) give
//! the same prediction as `mnist eval` for every test image.
//!
//! Needs `data/mnist` and python3 with numpy and safetensors; skips with a
//! reason without them, unless MNIST_REQUIRE_PYTHON is set (CI installs
//! them and sets it), where it fails instead.

use std::path::Path;
use std::process::Command;

mod common;

/// Python with numpy and safetensors.
fn python_packages() -> Result<(), String> {
    let python = Command::new("python3")
        .args(["-c", "import numpy, safetensors"])
        .output()
        .map_err(|e| format!("python3 cannot run: {e}"))?;
    if !python.status.success() {
        return Err(format!(
            "python3 lacks numpy or safetensors: {}",
            String::from_utf8_lossy(&python.stderr).trim()
        ));
    }
    Ok(())
}

#[test]
fn numpy_predicts_every_test_image_as_mnist_eval_does() {
    let Some(()) = common::prerequisite("MNIST_REQUIRE_PYTHON", python_packages()) else {
        return;
    };
    let Some(data) = common::real_data() else { return };
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("m.safetensors");
    let ours = dir.path().join("ours.txt");
    let theirs = dir.path().join("numpy.txt");
    let run = |c: &mut Command| {
        let out = c.output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    let mnist = || Command::new(env!("CARGO_BIN_EXE_mnist"));
    run(mnist()
        .args([
            "train",
            "--hidden",
            "256,128",
            "--init",
            "he",
            "--optimizer",
            "adam",
            "--lr",
            "0.001",
        ])
        .args(["--epochs", "1", "--quiet", "--data-dir"])
        .arg(&data)
        .arg("--save")
        .arg(&model));
    let eval = run(mnist()
        .args(["eval", "--data-dir"])
        .arg(&data)
        .arg("--model")
        .arg(&model)
        .arg("--predictions")
        .arg(&ours));
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/load_mlp.py");
    let numpy = run(Command::new("python3").arg(script).arg(&model).arg(&data).arg(&theirs));
    let ours = std::fs::read_to_string(ours).unwrap();
    let theirs = std::fs::read_to_string(theirs).unwrap();
    assert_eq!(ours.lines().count(), 10_000);
    let differ = ours.lines().zip(theirs.lines()).filter(|(a, b)| a != b).count();
    assert_eq!(differ, 0, "{differ} of 10,000 predictions differ");
    let accuracy = |text: &str| {
        text.lines()
            .find(|l| l.starts_with("Test Accuracy"))
            .unwrap()
            .to_string()
    };
    assert_eq!(accuracy(&eval), accuracy(&numpy));
    let value: f64 = accuracy(&eval).rsplit(' ').next().unwrap().parse().unwrap();
    assert!(value > 0.95, "an epoch should reach 0.95: {eval}");
}
