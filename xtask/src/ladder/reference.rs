//! Another framework's runs of a rung, drawn beside ours.
//!
//! `docs/reference/rung_f_tensorflow.py` runs rung F in TensorFlow itself
//! and prints a JSON record per run; `docs/reference/rung-f-tensorflow.json`
//! keeps them. The CNN chart draws their mean so that a reader sees at once
//! whether a gap to the published figure is ours or the settings'.
//!
//! `docs/reference/fast_vs_pytorch.py` runs rung G's recipe in our binary
//! and in PyTorch, alternating; `docs/reference/fast-vs-pytorch.json` keeps
//! both sides' runs ([`SideBySide`]), which the fast recipe's chart draws.

use std::path::Path;

use serde::Deserialize;

/// Runs of one rung in another framework.
#[derive(Debug, Deserialize)]
pub struct Reference {
    /// What ran, e.g. "TensorFlow 2.21.0".
    pub framework: String,
    /// One entry per seed.
    pub runs: Vec<ReferenceRun>,
}

/// One seed's run (the file also names the seed, its time and final figure).
#[derive(Debug, Deserialize)]
pub struct ReferenceRun {
    /// Test accuracy at each report.
    pub records: Vec<ReferenceRecord>,
}

/// Test accuracy after `step` steps.
#[derive(Debug, Deserialize)]
pub struct ReferenceRecord {
    /// Steps done.
    pub step: u64,
    /// Test accuracy.
    pub test: f64,
}

/// The JSON file `name` in docs/reference beside `config`, if there is
/// one; a file that is there but unreadable is an error.
fn load_json<T: serde::de::DeserializeOwned>(config: &Path, name: &str) -> Result<Option<T>, String> {
    let path = config
        .parent()
        .unwrap_or(Path::new("."))
        .join("docs/reference")
        .join(name);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("{}: {e}", path.display())),
    };
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|e| format!("{}: {e}", path.display()))
}

impl Reference {
    /// The file beside `config` (docs/reference/rung-f-tensorflow.json), if
    /// there is one; a file that is there but unreadable is an error.
    pub fn load_beside(config: &Path) -> Result<Option<Reference>, String> {
        load_json(config, "rung-f-tensorflow.json")
    }

    /// Each run's test accuracy by step, as the charts draw series.
    pub fn series(&self) -> Vec<Vec<(f64, f64)>> {
        self.runs
            .iter()
            .map(|run| run.records.iter().map(|r| (r.step as f64, r.test)).collect())
            .collect()
    }
}

/// The fast recipe run by us and by PyTorch, alternating on one machine.
#[derive(Debug, Deserialize)]
pub struct SideBySide {
    /// The CPU's model name.
    pub cpu: String,
    /// The pass that reports test accuracy every tenth of the run.
    pub curve: Option<Pass>,
    /// The pass that times the recipe as it is (one report, at the end).
    pub timing: Option<Pass>,
}

/// One pass: every run of both frameworks.
#[derive(Debug, Deserialize)]
pub struct Pass {
    /// Both frameworks' runs, in the order they ran.
    pub runs: Vec<SideRun>,
}

/// One seed's run in one framework.
#[derive(Debug, Deserialize)]
pub struct SideRun {
    /// "ours", or e.g. "PyTorch 2.15.0".
    pub framework: String,
    /// Seconds from the process's start to its end, measured from outside.
    pub wall_seconds: f64,
    /// Test accuracy at the end.
    pub test: f64,
    /// Test accuracy at each report.
    pub records: Vec<WallRecord>,
}

/// Test accuracy at a report, and when it came.
#[derive(Debug, Deserialize)]
pub struct WallRecord {
    /// Seconds from the process's start, less the evaluations before.
    pub wall_seconds: f64,
    /// Test accuracy.
    pub test: f64,
}

impl SideBySide {
    /// docs/reference/fast-vs-pytorch.json beside `config`, if there is one.
    pub fn load_beside(config: &Path) -> Result<Option<SideBySide>, String> {
        load_json(config, "fast-vs-pytorch.json")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reference_file_reads_as_one_series_a_run() {
        let r: Reference = serde_json::from_str(
            r#"{"framework": "x", "runs": [
                {"seed": 1, "records": [{"step": 500, "test": 0.9}, {"step": 1000, "test": 0.96}]},
                {"seed": 2, "records": [{"step": 500, "test": 0.8}]}]}"#,
        )
        .unwrap();
        assert_eq!(r.series(), vec![vec![(500.0, 0.9), (1000.0, 0.96)], vec![(500.0, 0.8)]]);
    }
}
