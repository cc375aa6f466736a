//! TensorBoard event files: the bytes equal those of TensorBoard's own
//! writer, and TensorBoard's event reader lists the scalars of a run
//! written by `mnist train --logdir`. Needs Python with the `tensorboard`
//! package: skips with a reason without it, fails instead when
//! MNIST_REQUIRE_TENSORBOARD is set (as CI sets it, after installing it).

use std::process::Command;

use cli::tensorboard::{file_version_event, record, scalar_event};

mod common;

/// Runs a Python snippet; None (with the reason printed) when Python or
/// its tensorboard package is missing.
fn python(script: &str, args: &[&str]) -> Option<String> {
    let have = Command::new("python3")
        .args(["-c", "import tensorboard"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    let found = if have {
        Ok(())
    } else {
        Err("python3 cannot import tensorboard (pip install tensorboard)".to_string())
    };
    common::prerequisite("MNIST_REQUIRE_TENSORBOARD", found)?;
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    Some(String::from_utf8(out.stdout).unwrap())
}

#[test]
fn our_bytes_are_tensorboards_bytes() {
    let script = r#"
import io, sys
from tensorboard.compat.proto.event_pb2 import Event
from tensorboard.compat.proto.summary_pb2 import Summary
from tensorboard.summary.writer.record_writer import RecordWriter
buf = io.BytesIO()
w = RecordWriter(buf)
w.write(Event(wall_time=1.5, file_version="brain.Event:2").SerializeToString())
for step, tag, value in [(1, "batch/cost", 2.5), (300, "epoch/validation_accuracy", 0.96875), (70000, "a/b", -1e-3)]:
    e = Event(wall_time=1.5 + step, step=step, summary=Summary(value=[Summary.Value(tag=tag, simple_value=value)]))
    w.write(e.SerializeToString())
sys.stdout.write(buf.getvalue().hex())
"#;
    let Some(theirs) = python(script, &[]) else { return };
    let mut ours = Vec::new();
    record(&file_version_event(1.5), &mut ours);
    for (step, tag, value) in [
        (1, "batch/cost", 2.5f32),
        (300, "epoch/validation_accuracy", 0.96875),
        (70000, "a/b", -1e-3),
    ] {
        record(&scalar_event(1.5 + step as f64, step, tag, value), &mut ours);
    }
    let ours: String = ours.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(ours, theirs);
}

#[test]
fn tensorboard_reads_the_scalars_of_a_training_run() {
    let Some(data) = common::real_data() else { return };
    let dir = tempfile::tempdir().unwrap();
    let logdir = dir.path().join("runs/softmax");
    let out = Command::new(env!("CARGO_BIN_EXE_mnist"))
        .args([
            "train",
            "--model",
            "softmax",
            "--lr",
            "0.1",
            "--epochs",
            "2",
            "--quiet",
            "--data-dir",
        ])
        .arg(&data)
        .arg("--logdir")
        .arg(&logdir)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let script = r#"
import sys
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
acc = EventAccumulator(sys.argv[1], size_guidance={"scalars": 0})
acc.Reload()
for tag in sorted(acc.Tags()["scalars"]):
    events = acc.Scalars(tag)
    print(tag, len(events), events[-1].step, events[-1].value)
"#;
    let Some(listing) = python(script, &[logdir.to_str().unwrap()]) else {
        return;
    };
    let rows: Vec<Vec<&str>> = listing.lines().map(|l| l.split(' ').collect()).collect();
    let tags: Vec<&str> = rows.iter().map(|r| r[0]).collect();
    assert_eq!(
        tags,
        [
            "batch/accuracy",
            "batch/cost",
            "epoch/batch_accuracy",
            "epoch/cost",
            "epoch/learning_rate",
            "epoch/validation_accuracy",
            "epoch/validation_loss"
        ],
        "{listing}"
    );
    // 550 batches an epoch, two epochs; the epoch scalars at epochs 1 and 2.
    assert_eq!(&rows[0][1..3], ["1100", "1100"], "{listing}");
    assert_eq!(&rows[1][1..3], ["1100", "1100"], "{listing}");
    assert_eq!(&rows[3][1..3], ["2", "2"], "{listing}");
    let accuracy: f64 = rows[5][3].parse().unwrap();
    assert!((0.8..0.95).contains(&accuracy), "{listing}");
    // The same figure as the terminal's line for epoch 2.
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout.lines().find(|l| l.starts_with("Epoch: 0002")).unwrap();
    assert!(
        line.ends_with(&format!("accuracy {accuracy:.4})")),
        "{line} vs {accuracy}"
    );
}
