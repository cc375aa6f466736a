//! `mnist train --save` and `mnist eval`: a saved model evaluates exactly as
//! it was trained, and broken or foreign files are clear errors.

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Output};

use mnist_io::idx;
use safetensors::SafeTensors;

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

/// A small stand-in for MNIST whose test set is learnable (label = which
/// quarter of the image holds the ink).
fn fake_mnist(dir: &Path) {
    let make = |n: usize| {
        let mut pixels = vec![0u8; n * 784];
        let labels: Vec<u8> = (0..n).map(|i| (i % 4) as u8).collect();
        for (i, &l) in labels.iter().enumerate() {
            let (y0, x0) = ((l as usize / 2) * 14, (l as usize % 2) * 14);
            for y in y0..y0 + 14 {
                for x in x0..x0 + 14 {
                    pixels[i * 784 + y * 28 + x] = ((i * 31 + y * 7 + x) % 200 + 55) as u8;
                }
            }
        }
        (pixels, labels)
    };
    let (tp, tl) = make(6000);
    let (sp, sl) = make(200);
    std::fs::write(
        dir.join("train-images-idx3-ubyte.gz"),
        gzip(&idx::encode(&[6000, 28, 28], &tp)),
    )
    .unwrap();
    std::fs::write(dir.join("train-labels-idx1-ubyte.gz"), gzip(&idx::encode(&[6000], &tl))).unwrap();
    std::fs::write(dir.join("t10k-images-idx3-ubyte"), idx::encode(&[200, 28, 28], &sp)).unwrap();
    std::fs::write(dir.join("t10k-labels-idx1-ubyte"), idx::encode(&[200], &sl)).unwrap();
}

fn mnist(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mnist")).args(args).output().unwrap()
}

fn line<'a>(text: &'a str, prefix: &str) -> &'a str {
    text.lines()
        .find(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("no {prefix:?} in {text}"))
}

#[test]
fn saved_models_evaluate_as_trained_and_bad_files_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    fake_mnist(dir.path());
    let d = dir.path().to_str().unwrap();
    let file = dir.path().join("model.safetensors");
    let f = file.to_str().unwrap();
    for extra in [
        &["--hidden", "32"][..],
        &["--hidden", "32", "--batch-norm"],
        &["--model", "cnn", "--batch-size", "50"],
    ] {
        let mut args = vec![
            "train",
            "--data-dir",
            d,
            "--no-verify",
            "--optimizer",
            "adam",
            "--lr",
            "0.001",
        ];
        args.extend_from_slice(&["--epochs", "1", "--init", "he", "--save", f]);
        args.extend_from_slice(extra);
        let trained = mnist(&args);
        let stdout = String::from_utf8_lossy(&trained.stdout);
        assert!(trained.status.success(), "{}", String::from_utf8_lossy(&trained.stderr));
        let evaluated = mnist(&["eval", "--model", f, "--data-dir", d, "--no-verify"]);
        let eval_out = String::from_utf8_lossy(&evaluated.stdout);
        assert!(
            evaluated.status.success(),
            "{}",
            String::from_utf8_lossy(&evaluated.stderr)
        );
        assert_eq!(
            line(&stdout, "Test Accuracy:"),
            line(&eval_out, "Test Accuracy:"),
            "{extra:?}"
        );
        assert!(eval_out.contains("Confusion matrix"), "{eval_out}");
    }

    // `predict` draws the image, prints ten probabilities that sum to 1, and
    // the tutorial's line; a test index out of range is an error.
    let out = mnist(&["predict", "--model", f, "--index", "5", "--data-dir", d, "--no-verify"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let probs: Vec<f64> = (0..10)
        .map(|digit| line(&stdout, &format!("  {digit}  "))[5..11].trim().parse().unwrap())
        .collect();
    assert!((probs.iter().sum::<f64>() - 1.0).abs() < 1e-3, "{stdout}");
    assert!(
        line(&stdout, "Label: [").starts_with("Label: [1] Prediction: ["),
        "{stdout}"
    );
    let out = mnist(&[
        "predict",
        "--model",
        f,
        "--index",
        "200",
        "--data-dir",
        d,
        "--no-verify",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("past the 200 test images"));

    // The last model saved is the CNN: its hidden dense layer has 1,024 biases.
    let bytes = std::fs::read(&file).unwrap();
    // Truncated.
    let cut = dir.path().join("cut.safetensors");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    // A tensor missing (the same metadata, one tensor fewer).
    let st = SafeTensors::deserialize(&bytes).unwrap();
    let (_, header) = SafeTensors::read_metadata(&bytes).unwrap();
    let kept: Vec<_> = st
        .tensors()
        .into_iter()
        .filter(|(name, _)| name != "dense.bias")
        .collect();
    let missing = dir.path().join("missing.safetensors");
    std::fs::write(
        &missing,
        safetensors::serialize(kept, header.metadata().clone()).unwrap(),
    )
    .unwrap();
    // Not ours: a valid safetensors file without our metadata.
    let foreign = dir.path().join("foreign.safetensors");
    let st2 = SafeTensors::deserialize(&bytes).unwrap();
    std::fs::write(
        &foreign,
        safetensors::serialize(st2.tensors(), Some(HashMap::new())).unwrap(),
    )
    .unwrap();
    // Our metadata with an impossible architecture (dropout of 2).
    let crafted = dir.path().join("crafted.safetensors");
    let mut meta = header.metadata().clone().unwrap();
    let arch = meta["architecture"].replace("\"dropout\":0.0", "\"dropout\":2.0");
    assert_ne!(arch, meta["architecture"], "the architecture JSON changed shape");
    meta.insert("architecture".into(), arch);
    let st3 = SafeTensors::deserialize(&bytes).unwrap();
    std::fs::write(&crafted, safetensors::serialize(st3.tensors(), Some(meta)).unwrap()).unwrap();
    for (path, expected) in [
        (crafted.as_path(), "invalid architecture"),
        (cut.as_path(), "not a safetensors file"),
        (missing.as_path(), "missing tensor dense.bias [1024]"),
        (foreign.as_path(), "not a model of this project"),
        (dir.path().join("absent.safetensors").as_path(), "No such file"),
        (
            dir.path().join("train-labels-idx1-ubyte.gz").as_path(),
            "not a safetensors file",
        ),
    ] {
        let out = mnist(&[
            "eval",
            "--model",
            path.to_str().unwrap(),
            "--data-dir",
            d,
            "--no-verify",
        ]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(
            stderr.contains(expected) && !stderr.contains("panicked"),
            "{path:?}: {stderr}"
        );
    }
}

/// `kill -9` while `mnist train --save` writes never leaves a broken file
/// at the target: the test watches for the partial file and kills the
/// process the moment it appears, mid-write, then reads what is at the
/// target: the previous model, whole, or the new one, whole.
#[test]
fn kill_9_during_a_save_leaves_a_whole_model() {
    let dir = tempfile::tempdir().unwrap();
    fake_mnist(dir.path());
    let d = dir.path().to_str().unwrap();
    let target = dir.path().join("big.safetensors");
    let partial = dir.path().join(".big.safetensors.partial");
    // 4.8 MB of weights: the write and its sync take milliseconds.
    let command = |seed: &str| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_mnist"));
        c.args(["train", "--data-dir", d, "--no-verify", "--hidden", "512,512,512,512"])
            .args(["--epochs", "0", "--quiet", "--seed", seed, "--save"])
            .arg(&target)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        c
    };
    assert!(command("1").status().unwrap().success());
    let first = std::fs::read(&target).unwrap();
    let whole = |bytes: &[u8]| SafeTensors::deserialize(bytes).map(|t| t.names().len()).unwrap_or(0) == 10;
    assert!(whole(&first));

    let mut interrupted = 0;
    for seed in 2..8 {
        let mut child = command(&seed.to_string()).spawn().unwrap();
        let started = std::time::Instant::now();
        while !partial.exists() && started.elapsed() < std::time::Duration::from_secs(60) {
            if child.try_wait().unwrap().is_some() {
                break;
            }
            std::hint::spin_loop();
        }
        child.kill().ok(); // SIGKILL
        child.wait().unwrap();
        interrupted += usize::from(partial.exists());
        let after = std::fs::read(&target).unwrap();
        assert!(whole(&after), "seed {seed}: the model at the target is broken");
    }
    eprintln!("{interrupted} of 6 kills landed while the partial file was being written");
    assert!(
        interrupted > 0,
        "no kill landed during a write: the test tested nothing"
    );
    // A later save goes through despite the partial file left behind.
    assert!(command("9").status().unwrap().success());
    assert!(whole(&std::fs::read(&target).unwrap()) && !partial.exists());
}
