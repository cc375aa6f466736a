//! Running one rung with one seed, through the `train` crate's `fit`: the
//! same code, and so the same figures, as `mnist train` with the same flags.

use mnist_io::Subset;
use serde::{Deserialize, Serialize};
use train::{Batch, Callback, Data, History, Length, Metrics, RunSpec, evaluate, fit};

use super::config::{DataKind, Rung};

/// The outcome of one seed.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Run {
    /// The seed (of the initial weights, batch order and dropout masks).
    pub seed: u64,
    /// On the training set, after training.
    pub train: Metrics,
    /// On the test set, after training.
    pub test: Metrics,
    /// On the held-out set, when there is one.
    pub validation: Option<Metrics>,
    /// Wall time, training and evaluation, seconds.
    pub seconds: f64,
    /// Threads it ran on (no figure depends on it; 0 in files that predate
    /// this field).
    #[serde(default)]
    pub threads: usize,
    /// The per-epoch (or per-report) history.
    pub history: History,
}

/// The run of `rung` with `seed`, under `--quick` or not, on a training
/// set of `train_len` examples: the rung's own specification, with the
/// ladder's monitoring (the test accuracy at every record, for its plots;
/// validation only at the end) unless the rung sets its own.
pub fn spec(rung: &Rung, seed: u64, quick: bool, train_len: usize) -> RunSpec {
    let mut spec = rung.run.clone();
    spec.seed = seed;
    spec.fit.report_test.get_or_insert(true);
    spec.fit.report_validation.get_or_insert(false);
    if quick {
        let fit = &mut spec.fit;
        match fit.length(train_len) {
            Length::Epochs(epochs) => fit.epochs = Some(epochs.min(1)),
            Length::Steps {
                steps, report_every, ..
            } => {
                let quick_steps = rung.quick_steps.unwrap_or(steps / 20).clamp(1, steps.max(1));
                fit.steps = Some(quick_steps);
                fit.report_every = Some(report_every.min(quick_steps.div_ceil(2)).max(1));
            }
        }
    }
    spec
}

/// Trains the rung's network with `seed` and measures it: `mnist train`
/// with the same settings and seed gives the same figures, as both start
/// the same [`RunSpec`] and train it through `fit`.
pub fn run(rung: &Rung, seed: u64, quick: bool, data: &Data<'_>, callback: &mut dyn Callback) -> Result<Run, String> {
    let started = std::time::Instant::now();
    let fail = |e: &dyn std::fmt::Display| format!("rung {} seed {seed}: {e}", rung.id);
    let spec = spec(rung, seed, quick, data.train.len());
    let started_run = match rung.data {
        DataKind::Mnist => spec.start(),
        DataKind::Xor => spec.start_for(2, 2),
    };
    let train::Run {
        mut net,
        mut optimizer,
        mut rng,
        ..
    } = started_run.map_err(|e| fail(&e))?;
    let history =
        fit(&mut net, optimizer.as_mut(), data, &spec.fit, &mut rng, &mut [callback]).map_err(|e| fail(&e))?;
    let mut batch = Batch::default();
    let mut measure = |subset: &Subset| evaluate(&mut net, subset, &mut batch).map_err(|e| fail(&e));
    let train = measure(data.train)?;
    let test = measure(data.test)?;
    let validation = if data.validation.is_empty() {
        None
    } else {
        Some(measure(data.validation)?)
    };
    Ok(Run {
        seed,
        train,
        test,
        validation,
        seconds: started.elapsed().as_secs_f64(),
        threads: rayon::current_num_threads(),
        history,
    })
}

/// XOR's four points, as examples of two values (0 or 255, so 0 or 1 once
/// scaled), labelled x1 xor x2.
pub fn xor() -> Subset {
    Subset::with_width(vec![0, 0, 0, 255, 255, 0, 255, 255], vec![0, 1, 1, 0], 2)
}

/// An estimate of the floating-point work of `images` training examples and
/// `evaluated` evaluated ones through `net`: two operations per weight and
/// position a forward pass, three forward passes' worth for a training
/// step. Only used to estimate the time left.
pub fn work(net: &nn::Sequential, images: f64, evaluated: f64) -> f64 {
    let mut forward = 0.0;
    for (layer, shape) in net.layers().zip(net.layer_output_shapes()) {
        let dims = shape.dims();
        let positions: usize = dims[..dims.len().saturating_sub(1)].iter().product();
        forward += 2.0 * layer.param_count() as f64 * positions.max(1) as f64;
    }
    forward * (3.0 * images + evaluated)
}

/// A rung's runs and what they add up to.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RungResult {
    /// The rung as it was configured.
    pub rung: Rung,
    /// Reduced (`--quick`) or full.
    pub quick: bool,
    /// One per seed.
    pub runs: Vec<Run>,
}
