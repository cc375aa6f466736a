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
    // Not ours: a valid safetensors file without our metadata.
    let foreign = dir.path().join("foreign.safetensors");
    let st2 = SafeTensors::deserialize(&bytes).unwrap();
    std::fs::write(
        &foreign,
        safetensors::serialize(st2.tensors(), Some(HashMap::new())).unwrap(),
    )
    .unwrap();
    // Each kind of bad file is tested in the store crate
    // (crates/store/tests/files.rs); here, that `eval` reports them as
    // errors, without a panic.
    for (path, expected) in [
        (cut.as_path(), "not a safetensors file"),
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

/// The settings of the runs the resume tests compare: dropout, batch norm,
/// Adam, augmentation and batches walking shuffled epochs, so that every
/// piece of a run's state matters. 14 records of 25 steps (the last of 5);
/// an epoch of the 1,000 training images here is 20 steps.
fn resumable_run(d: &str, save: &Path, history: &Path, extra: &[&str]) -> Command {
    const SETTINGS: &str = "--hidden 256,256 --init he --dropout 0.3 --batch-norm --optimizer adam --lr 0.001 --augment rotate=10 --steps 330 --report-every 25 --batch-size 50";
    train_run(d, SETTINGS, save, history, extra)
}

/// `mnist train` on the fake data in `d` with `settings` (flags separated
/// by spaces) and `extra`,
/// seed 4, saving to `save` and the history to `history`.
fn train_run(d: &str, settings: &str, save: &Path, history: &Path, extra: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_mnist"));
    c.args(["train", "--data-dir", d, "--no-verify", "--seed", "4", "--quiet"])
        .args(settings.split_whitespace())
        .arg("--save")
        .arg(save)
        .arg("--history")
        .arg(history)
        .args(extra)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped());
    c
}

fn succeeds(c: &mut Command) {
    let out = c.output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

fn resume(checkpoint: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_mnist"));
    c.args(["train", "--no-verify", "--resume"]).arg(checkpoint);
    c
}

/// A model file's tensors, by name (the metadata aside).
fn tensors(path: &Path) -> Vec<(String, Vec<u8>)> {
    let bytes = std::fs::read(path).unwrap();
    let file = SafeTensors::deserialize(&bytes).unwrap();
    let mut all: Vec<_> = file
        .tensors()
        .into_iter()
        .map(|(name, t)| (name, t.data().to_vec()))
        .collect();
    all.sort();
    all
}

/// Each record's step, cost and test figures, from `--history` JSON.
fn records(path: &Path) -> Vec<(u64, String, String)> {
    let history: serde_json::Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    history["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["step"].as_u64().unwrap(),
                r["cost"].to_string(),
                r["test"].to_string(),
            )
        })
        .collect()
}

fn records_in_checkpoint(path: &Path) -> usize {
    let bytes = std::fs::read(path).unwrap();
    let (_, header) = SafeTensors::read_metadata(&bytes).unwrap();
    let progress: serde_json::Value = serde_json::from_str(&header.metadata().as_ref().unwrap()["progress"]).unwrap();
    progress["history"]["records"].as_array().unwrap().len()
}

/// `--resume` from a checkpoint taken mid-run (mid-epoch of the batch
/// order too) ends with the same model and the same records as the run
/// never interrupted, bit for bit; so does resuming after a `kill -9`.
#[test]
fn a_resumed_run_equals_the_uninterrupted_one_bit_for_bit() {
    let dir = tempfile::tempdir().unwrap();
    fake_mnist(dir.path());
    let d = dir.path().to_str().unwrap();
    let path = |name: &str| dir.path().join(name);

    let whole = path("whole.safetensors");
    succeeds(&mut resumable_run(d, &whole, &path("whole.json"), &[]));
    assert_eq!(records(&path("whole.json")).len(), 14);

    // Checkpoints after records 5 and 10 (steps 125 and 250, mid-epoch);
    // the run goes on to the end, then is resumed from record 10.
    let cut = path("cut.safetensors");
    let ckpt = path("cut.ckpt.safetensors");
    succeeds(&mut resumable_run(
        d,
        &cut,
        &path("cut.json"),
        &["--checkpoint-every", "5"],
    ));
    assert_eq!(records_in_checkpoint(&ckpt), 10);
    assert_eq!(tensors(&cut), tensors(&whole), "checkpoints change nothing");
    assert_ne!(
        tensors(&ckpt)
            .into_iter()
            .filter(|(n, _)| !n.starts_with("run."))
            .collect::<Vec<_>>(),
        tensors(&whole),
        "the checkpoint is not the end"
    );
    // A checkpoint is a model too: eval reads it.
    let eval = mnist(&[
        "eval",
        "--data-dir",
        d,
        "--no-verify",
        "--model",
        ckpt.to_str().unwrap(),
    ]);
    assert!(eval.status.success(), "{}", String::from_utf8_lossy(&eval.stderr));
    std::fs::remove_file(&cut).unwrap();
    std::fs::remove_file(path("cut.json")).unwrap();
    // The checkpoint's arguments name the --save and --history files.
    succeeds(resume(&ckpt).args(["--data-dir", d, "--quiet"]));
    assert!(tensors(&cut) == tensors(&whole), "the resumed model differs");
    assert_eq!(records(&path("cut.json")), records(&path("whole.json")));

    // kill -9 once the first checkpoint is there, then resume.
    let killed = path("killed.safetensors");
    let killed_ckpt = path("killed.ckpt.safetensors");
    let mut child = resumable_run(d, &killed, &path("killed.json"), &["--checkpoint-every", "1"])
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    while !killed_ckpt.exists() && started.elapsed() < std::time::Duration::from_secs(60) {
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    child.kill().ok();
    child.wait().unwrap();
    let at = records_in_checkpoint(&killed_ckpt);
    eprintln!("killed after record {at} of 14");
    succeeds(resume(&killed_ckpt).args(["--data-dir", d]));
    assert!(
        tensors(&killed) == tensors(&whole),
        "resumed after kill -9 from record {at}: the model differs"
    );
    assert_eq!(records(&path("killed.json")), records(&path("whole.json")));
}

/// With early stopping, a checkpoint keeps its place (the best record, the
/// records waited, the best model so far): the resumed run stops where the
/// whole run stops and keeps the same best model. Here plain descent at a
/// high rate has its best validation loss at record 1 and stops at record
/// 3; the checkpoint after record 2 must carry record 1's model.
#[test]
fn a_resumed_run_with_early_stopping_stops_and_keeps_the_same_model() {
    let dir = tempfile::tempdir().unwrap();
    fake_mnist(dir.path());
    let d = dir.path().to_str().unwrap();
    let path = |name: &str| dir.path().join(name);
    const SETTINGS: &str = "--hidden 64 --dropout 0.3 --optimizer sgd --lr 0.5 --steps 400 --report-every 20 --batch-size 50 --early-stopping 2";
    let run = |save: &Path, history: &Path, extra: &[&str]| succeeds(&mut train_run(d, SETTINGS, save, history, extra));
    let whole = path("whole.safetensors");
    run(&whole, &path("whole.json"), &[]);
    let whole_records = records(&path("whole.json"));
    assert_eq!(
        whole_records.len(),
        3,
        "the run stops after record 3: {whole_records:?}"
    );

    let cut = path("cut.safetensors");
    let ckpt = path("cut.ckpt.safetensors");
    run(&cut, &path("cut.json"), &["--checkpoint-every", "2"]);
    assert_eq!(records_in_checkpoint(&ckpt), 2);
    assert!(tensors(&cut) == tensors(&whole), "checkpoints change nothing");
    std::fs::remove_file(&cut).unwrap();
    std::fs::remove_file(path("cut.json")).unwrap();
    succeeds(resume(&ckpt).args(["--data-dir", d]));
    assert!(tensors(&cut) == tensors(&whole), "the resumed run keeps another model");
    assert_eq!(records(&path("cut.json")), whole_records);

    // The checkpoint of the record where the run stopped resumes as stopped:
    // no further training, the best model kept.
    let stopped = path("stopped.safetensors");
    let stopped_ckpt = path("stopped.ckpt.safetensors");
    run(&stopped, &path("stopped.json"), &["--checkpoint-every", "1"]);
    assert_eq!(records_in_checkpoint(&stopped_ckpt), 3);
    std::fs::remove_file(&stopped).unwrap();
    succeeds(resume(&stopped_ckpt).args(["--data-dir", d]));
    assert_eq!(records(&path("stopped.json")), whole_records, "the stopped run went on");
    assert!(tensors(&stopped) == tensors(&whole));
}

/// What --resume refuses, each a clear error.
#[test]
fn resume_errors_are_clear() {
    let dir = tempfile::tempdir().unwrap();
    fake_mnist(dir.path());
    let d = dir.path().to_str().unwrap();
    let model = dir.path().join("m.safetensors");
    let out = mnist(&[
        "train",
        "--data-dir",
        d,
        "--no-verify",
        "--epochs",
        "1",
        "--quiet",
        "--save",
        model.to_str().unwrap(),
        "--checkpoint-every",
        "1",
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let ckpt = dir.path().join("m.ckpt.safetensors");
    let garbage = dir.path().join("garbage.safetensors");
    std::fs::write(&garbage, b"not a checkpoint").unwrap();
    let cases: [(Vec<&str>, &str); 5] = [
        (
            vec!["--resume", ckpt.to_str().unwrap(), "--epochs", "3"],
            "drop --epochs",
        ),
        (
            vec!["--resume", model.to_str().unwrap()],
            "a model file, not a checkpoint",
        ),
        (vec!["--resume", garbage.to_str().unwrap()], "not a safetensors file"),
        (
            vec!["--resume", "/nonexistent/c.safetensors"],
            "/nonexistent/c.safetensors",
        ),
        (vec!["--checkpoint-every", "2"], "--save"),
    ];
    for (args, expected) in cases {
        let mut all = vec!["train", "--data-dir", d, "--no-verify"];
        all.extend(args.iter().copied());
        let out = mnist(&all);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success() && err.contains(expected), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
}
