//! Early stopping on the validation loss, keeping the best model.

use nn::Classifier;

use crate::fit::{Callback, Control, Record};

/// Stops a run when the validation loss has not improved by `min_delta`
/// for `patience` records in a row and, with `restore_best`, puts back the
/// weights (and batch-norm statistics) of the best record at the end of
/// the run, as Keras' `EarlyStopping(restore_best_weights=True)`. Records
/// without validation metrics are ignored.
#[derive(Clone, Debug)]
pub struct EarlyStopping {
    /// Records without improvement tolerated before stopping.
    pub patience: usize,
    /// The least decrease of the loss that counts as an improvement.
    pub min_delta: f64,
    /// Restore the best model when the run ends.
    pub restore_best: bool,
    best: Option<(usize, f64)>,
    waited: usize,
    snapshot: Vec<f32>,
}

impl EarlyStopping {
    /// Stops after `patience` records without improvement, restoring the best model.
    pub fn new(patience: usize) -> Self {
        Self {
            patience,
            min_delta: 0.0,
            restore_best: true,
            best: None,
            waited: 0,
            snapshot: Vec::new(),
        }
    }

    /// The record (its `epoch` field) with the lowest validation loss so far, and that loss.
    pub fn best(&self) -> Option<(usize, f64)> {
        self.best
    }

    /// What a resumed run needs to stop where this one would: the best
    /// record, the records waited since, and the best model's tensors (in
    /// `visit_named` order, empty without `restore_best`).
    pub fn state(&self) -> (Option<(usize, f64)>, usize, &[f32]) {
        (self.best, self.waited, &self.snapshot)
    }

    /// Puts back a [`EarlyStopping::state`].
    pub fn restore(&mut self, best: Option<(usize, f64)>, waited: usize, snapshot: Vec<f32>) {
        self.best = best;
        self.waited = waited;
        self.snapshot = snapshot;
    }
}

impl Callback for EarlyStopping {
    fn record(&mut self, record: &Record, net: &mut Classifier) -> Control {
        let Some(validation) = record.validation else {
            return Control::Continue;
        };
        let improved = match self.best {
            None => true,
            Some((_, best)) => validation.loss < best - self.min_delta,
        };
        if improved {
            self.best = Some((record.epoch, validation.loss));
            self.waited = 0;
            if self.restore_best {
                self.snapshot.clear();
                net.model
                    .visit_named(&mut |_, _, values| self.snapshot.extend_from_slice(values));
            }
            Control::Continue
        } else {
            self.waited += 1;
            if self.waited >= self.patience {
                Control::Stop
            } else {
                Control::Continue
            }
        }
    }

    fn fit_end(&mut self, net: &mut Classifier) {
        if self.restore_best && !self.snapshot.is_empty() {
            let mut at = 0;
            net.model.visit_named(&mut |_, _, values| {
                values.copy_from_slice(&self.snapshot[at..at + values.len()]);
                at += values.len();
            });
        }
    }
}
