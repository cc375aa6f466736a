//! `cargo xtask ladder --quick` on the real data: it writes its files, the
//! figures are the same bit for bit on one and two threads, and a run of
//! some rungs keeps the others' results.

use std::path::Path;
use std::process::Command;

fn data() -> Option<std::path::PathBuf> {
    mnist_io::data_dir_for_tests(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/mnist"))
}

fn ladder(out: &Path, threads: &str, rungs: &str, data: &Path) -> serde_json::Value {
    let status = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join(".."))
        .args(["ladder", "--quick", "--rungs", rungs, "--out"])
        .arg(out)
        .arg("--data-dir")
        .arg(data)
        .env("RAYON_NUM_THREADS", threads)
        .status()
        .unwrap();
    assert!(status.success());
    serde_json::from_str(&std::fs::read_to_string(out.join("ladder.json")).unwrap()).unwrap()
}

/// Every figure of a result, without the wall times.
fn figures(json: &serde_json::Value) -> Vec<String> {
    let mut out = Vec::new();
    for rung in json["rungs"].as_array().unwrap() {
        for run in rung["runs"].as_array().unwrap() {
            let records: Vec<String> = run["history"]["records"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| format!("{} {} {}", r["step"], r["cost"], r["test"]))
                .collect();
            out.push(format!(
                "{} {} {} {} {}",
                rung["rung"]["id"],
                run["seed"],
                run["test"],
                run["train"],
                records.join(";")
            ));
        }
    }
    out
}

#[test]
fn quick_ladder_is_the_same_on_one_and_two_threads() {
    let Some(data) = data() else { return };
    let dir = tempfile::tempdir().unwrap();
    let one = ladder(&dir.path().join("one"), "1", "A0,D4,E1", &data);
    let two = ladder(&dir.path().join("two"), "2", "A0,D4,E1", &data);
    assert_eq!(figures(&one), figures(&two));
    assert_eq!(one["rungs"].as_array().unwrap().len(), 3);
    assert_eq!(
        one["rungs"][2]["runs"].as_array().unwrap().len(),
        20,
        "XOR keeps its 20 seeds"
    );
    let a0 = one["rungs"][0]["runs"][0]["test"]["accuracy"].as_f64().unwrap();
    assert!(a0 > 0.6, "one epoch of softmax regression learns something: {a0}");
    for file in [
        "ladder.md",
        "plots/a-cost.svg",
        "plots/d-accuracy.svg",
        "plots/xor.svg",
        "plots/trajectories.svg",
    ] {
        assert!(dir.path().join("one").join(file).exists(), "{file}");
    }
    let md = std::fs::read_to_string(dir.path().join("one/ladder.md")).unwrap();
    assert!(
        md.contains("| A0 |") && md.contains("| D4 |") && md.contains("QUICK"),
        "{md}"
    );

    // Rerunning one rung keeps the others.
    let again = ladder(&dir.path().join("one"), "2", "D4", &data);
    assert_eq!(figures(&again), figures(&one));
}
