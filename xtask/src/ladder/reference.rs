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

    /// Mean test accuracy over the runs at each step they all report.
    pub fn mean(&self) -> Vec<(f64, f64)> {
        let Some(first) = self.runs.first() else {
            return Vec::new();
        };
        first
            .records
            .iter()
            .filter_map(|r| {
                let values: Vec<f64> = self
                    .runs
                    .iter()
                    .filter_map(|run| run.records.iter().find(|x| x.step == r.step).map(|x| x.test))
                    .collect();
                (values.len() == self.runs.len())
                    .then(|| (r.step as f64, values.iter().sum::<f64>() / values.len() as f64))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mean_keeps_only_steps_every_run_reports() {
        let r: Reference = serde_json::from_str(
            r#"{"framework": "x", "runs": [
                {"seed": 1, "records": [{"step": 500, "test": 0.9}, {"step": 1000, "test": 0.96}]},
                {"seed": 2, "records": [{"step": 500, "test": 0.8}]}]}"#,
        )
        .unwrap();
        let mean = r.mean();
        assert_eq!(mean.len(), 1);
        assert_eq!(mean[0].0, 500.0);
        assert!((mean[0].1 - 0.85).abs() < 1e-12);
    }
}
