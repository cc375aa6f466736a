//! Checkpoints: a model file that also holds the state of the run that
//! wrote it (the optimiser's buffers, the random generators of the batch
//! order and of dropout, the position in the data, the records so far and
//! the command line), so that a run restored from it (`mnist train
//! --resume`) goes on exactly as the run would have, bit for bit.
//!
//! Layout: the model's tensors as in a model file (so `eval` and `predict`
//! read a checkpoint as a model), the optimiser's buffers as 1-D tensors
//! `run.optimizer.NAME`, early stopping's best model so far as
//! `run.early_stopping.best_model`, and in the metadata `arguments` (JSON
//! list of the `mnist train` arguments), `progress` (records, step,
//! sampler), `rng` and `dropout` (generator states by layer name) and
//! `early_stopping` (best record, records waited), besides the model file's
//! `format`, `architecture` and `training`.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use nn::Classifier;
use optim::Optimizer;
use rand_xoshiro::Xoshiro256PlusPlus;
use train::{Callback, Control, EarlyStopping, ModelSpec, Progress, Record, Snapshot};

use crate::error::{Result, StoreError};
use crate::file::{self, Loaded};
#[cfg(doc)]
use crate::format::RUN_STATE_PREFIX;
use crate::format::{CHECKPOINT_FORMAT, FORMAT_KEY};

/// The optimiser's buffers; begins with [`RUN_STATE_PREFIX`], as every
/// tensor of a checkpoint that is not the model's must.
const OPTIMIZER_PREFIX: &str = "run.optimizer.";
/// Early stopping's best model so far (its tensors one after another).
const BEST_MODEL: &str = "run.early_stopping.best_model";

/// Early stopping's place, as the metadata's `early_stopping` keeps it.
#[derive(serde::Serialize, serde::Deserialize)]
struct StoppingState {
    best: Option<(usize, f64)>,
    waited: usize,
}

/// Writes a checkpoint after every `every` records; a failed write stops
/// the run and is kept in `error`.
pub struct Checkpointer {
    /// The file written (replaced each time, atomically).
    pub path: PathBuf,
    /// Records between checkpoints.
    pub every: usize,
    /// The command line of the run (`mnist train`'s arguments), to rebuild
    /// it from when resuming.
    pub arguments: Vec<String>,
    /// The model's architecture and the training settings, as a model file has them.
    pub arch: ModelSpec,
    /// See [`save`](crate::save).
    pub settings: serde_json::Value,
    /// Why the last write failed.
    pub error: Option<String>,
    /// Checkpoints written.
    pub written: usize,
    /// Early stopping, when the run has it: held here so that its state
    /// (the best model so far) goes into each checkpoint.
    pub stopping: Option<EarlyStopping>,
}

impl Callback for Checkpointer {
    fn record(&mut self, record: &Record, net: &mut Classifier) -> Control {
        match &mut self.stopping {
            Some(stopping) => stopping.record(record, net),
            None => Control::Continue,
        }
    }

    fn fit_end(&mut self, net: &mut Classifier) {
        if let Some(stopping) = &mut self.stopping {
            stopping.fit_end(net);
        }
    }

    fn checkpoint(&mut self, s: &mut Snapshot<'_>) -> Control {
        if !s.progress.history.records.len().is_multiple_of(self.every.max(1)) {
            return Control::Continue;
        }
        match self.write(s) {
            Ok(()) => {
                self.written += 1;
                Control::Continue
            }
            Err(e) => {
                self.error = Some(e.to_string());
                Control::Stop
            }
        }
    }
}

impl Checkpointer {
    fn write(&self, s: &mut Snapshot<'_>) -> Result<()> {
        let mut extra: Vec<(String, Vec<f32>)> = s
            .optimizer
            .save_state()
            .into_iter()
            .map(|(name, values)| (format!("{OPTIMIZER_PREFIX}{name}"), values))
            .collect();
        let stopping = self.stopping.as_ref().map(|stopping| {
            let (best, waited, snapshot) = stopping.state();
            if !snapshot.is_empty() {
                extra.push((BEST_MODEL.to_string(), snapshot.to_vec()));
            }
            StoppingState { best, waited }
        });
        let mut dropout = BTreeMap::new();
        s.net.model.visit_rngs(&mut |name, rng| {
            dropout.insert(name.to_string(), rng.clone());
        });
        let encode = |e: serde_json::Error| StoreError::Encode {
            path: self.path.clone(),
            reason: e.to_string(),
        };
        let metadata = vec![
            (
                "arguments".to_string(),
                serde_json::to_string(&self.arguments).map_err(encode)?,
            ),
            (
                "progress".to_string(),
                serde_json::to_string(s.progress).map_err(encode)?,
            ),
            ("rng".to_string(), serde_json::to_string(s.rng).map_err(encode)?),
            ("dropout".to_string(), serde_json::to_string(&dropout).map_err(encode)?),
            (
                "early_stopping".to_string(),
                serde_json::to_string(&stopping).map_err(encode)?,
            ),
        ];
        file::save_with(
            &self.path,
            &mut s.net.model,
            &self.arch,
            &self.settings,
            CHECKPOINT_FORMAT,
            extra,
            metadata,
        )
    }
}

/// A checkpoint read back, to be put into a freshly built run.
pub struct Checkpoint {
    path: PathBuf,
    /// The command line of the run that wrote it.
    pub arguments: Vec<String>,
    loaded: Loaded,
    progress: Progress,
    rng: Xoshiro256PlusPlus,
    dropout: BTreeMap<String, Xoshiro256PlusPlus>,
    stopping: Option<StoppingState>,
}

impl Checkpoint {
    /// Reads `path`; anything missing or unreadable is an error naming it.
    pub fn read(path: &Path) -> Result<Self> {
        let loaded = file::load_with(path)?;
        if loaded.metadata.get(FORMAT_KEY).map(String::as_str) != Some(CHECKPOINT_FORMAT) {
            return Err(StoreError::NotACheckpoint {
                path: path.to_path_buf(),
            });
        }
        fn entry<T: serde::de::DeserializeOwned>(path: &Path, meta: &HashMap<String, String>, key: &str) -> Result<T> {
            let problem = |problem: String| StoreError::Metadata {
                path: path.to_path_buf(),
                problem,
            };
            let text = meta
                .get(key)
                .ok_or_else(|| problem(format!("no {key} in the metadata")))?;
            serde_json::from_str(text).map_err(|e| problem(format!("unreadable {key} in the metadata ({e})")))
        }
        let meta = &loaded.metadata;
        Ok(Self {
            path: path.to_path_buf(),
            arguments: entry(path, meta, "arguments")?,
            progress: entry(path, meta, "progress")?,
            rng: entry(path, meta, "rng")?,
            dropout: entry(path, meta, "dropout")?,
            stopping: entry(path, meta, "early_stopping")?,
            loaded,
        })
    }

    /// Records done and steps done.
    pub fn position(&self) -> (usize, usize) {
        (self.progress.history.records.len(), self.progress.step)
    }

    /// Puts the checkpoint into a run built from its arguments: the model's
    /// tensors and dropout generators into `net`, the buffers into
    /// `optimizer`, the generator into `rng`, early stopping's place into
    /// `stopping`; returns where the run stood.
    pub fn restore(
        self,
        net: &mut Classifier,
        optimizer: &mut dyn Optimizer,
        rng: &mut Xoshiro256PlusPlus,
        stopping: Option<&mut EarlyStopping>,
    ) -> Result<Progress> {
        let path = self.path;
        let refuse = |reason: String| StoreError::Restore {
            path: path.clone(),
            reason,
        };
        let mut saved = self.loaded.model;
        let mut tensors = Vec::new();
        saved.visit_named(&mut |_, _, values| tensors.push(values.to_vec()));
        let mut mismatch = false;
        let mut next = tensors.into_iter();
        net.model.visit_named(&mut |_, _, values| match next.next() {
            Some(v) if v.len() == values.len() => values.copy_from_slice(&v),
            _ => mismatch = true,
        });
        if mismatch || next.next().is_some() {
            return Err(refuse(
                "its model does not match the architecture of its arguments".into(),
            ));
        }
        let mut missing = Vec::new();
        net.model
            .visit_rngs(&mut |name, generator| match self.dropout.get(name) {
                Some(saved) => *generator = saved.clone(),
                None => missing.push(name.to_string()),
            });
        if !missing.is_empty() {
            return Err(refuse(format!("no generator state for {}", missing.join(", "))));
        }
        let mut best_model = Vec::new();
        let mut state = optim::NamedState::new();
        for (name, values) in self.loaded.extra {
            if name == BEST_MODEL {
                best_model = values;
            } else if let Some(entry) = name.strip_prefix(OPTIMIZER_PREFIX) {
                state.push((entry.to_string(), values));
            }
        }
        match (stopping, self.stopping) {
            (Some(stopping), Some(StoppingState { best, waited })) => stopping.restore(best, waited, best_model),
            (None, None) => {}
            _ => {
                return Err(refuse(
                    "early stopping in the checkpoint and in its arguments disagree".into(),
                ));
            }
        }
        optimizer
            .load_state(&state)
            .map_err(|e| refuse(format!("optimiser state: {e}")))?;
        *rng = self.rng;
        Ok(self.progress)
    }
}
