//! Another framework's runs of a rung, drawn beside ours.
//!
//! `docs/reference/rung_f_tensorflow.py` runs rung F in TensorFlow itself
//! and prints a JSON record per run; `docs/reference/rung-f-tensorflow.json`
//! keeps them. The CNN chart draws their mean so that a reader sees at once
//! whether a gap to the published figure is ours or the settings'.

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

impl Reference {
    /// The file beside `config` (docs/reference/rung-f-tensorflow.json), if
    /// there is one; a file that is there but unreadable is an error.
    pub fn load_beside(config: &Path) -> Result<Option<Reference>, String> {
        let path = config
            .parent()
            .unwrap_or(Path::new("."))
            .join("docs/reference/rung-f-tensorflow.json");
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(format!("{}: {e}", path.display())),
        };
        serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| format!("{}: {e}", path.display()))
    }

    /// Each run's test accuracy by step, as the charts draw series.
    pub fn series(&self) -> Vec<Vec<(f64, f64)>> {
        self.runs
            .iter()
            .map(|run| run.records.iter().map(|r| (r.step as f64, r.test)).collect())
            .collect()
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
