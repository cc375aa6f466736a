//! The training loop: `fit` runs epochs or steps, evaluates after each
//! stretch, keeps a history and lets callbacks watch and stop it. The
//! `mnist` command and `cargo xtask ladder` both train through it.

use std::time::{Duration, Instant};

use mnist_io::Subset;
use mnist_io::augment::Augment;
use nn::{Classifier, NnError};
use optim::{Optimizer, Schedule};
use rand_xoshiro::Xoshiro256PlusPlus;
use serde::{Deserialize, Serialize};

use crate::SpecError;
use crate::batches::{Batch, Metrics, Sampler, evaluate, run_epoch, run_steps};

/// How long to train.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Length {
    /// Passes over the training set, each in a new random order; one
    /// record per epoch.
    Epochs(usize),
    /// Steps of one batch each.
    Steps {
        /// How many steps.
        steps: usize,
        /// Draw each batch uniformly with replacement (the NumPy course);
        /// otherwise walk shuffled epochs (TensorFlow's `next_batch`).
        with_replacement: bool,
        /// One record every this many steps.
        report_every: usize,
    },
}

/// What to evaluate after each stretch of training (the final figures are
/// a separate, explicit call to [`evaluate`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Monitor {
    /// Loss and accuracy on the training set (a forward pass over all of it).
    pub train: bool,
    /// On the validation set, when there is one.
    pub validation: bool,
    /// On the test set.
    pub test: bool,
}

/// How to train: the length, the batches, the learning-rate schedule,
/// augmentation, the loss's weight decay, early stopping and what each
/// record measures. Plain data (serde, and with the feature `clap` the
/// flags of `mnist train`, each field's doc its help); a `ladder.toml` rung
/// and `mnist train` both flatten it through [`RunSpec`](crate::RunSpec),
/// so an option added here is an option of both. Defaults that depend on
/// the data (a report every epoch's worth of steps) are worked out by
/// [`FitConfig::length`] and [`FitConfig::monitor`], and only there.
///
/// The learning rate is the optimiser's, not a field here: `schedule`
/// scales the rate the optimiser was built with.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::Args))]
#[serde(default)]
pub struct FitConfig {
    /// Passes over the training set [default: 15, when --steps is not given].
    #[cfg_attr(feature = "clap", arg(long, conflicts_with = "steps"))]
    pub epochs: Option<usize>,
    /// Train for this many steps instead of --epochs: batches walk shuffled
    /// epochs (TensorFlow's next_batch), or are drawn with replacement with
    /// --with-replacement (the NumPy course's way).
    #[cfg_attr(feature = "clap", arg(long))]
    pub steps: Option<usize>,
    /// With --steps: draw each batch uniformly with replacement.
    #[cfg_attr(feature = "clap", arg(long))]
    pub with_replacement: bool,
    /// With --steps: a record (a line of report) every this many steps
    /// [default: an epoch's worth, training images / batch size].
    #[cfg_attr(feature = "clap", arg(long))]
    pub report_every: Option<usize>,
    /// Measure the loss and accuracy on the training set at every record
    /// (a forward pass over all of it).
    #[cfg_attr(feature = "clap", arg(long))]
    #[serde(alias = "monitor_train")]
    pub report_train: bool,
    /// Measure on the validation set at every record [default: true with
    /// epochs, as Keras does, or with early stopping, which needs it; false
    /// with --steps].
    #[cfg_attr(feature = "clap", arg(long, num_args = 0..=1, default_missing_value = "true"))]
    pub report_validation: Option<bool>,
    /// Measure on the test set at every record [default: true with --steps,
    /// as the tutorials print it; false with epochs].
    #[cfg_attr(feature = "clap", arg(long, num_args = 0..=1, default_missing_value = "true"))]
    pub report_test: Option<bool>,
    /// Images per mini-batch.
    #[cfg_attr(feature = "clap", arg(long, default_value_t = FitConfig::default().batch_size))]
    pub batch_size: usize,
    /// Learning-rate schedule, by epoch (or record, with --steps): constant,
    /// step:EVERY:GAMMA (times GAMMA every EVERY epochs), exp:GAMMA (times
    /// GAMMA each epoch), cosine (to 0 over the run), warmup:N (linear over
    /// the first N epochs).
    #[cfg_attr(feature = "clap", arg(long, default_value = "constant"))]
    #[serde(with = "crate::text")]
    pub schedule: Schedule,
    /// Random transforms of each training batch, comma-separated: rotate=DEG,
    /// shift=PX, scale=FRACTION, shear=DEG, elastic=ALPHA:SIGMA (Simard et al.
    /// use 34:4), brightness=B, contrast=C, invert=PROB, flip=PROB (flipping
    /// hurts digits), thickness=PROB (strokes dilated or eroded), blur=SIGMA,
    /// noise=N; none for nothing.
    #[cfg_attr(feature = "clap", arg(long, default_value = "none"))]
    #[serde(with = "crate::text")]
    pub augment: Augment,
    /// L2 weight decay λ: 0.5 λ Σ W² over the weights (not biases) added to
    /// the loss, as the NumPy course defines it.
    #[cfg_attr(feature = "clap", arg(long, default_value_t = 0.0))]
    pub weight_decay: f32,
    /// Label smoothing ε: train against targets of 1 - ε on the label plus
    /// ε / 10 on every class (Keras' label_smoothing); the reported losses
    /// of evaluation stay the plain cross-entropy.
    #[cfg_attr(feature = "clap", arg(long, default_value_t = 0.0))]
    pub label_smoothing: f32,
    /// Stop when the validation loss has not improved for this many epochs
    /// (or records), and keep the model of the best one.
    #[cfg_attr(feature = "clap", arg(long))]
    pub early_stopping: Option<usize>,
    /// Clip the gradients by their global norm (PyTorch's
    /// clip_grad_norm_): when the L2 norm of all the gradients together,
    /// weight decay's share included, exceeds this, scale every one of them
    /// down so that it equals this, before the optimiser's step. Off by
    /// default.
    #[cfg_attr(feature = "clap", arg(long))]
    pub clip_norm: Option<f32>,
}

impl Default for FitConfig {
    fn default() -> Self {
        Self {
            epochs: None,
            steps: None,
            with_replacement: false,
            report_every: None,
            report_train: false,
            report_validation: None,
            report_test: None,
            batch_size: 100,
            schedule: Schedule::Constant,
            augment: Augment::default(),
            weight_decay: 0.0,
            label_smoothing: 0.0,
            early_stopping: None,
            clip_norm: None,
        }
    }
}

impl FitConfig {
    /// Epochs when `steps` is not given and `epochs` is not either.
    pub const DEFAULT_EPOCHS: usize = 15;

    /// Checks what the types cannot.
    pub fn validate(&self) -> Result<(), SpecError> {
        if self.epochs.is_some() && self.steps.is_some() {
            return Err(SpecError("give epochs or steps, not both".into()));
        }
        if self.batch_size == 0 {
            return Err(SpecError("batch-size must be at least 1".into()));
        }
        if self.steps.is_none() && (self.with_replacement || self.report_every.is_some()) {
            return Err(SpecError("with-replacement and report-every go with steps".into()));
        }
        if self.report_every == Some(0) || self.early_stopping == Some(0) {
            return Err(SpecError("report-every and early-stopping must be at least 1".into()));
        }
        if self.clip_norm.is_some_and(|c| !(c.is_finite() && c > 0.0)) {
            return Err(SpecError("clip-norm must be a positive number".into()));
        }
        if !(0.0..1.0).contains(&self.label_smoothing) {
            return Err(SpecError(format!(
                "label-smoothing must be at least 0 and below 1, got {}",
                self.label_smoothing
            )));
        }
        if !(self.weight_decay.is_finite() && self.weight_decay >= 0.0) {
            return Err(SpecError(format!(
                "weight-decay must be a non-negative number, got {}",
                self.weight_decay
            )));
        }
        Ok(())
    }

    /// True for a run by steps (records every `report_every` steps), false
    /// for one by epochs.
    pub fn by_steps(&self) -> bool {
        self.steps.is_some()
    }

    /// How long the run is, on a training set of `train_len` examples (a
    /// record every epoch's worth of steps unless `report_every` says).
    pub fn length(&self, train_len: usize) -> Length {
        match self.steps {
            Some(steps) => Length::Steps {
                steps,
                with_replacement: self.with_replacement,
                report_every: self.report_every.unwrap_or(train_len / self.batch_size.max(1)).max(1),
            },
            None => Length::Epochs(self.epochs.unwrap_or(Self::DEFAULT_EPOCHS)),
        }
    }

    /// What each record measures.
    pub fn monitor(&self) -> Monitor {
        let by_steps = self.by_steps();
        Monitor {
            train: self.report_train,
            validation: self
                .report_validation
                .unwrap_or(!by_steps || self.early_stopping.is_some()),
            test: self.report_test.unwrap_or(by_steps),
        }
    }
}

/// The data a run sees; validation and test may be empty.
#[derive(Clone, Copy, Debug)]
pub struct Data<'a> {
    /// Examples to train on.
    pub train: &'a Subset,
    /// Held out, for choosing (early stopping, the best model).
    pub validation: &'a Subset,
    /// Reported.
    pub test: &'a Subset,
}

impl<'a> Data<'a> {
    /// MNIST's three sets, as loaded (the split chose the validation set).
    pub fn of(mnist: &'a mnist_io::Mnist) -> Self {
        Self {
            train: &mnist.train,
            validation: &mnist.validation,
            test: &mnist.test,
        }
    }
}

/// What one stretch of training (an epoch, or a report interval) did.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// Stretches done, from 1.
    pub epoch: usize,
    /// Steps done since the start.
    pub step: usize,
    /// Mean of the stretch's batch costs (weight decay's penalty included),
    /// as the tutorials print it; NaN when training diverged (null in JSON).
    #[serde(deserialize_with = "crate::batches::null_as_nan")]
    pub cost: f64,
    /// Mean of the stretch's batch accuracies, measured in training (with
    /// dropout, before each update) as Keras' `accuracy`: free, but not the
    /// accuracy of the final weights, which `train` is.
    #[serde(default)]
    pub batch_accuracy: f64,
    /// The learning rate of the stretch.
    pub learning_rate: f32,
    /// On the training set, if monitored.
    pub train: Option<Metrics>,
    /// On the validation set, if monitored and not empty.
    pub validation: Option<Metrics>,
    /// On the test set, if monitored.
    pub test: Option<Metrics>,
    /// Seconds since `fit` began, evaluation included.
    pub seconds: f64,
    /// Of those, the seconds spent measuring the monitored sets, this
    /// record's and every earlier one's: `seconds - evaluating` is the time
    /// training took to get here. `None` in records written before it was
    /// measured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evaluating: Option<f64>,
}

/// Every record of a run.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct History {
    /// One per stretch, in order.
    pub records: Vec<Record>,
    /// True when a callback stopped the run before its length.
    pub stopped_early: bool,
    /// Wall time of the whole run, seconds.
    pub seconds: f64,
    /// Where the cost first stopped being a finite number, if it did.
    #[serde(default)]
    pub diverged: Option<Divergence>,
}

/// The first batch whose cost was not a finite number (NaN or infinite):
/// the run has diverged, and every step after it trains on NaN.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Divergence {
    /// The training step, counted from 1 over the whole run.
    pub step: usize,
    /// The stretch (epoch, or report of a run by steps) it fell in, from 1.
    pub epoch: usize,
}

impl Divergence {
    /// What a person can do about it.
    pub const HINT: &'static str = "a lower learning rate, an initialiser scaled to the layer (he, xavier), or gradients clipped by norm (clip-norm)";
}

impl std::fmt::Display for Divergence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the cost became NaN or infinite at step {} (epoch {}): training diverged; try {}",
            self.step,
            self.epoch,
            Self::HINT
        )
    }
}

/// How far a run has come: with the model, the optimiser's state and the
/// random generators, all that a resumed run needs to go on exactly as if
/// it had never stopped.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Progress {
    /// The records so far (their number is the number of stretches done).
    pub history: History,
    /// Steps done.
    pub step: usize,
    /// Where the batches come from next.
    pub sampler: Sampler,
}

impl Progress {
    /// A run that has not begun, for `length`.
    pub fn start(length: Length) -> Self {
        let sampler = match length {
            Length::Steps {
                with_replacement: true, ..
            } => Sampler::with_replacement(),
            _ => Sampler::epochs(),
        };
        Self {
            history: History::default(),
            step: 0,
            sampler,
        }
    }
}

/// Everything a checkpoint holds, lent to [`Callback::checkpoint`] after
/// each record.
pub struct Snapshot<'a> {
    /// The model, parameters and batch-norm statistics (dropout's generators
    /// through `net.model.visit_rngs`).
    pub net: &'a mut Classifier,
    /// The optimiser (its state through `save_state`).
    pub optimizer: &'a dyn Optimizer,
    /// The generator of batch orders and augmentation seeds.
    pub rng: &'a Xoshiro256PlusPlus,
    /// Records, step, sampler.
    pub progress: &'a Progress,
}

/// Whether training goes on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Control {
    /// Go on.
    Continue,
    /// Stop after this record.
    Stop,
}

/// Hooks into [`fit`]: progress bars, logs, early stopping. Every method
/// has a default that does nothing.
pub trait Callback {
    /// A stretch of `batches` batches begins; `label` names it ("Epoch
    /// 3/15", "Steps 501-1000").
    fn stretch_begin(&mut self, _label: &str, _batches: usize) {}
    /// One batch trained, with its cost and accuracy.
    fn batch_end(&mut self, _cost: f32, _accuracy: f32) {}
    /// The stretch's training is over (evaluation comes next).
    fn stretch_end(&mut self) {}
    /// The stretch's record; return [`Control::Stop`] to end the run.
    fn record(&mut self, _record: &Record, _net: &mut Classifier) -> Control {
        Control::Continue
    }
    /// After each record (and the `record` calls), the whole state of the
    /// run, for checkpoints; return [`Control::Stop`] to end the run (a
    /// checkpoint that could not be written).
    fn checkpoint(&mut self, _snapshot: &mut Snapshot<'_>) -> Control {
        Control::Continue
    }
    /// The cost has just stopped being finite, for the first time in the
    /// run (see [`History::diverged`]); return [`Control::Stop`] to end the
    /// run at the end of this stretch, its record written.
    fn diverged(&mut self, _divergence: &Divergence) -> Control {
        Control::Continue
    }
    /// The run is over (by its length or a stop).
    fn fit_end(&mut self, _net: &mut Classifier) {}
}

/// Trains `net` with `optimizer` on `data.train` as `config` says, drawing
/// batch orders and augmentation seeds from `rng`, and returns the
/// history. The loss's weight decay is `config.weight_decay` (set on `net`
/// for the run); the learning rate is the optimiser's, scaled by
/// `config.schedule` and given back to it at the end. The same seed gives the same history on any number of
/// threads (the kernels split work independently of it).
pub fn fit(
    net: &mut Classifier,
    optimizer: &mut dyn Optimizer,
    data: &Data<'_>,
    config: &FitConfig,
    rng: &mut Xoshiro256PlusPlus,
    callbacks: &mut [&mut dyn Callback],
) -> Result<History, NnError> {
    fit_from(
        net,
        optimizer,
        data,
        config,
        rng,
        Progress::start(config.length(data.train.len())),
        callbacks,
    )
}

/// [`fit`] from where `progress` says a run stopped: with the model, the
/// optimiser and the generators as they were then (a checkpoint), the
/// result is bit for bit that of the run never interrupted. Records carry
/// on from the last one; their `seconds` count from the run's start,
/// continuing the last record's.
pub fn fit_from(
    net: &mut Classifier,
    optimizer: &mut dyn Optimizer,
    data: &Data<'_>,
    config: &FitConfig,
    rng: &mut Xoshiro256PlusPlus,
    mut progress: Progress,
    callbacks: &mut [&mut dyn Callback],
) -> Result<History, NnError> {
    let earlier = progress.history.records.last().map_or(0.0, |r| r.seconds);
    let mut earlier_evaluating = progress
        .history
        .records
        .last()
        .and_then(|r| r.evaluating)
        .unwrap_or(0.0);
    let started = Instant::now()
        .checked_sub(Duration::from_secs_f64(earlier))
        .unwrap_or_else(Instant::now);
    let mut batch = Batch::default();
    let batch_size = config.batch_size.max(1);
    let length = config.length(data.train.len());
    let monitor = config.monitor();
    net.weight_decay = config.weight_decay;
    net.label_smoothing = config.label_smoothing;
    // The rate the optimiser was built with is the one the schedule scales;
    // it is given back at the end, so that another fit starts from it too.
    let base_rate = optimizer.learning_rate();
    let (stretches, steps_total) = match length {
        Length::Epochs(epochs) => (epochs, epochs * data.train.len().div_ceil(batch_size)),
        Length::Steps {
            steps, report_every, ..
        } => (steps.div_ceil(report_every.max(1)), steps),
    };
    let schedule = match config.schedule {
        Schedule::Cosine { total: 0, min } => Schedule::Cosine { total: stretches, min },
        other => other,
    };
    // A run stopped early (by a callback) stays stopped when resumed from
    // the checkpoint taken at its last record.
    let first = if progress.history.stopped_early {
        stretches + 1
    } else {
        progress.history.records.len() + 1
    };
    for epoch in first..=stretches {
        let mut learning_rate = schedule.rate(base_rate, epoch - 1);
        optimizer.set_learning_rate(learning_rate);
        // A schedule by step sets the rate before every step; the record
        // keeps the stretch's last.
        let mut next_step = progress.step;
        let mut rates = || {
            let rate = schedule.step_rate(base_rate, next_step, steps_total);
            next_step += 1;
            learning_rate = rate.unwrap_or(learning_rate);
            rate
        };
        let (label, batches) = match length {
            Length::Epochs(epochs) => (format!("Epoch {epoch}/{epochs}"), data.train.len().div_ceil(batch_size)),
            Length::Steps { report_every, .. } => {
                let n = report_every.max(1).min(steps_total - progress.step);
                (format!("Steps {}-{}", progress.step + 1, progress.step + n), n)
            }
        };
        for c in callbacks.iter_mut() {
            c.stretch_begin(&label, batches);
        }
        let mut accuracy_sum = 0.0f64;
        let (mut step, mut stop_diverged) = (progress.step, false);
        let diverged = &mut progress.history.diverged;
        let mut on_batch = |cost: f32, accuracy: f32| {
            step += 1;
            accuracy_sum += accuracy as f64;
            for c in callbacks.iter_mut() {
                c.batch_end(cost, accuracy);
            }
            if !cost.is_finite() && diverged.is_none() {
                let divergence = Divergence { step, epoch };
                *diverged = Some(divergence);
                for c in callbacks.iter_mut() {
                    stop_diverged |= c.diverged(&divergence) == Control::Stop;
                }
            }
        };
        let cost = match length {
            Length::Epochs(_) => run_epoch(
                net,
                data.train,
                config,
                optimizer,
                rng,
                &mut batch,
                &mut rates,
                &mut on_batch,
            )?,
            Length::Steps { .. } => run_steps(
                net,
                data.train,
                config,
                batches,
                &mut progress.sampler,
                optimizer,
                rng,
                &mut batch,
                &mut rates,
                &mut on_batch,
            )?,
        };
        progress.step += batches;
        let batch_accuracy = accuracy_sum / batches.max(1) as f64;
        for c in callbacks.iter_mut() {
            c.stretch_end();
        }
        let evaluation_started = Instant::now();
        let mut measure = |wanted: bool, subset: &Subset| -> Result<Option<Metrics>, NnError> {
            if wanted && !subset.is_empty() {
                evaluate(net, subset, &mut batch).map(Some)
            } else {
                Ok(None)
            }
        };
        let (train, validation, test) = (
            measure(monitor.train, data.train)?,
            measure(monitor.validation, data.validation)?,
            measure(monitor.test, data.test)?,
        );
        let evaluating = earlier_evaluating + evaluation_started.elapsed().as_secs_f64();
        earlier_evaluating = evaluating;
        let record = Record {
            epoch,
            step: progress.step,
            cost,
            batch_accuracy,
            learning_rate,
            train,
            validation,
            test,
            seconds: started.elapsed().as_secs_f64(),
            evaluating: Some(evaluating),
        };
        let mut stop = stop_diverged;
        for c in callbacks.iter_mut() {
            stop |= c.record(&record, net) == Control::Stop;
        }
        progress.history.records.push(record);
        // Decided before the checkpoints, so that they know the run ends here.
        progress.history.stopped_early = stop && epoch < stretches;
        for c in callbacks.iter_mut() {
            let mut snapshot = Snapshot {
                net,
                optimizer,
                rng,
                progress: &progress,
            };
            stop |= c.checkpoint(&mut snapshot) == Control::Stop;
        }
        if stop {
            // A checkpoint that could not be written stops the run too.
            progress.history.stopped_early = epoch < stretches;
            break;
        }
    }
    optimizer.set_learning_rate(base_rate);
    for c in callbacks.iter_mut() {
        c.fit_end(net);
    }
    let mut history = progress.history;
    history.seconds = started.elapsed().as_secs_f64();
    Ok(history)
}
