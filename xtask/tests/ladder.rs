//! `cargo xtask ladder --quick` on the real data: it writes its files, the
//! figures are the same bit for bit on one and two threads, and a run of
//! some rungs keeps the others' results.

use std::path::Path;
use std::process::Command;

fn data() -> Option<std::path::PathBuf> {
    mnist_io::data_dir_for_tests(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/mnist"))
}

fn ladder(out: &Path, threads: &str, rungs: &str, data: &Path) -> serde_json::Value {
    ladder_on(out, threads, rungs, data, None)
}

/// `ladder --quick --rungs RUNGS` into `out`, on `threads` threads and the
/// `kernel` given (else the CPU's best).
fn ladder_on(out: &Path, threads: &str, rungs: &str, data: &Path, kernel: Option<&str>) -> serde_json::Value {
    let mut command = Command::new(env!("CARGO_BIN_EXE_xtask"));
    if let Some(kernel) = kernel {
        command.env("MNIST_KERNEL", kernel);
    }
    let status = command
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

fn xtask(args: &[&str], threads: &str, data: &Path) {
    let status = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join(".."))
        .args(args)
        .arg("--data-dir")
        .arg(data)
        .env("RAYON_NUM_THREADS", threads)
        .status()
        .unwrap();
    assert!(status.success(), "xtask {args:?}");
}

/// The files of a ladder's output folder, with wall times (evaluation's
/// share included) and thread counts (the only things that may differ)
/// taken out.
fn outputs(dir: &Path) -> Vec<(String, String)> {
    let mut json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("ladder.json")).unwrap()).unwrap();
    fn strip(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::Object(map) => {
                map.remove("seconds");
                map.remove("evaluating");
                map.remove("threads");
                map.values_mut().for_each(strip);
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(strip),
            _ => {}
        }
    }
    strip(&mut json);
    // The time column and the minutes of runs in the table.
    let md: String = std::fs::read_to_string(dir.join("ladder.md"))
        .unwrap()
        .lines()
        .map(|line| {
            line.split(" | ")
                .filter(|cell| !cell.ends_with(" s"))
                .collect::<Vec<_>>()
                .join(" | ")
        })
        .map(|line| match line.find(" minutes of runs") {
            Some(end) => line[end..].to_string(),
            None => line,
        })
        .collect::<Vec<_>>()
        .join("\n");
    let mut files = vec![
        ("ladder.json".to_string(), json.to_string()),
        ("ladder.md".to_string(), md),
    ];
    for plot in ["a-cost.svg", "d-accuracy.svg", "xor.svg", "trajectories.svg"] {
        files.push((
            plot.to_string(),
            std::fs::read_to_string(dir.join("plots").join(plot)).unwrap(),
        ));
    }
    files
}

/// Three shards, on one, two and one threads, merged, give the files of
/// one whole run (wall times aside); a missing or doubled part is refused.
#[test]
fn shards_merge_into_the_whole_run() {
    let Some(data) = data() else { return };
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    let rungs = "A0,D4,E1";
    xtask(
        &["ladder", "--quick", "--rungs", rungs, "--out", &path("whole")],
        "2",
        &data,
    );
    for (i, threads) in [(1, "1"), (2, "2"), (3, "1")] {
        let shard = format!("{i}/3");
        let out = path(&format!("part{i}"));
        xtask(
            &["ladder", "--quick", "--rungs", rungs, "--shard", &shard, "--out", &out],
            threads,
            &data,
        );
        assert!(dir.path().join(format!("part{i}/part-{i}-of-3.json")).exists());
    }
    let (p1, p2, p3) = (path("part1"), path("part2"), path("part3"));
    xtask(
        &["ladder", "--quick", "--merge", &p1, &p2, &p3, "--out", &path("merged")],
        "2",
        &data,
    );
    assert_eq!(outputs(&dir.path().join("merged")), outputs(&dir.path().join("whole")));

    let refused = |parts: &[&str]| {
        let output = Command::new(env!("CARGO_BIN_EXE_xtask"))
            .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join(".."))
            .args(["ladder", "--quick", "--merge"])
            .args(parts)
            .args(["--out", &path("refused")])
            .output()
            .unwrap();
        assert!(!output.status.success(), "{parts:?} merged");
        String::from_utf8_lossy(&output.stderr).into_owned()
    };
    assert!(refused(&[&p1, &p3]).contains("part 2 of 3 missing"));
    assert!(refused(&[&p1, &p1, &p2, &p3]).contains("are both part 1"));
}

/// The XOR rungs (2-2-1 sigmoid, 10 x 5 ReLU) give the same figures on
/// every kernel this CPU has (the MNIST runs are compared in the cli's
/// `same_bits` tests).
#[test]
fn xor_rungs_are_the_same_on_every_kernel() {
    let Some(data) = data() else { return };
    let dir = tempfile::tempdir().unwrap();
    let mut first: Option<(String, Vec<String>)> = None;
    for isa in kernels::Isa::ALL {
        if !isa.supported_or_skip() {
            continue;
        }
        let json = ladder_on(&dir.path().join(isa.name()), "2", "E1,E3", &data, Some(isa.name()));
        let got = figures(&json);
        assert_eq!(got.len(), 40, "20 seeds of each rung");
        match &first {
            None => first = Some((isa.name().to_string(), got)),
            Some((name, want)) => assert!(*want == got, "{} differs from {name}", isa.name()),
        }
    }
}
