//! The `mnist` binary on broken data: each case exits non-zero with an error
//! that says what is wrong, and never panics.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output};

use mnist_io::idx;

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

/// A small, valid stand-in for MNIST (not the real files: --no-verify).
fn fake_mnist(dir: &Path) {
    let n = 5_100;
    let pixels: Vec<u8> = (0..n * 784).map(|i| (i % 251) as u8).collect();
    let labels: Vec<u8> = (0..n).map(|i| (i % 10) as u8).collect();
    let files: [(&str, Vec<u8>); 4] = [
        ("train-images-idx3-ubyte.gz", gzip(&idx::encode(&[n, 28, 28], &pixels))),
        ("train-labels-idx1-ubyte.gz", gzip(&idx::encode(&[n], &labels))),
        (
            "t10k-images-idx3-ubyte",
            idx::encode(&[20, 28, 28], &pixels[..20 * 784]),
        ),
        ("t10k-labels-idx1-ubyte", idx::encode(&[20], &labels[..20])),
    ];
    for (name, bytes) in files {
        std::fs::write(dir.join(name), bytes).unwrap();
    }
}

fn mnist(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mnist")).args(args).output().unwrap()
}

fn train_on(dir: &Path) -> Output {
    mnist(&[
        "train",
        "--data-dir",
        dir.to_str().unwrap(),
        "--no-verify",
        "--model",
        "softmax",
        "--epochs",
        "1",
    ])
}

/// Breaks one file of a valid set, runs `train` and `inspect`, and checks
/// the failure and its message.
fn assert_fails(file: &str, bytes: Vec<u8>, expected: &str) {
    let dir = tempfile::tempdir().unwrap();
    fake_mnist(dir.path());
    let path = dir.path().join(file);
    std::fs::write(&path, bytes).unwrap();
    for out in [train_on(dir.path()), mnist(&["inspect", path.to_str().unwrap()])] {
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{file}: {stderr}");
        assert!(!stderr.contains("panicked"), "{file}: {stderr}");
        assert!(stderr.contains("error: ") && stderr.contains(file), "{file}: {stderr}");
        assert!(stderr.contains(expected), "{file}: expected {expected:?} in {stderr}");
    }
}

#[test]
fn the_fake_set_itself_trains() {
    let dir = tempfile::tempdir().unwrap();
    fake_mnist(dir.path());
    let out = train_on(dir.path());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        stdout.contains("Epoch: 0001 cost = ") && stdout.contains("Learning Finished!"),
        "{stdout}"
    );
}

#[test]
fn empty_file() {
    assert_fails("t10k-labels-idx1-ubyte", vec![], "the file is empty");
}

#[test]
fn truncated_file() {
    let mut bytes = idx::encode(&[20, 28, 28], &[0; 20 * 784]);
    bytes.truncate(5000);
    assert_fails("t10k-images-idx3-ubyte", bytes, "truncated at byte 5000");
}

#[test]
fn bad_magic() {
    assert_fails(
        "t10k-images-idx3-ubyte",
        idx::encode(&[20], &[1; 20]),
        "bad magic number",
    );
}

#[test]
fn corrupted_gzip() {
    let mut gz = gzip(&idx::encode(&[5_100], &[3; 5_100]));
    let at = gz.len() - 6;
    gz[at] ^= 0xff; // inside the CRC-32 / length trailer
    assert_fails("train-labels-idx1-ubyte.gz", gz, "corrupt gzip");
}

#[test]
fn count_mismatch() {
    let dir = tempfile::tempdir().unwrap();
    fake_mnist(dir.path());
    std::fs::write(dir.path().join("t10k-labels-idx1-ubyte"), idx::encode(&[19], &[1; 19])).unwrap();
    let out = train_on(dir.path());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr.contains("holds 20 images but") && stderr.contains("holds 19 labels"),
        "{stderr}"
    );
}

#[test]
fn label_eleven() {
    let mut labels = vec![0u8; 20];
    labels[7] = 11;
    assert_fails(
        "t10k-labels-idx1-ubyte",
        idx::encode(&[20], &labels),
        "label 7 at offset 15 is 11",
    );
}

#[test]
fn missing_data_says_how_to_get_it() {
    let dir = tempfile::tempdir().unwrap();
    let out = mnist(&["train", "--data-dir", dir.path().to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr.contains("cargo xtask fetch-data"), "{stderr}");
}

#[test]
fn fake_data_is_refused_without_no_verify() {
    let dir = tempfile::tempdir().unwrap();
    fake_mnist(dir.path());
    let out = mnist(&["train", "--data-dir", dir.path().to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr.contains("not the real MNIST"), "{stderr}");
}

#[test]
fn bad_flags_are_refused() {
    for args in [
        &["train", "--lr", "-1"][..],
        &["train", "--batch-size", "0"],
        &["train", "--hidden", "256,0"],
    ] {
        let out = mnist(args);
        assert_ne!(out.status.code(), Some(0), "{args:?}");
        assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"));
    }
}

/// A network too big for the machine (a typo of a few zeros) is counted by
/// `summary` without allocating it, and refused by `train` with the figures,
/// before anything is allocated: not an abort in the allocator.
#[test]
fn a_network_too_big_is_counted_and_refused_not_allocated() {
    let out = mnist(&["summary", "--arch", "dense(1000000000) dense(10)"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("Total params: 795,000,000,010"), "{stdout}");
    let out = mnist(&["train", "--arch", "dense(100000000) dense(10)", "--steps", "1"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    // 636 GB of parameters and gradients, and 80 GB of activations (10^8
    // outputs with their gradients, for each of the 100 examples of a batch).
    assert!(
        stderr.contains(
            "79,500,000,010 parameters: with their gradients and a batch's activations they need 716.0 GB, more than the"
        ),
        "{stderr}"
    );
    // Adam's two moments double the parameters' share.
    let out = mnist(&[
        "train",
        "--arch",
        "dense(100000000) dense(10)",
        "--steps",
        "1",
        "--optimizer",
        "adam",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("with their gradients, the optimiser's state and a batch's activations they need 1.4 TB"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("panicked") && !stderr.contains("memory allocation"),
        "{stderr}"
    );
}

/// A diverging run (the tutorial's A1: too large a step) says so, with the
/// step and a hint, and trains on to its end; with --stop-on-divergence it
/// stops after that epoch with an error.
#[test]
fn divergence_is_said_plainly() {
    let dir = tempfile::tempdir().unwrap();
    fake_mnist(dir.path());
    let d = dir.path().to_str().unwrap();
    let run = |extra: &[&str]| {
        let mut args = vec!["train", "--data-dir", d, "--no-verify", "--quiet", "--hidden", "32,32"];
        args.extend_from_slice(&["--lr", "1e30", "--epochs", "3"]);
        args.extend_from_slice(extra);
        mnist(&args)
    };
    let out = run(&[]);
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("warning: the cost became NaN or infinite at step "),
        "{stderr}"
    );
    assert!(stderr.contains("try a lower learning rate"), "{stderr}");
    assert_eq!(stdout.matches("Epoch: ").count(), 3, "{stdout}");
    let out = run(&["--stop-on-divergence"]);
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("training stopped (--stop-on-divergence): the cost became NaN"),
        "{stderr}"
    );
    // Stopped after the epoch the message names, before the third.
    let epoch: usize = stderr
        .split("(epoch ")
        .nth(1)
        .and_then(|t| t.split(')').next())
        .unwrap()
        .parse()
        .unwrap();
    assert!(epoch < 3, "{stderr}");
    assert_eq!(stdout.matches("Epoch: ").count(), epoch, "{stdout}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

/// Every optimiser, initialiser and kind of dropout runs end to end (on the
/// small stand-in set) and prints a finite cost.
#[test]
fn every_optimizer_initializer_and_dropout_runs() {
    let dir = tempfile::tempdir().unwrap();
    fake_mnist(dir.path());
    let d = dir.path().to_str().unwrap();
    let runs: Vec<Vec<&str>> = [
        "sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw", "adadelta",
    ]
    .iter()
    .map(|o| vec!["--optimizer", o])
    .chain(
        [
            "normal",
            "truncated-normal",
            "zeros",
            "xavier",
            "xavier-normal",
            "he",
            "he-normal",
            "he-uniform",
            "lecun",
        ]
        .iter()
        .map(|i| vec!["--init", i, "--bias-init", "zeros"]),
    )
    .chain([
        vec!["--dropout", "0.3"],
        vec!["--dropout", "0.5", "--dropout-kind", "scaled-at-test"],
    ])
    .chain(
        ["step:1:0.5", "exp:0.9", "cosine", "warmup:2"]
            .iter()
            .map(|s| vec!["--schedule", s]),
    )
    .chain([vec!["--batch-norm"], vec!["--weight-decay", "0.001"]])
    .chain([
        vec![
            "--optimizer",
            "adam",
            "--adam-correction",
            "moments",
            "--adam-epsilon",
            "1e-7",
        ],
        vec!["--augment", "rotate=10,shift=2,elastic=34:4,contrast=0.2,invert=0.1"],
    ])
    .collect();
    for extra in runs {
        let mut args = vec![
            "train",
            "--data-dir",
            d,
            "--no-verify",
            "--hidden",
            "32",
            "--epochs",
            "1",
            "--init-std",
            "0.1",
        ];
        args.extend(&extra);
        let out = mnist(&args);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{extra:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let cost: f64 = stdout
            .lines()
            .find_map(|l| l.strip_prefix("Epoch: 0001 cost = "))
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap()
            .parse()
            .unwrap();
        assert!(cost.is_finite(), "{extra:?}: cost {cost}");
    }
}

/// `--steps` trains on batches drawn with replacement (or walking shuffled
/// epochs) and reports every `--report-every` steps, by default an epoch's
/// worth (5,100 images / 100 = 51).
#[test]
fn steps_report_like_the_tutorials() {
    let dir = tempfile::tempdir().unwrap();
    fake_mnist(dir.path());
    let d = dir.path().to_str().unwrap();
    let common = [
        "train",
        "--data-dir",
        d,
        "--no-verify",
        "--split",
        "full",
        "--hidden",
        "16",
        "--optimizer",
        "adam",
    ];
    for (extra, reports) in [
        (&["--steps", "120", "--with-replacement", "--report-train"][..], 3),
        (&["--steps", "120", "--report-every", "40"][..], 3),
    ] {
        let out = mnist(&[&common[..], extra].concat());
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let steps: Vec<&str> = stdout.lines().filter(|l| l.starts_with("Step: ")).collect();
        assert_eq!(steps.len(), reports, "{stdout}");
        assert!(
            steps[reports - 1].starts_with("Step: 120, Loss: ") && steps[0].contains(", Accuracy: "),
            "{stdout}"
        );
        let train = extra.contains(&"--report-train");
        assert_eq!(steps[0].contains("Train accuracy: "), train, "{stdout}");
        assert_eq!(stdout.contains("Train Accuracy:"), train, "{stdout}");
    }
    // A figure not measured is left out of the line, not printed as NaN.
    let out = mnist(
        &[
            &common[..],
            &["--steps", "80", "--report-every", "40", "--report-test", "false"],
        ]
        .concat(),
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let steps: Vec<&str> = stdout.lines().filter(|l| l.starts_with("Step: ")).collect();
    assert_eq!(steps.len(), 2, "{stdout}");
    assert!(
        steps.iter().all(|l| !l.contains("Accuracy") && !l.contains("NaN")),
        "{stdout}"
    );
}

/// The tutorial's CNN on the stand-in set, by steps.
#[test]
fn cnn_trains_by_steps() {
    let dir = tempfile::tempdir().unwrap();
    fake_mnist(dir.path());
    let out = mnist(&[
        "train",
        "--data-dir",
        dir.path().to_str().unwrap(),
        "--no-verify",
        "--model",
        "cnn",
        "--optimizer",
        "adam",
        "--lr",
        "1e-4",
        "--batch-size",
        "50",
        "--steps",
        "4",
        "--report-every",
        "4",
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        stdout.contains("Step: 4, Loss: ") && stdout.contains("Label: ["),
        "{stdout}"
    );
}

/// `mnist summary` counts the Keras chapter's network as Keras does.
#[test]
fn summary_of_the_keras_network() {
    let out = mnist(&["summary", "--hidden", "512,512,512,512", "--dropout", "0.3"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        stdout.contains("Total params: 1,195,018") && stdout.contains("dropout_3 (Dropout)"),
        "{stdout}"
    );
    let cnn = mnist(&["summary", "--model", "cnn"]);
    assert!(String::from_utf8_lossy(&cnn.stdout).contains("Total params: 3,274,634"));
    // Batch norm over 32 and 64 channels and 1024 features: 2 x 1120 trained, 2 x 1120 not.
    let cnn_bn = mnist(&["summary", "--model", "cnn", "--batch-norm"]);
    let stdout = String::from_utf8_lossy(&cnn_bn.stdout);
    assert!(
        stdout.contains("Trainable params: 3,276,874") && stdout.contains("Non-trainable params: 2,240"),
        "{stdout}"
    );
    // The same two networks as --arch text.
    let keras = "dense(512) relu dropout(0.3) dense(512) relu dropout(0.3) dense(512) relu dropout(0.3) dense(512) relu dropout(0.3) dense(10)";
    let out = mnist(&["summary", "--arch", keras]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("Total params: 1,195,018"));
    let tutorial_cnn = "conv2d(32,5,same) relu maxpool(2) conv2d(64,5,same) relu maxpool(2) flatten dense(1024) relu dropout(0.5) dense(10)";
    let out = mnist(&["summary", "--arch", tutorial_cnn]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("Total params: 3,274,634") && stdout.contains("max_pooling2d_1 (MaxPooling2D)"),
        "{stdout}"
    );
    // A spec that makes no model is an error that says why, not a panic.
    let out = mnist(&["summary", "--arch", "conv2d(32,5) dense(10)"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && stderr.contains("flatten first"), "{stderr}");
    let bn = mnist(&["summary", "--hidden", "50,100", "--batch-norm"]);
    let stdout = String::from_utf8_lossy(&bn.stdout);
    // Batch norm: gamma and beta trained, running mean and variance not.
    assert!(
        stdout.contains("Trainable params: 45,660") && stdout.contains("Non-trainable params: 300"),
        "{stdout}"
    );
}
