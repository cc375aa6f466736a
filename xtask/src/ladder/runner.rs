//! Running one rung with one seed, through the `train` crate's `fit`: the
//! same code, and so the same figures, as `mnist train` with the same flags.

use mnist_io::Subset;
use nn::Classifier;
use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;
use serde::{Deserialize, Serialize};
use train::{Batch, Callback, Data, FitConfig, History, Length, Metrics, Monitor, evaluate, fit};

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

/// The data of a rung's run.
pub struct RunData<'a> {
    /// Examples to train on.
    pub train: &'a Subset,
    /// Held out (may be empty).
    pub validation: &'a Subset,
    /// Reported.
    pub test: &'a Subset,
}

/// How long the rung trains, under `--quick` or not.
pub fn length(rung: &Rung, quick: bool, train_len: usize) -> Length {
    match (rung.epochs, rung.steps) {
        (Some(epochs), _) => Length::Epochs(if quick { epochs.min(1) } else { epochs }),
        (None, steps) => {
            let steps = steps.unwrap_or(0);
            let steps = if quick {
                rung.quick_steps.unwrap_or(steps / 20).clamp(1, steps.max(1))
            } else {
                steps
            };
            let every = rung.report_every.unwrap_or(train_len / rung.batch_size).max(1);
            Length::Steps {
                steps,
                with_replacement: rung.with_replacement,
                report_every: if quick {
                    every.min(steps.div_ceil(2)).max(1)
                } else {
                    every
                },
            }
        }
    }
}

/// Trains the rung's network with `seed` and measures it.
pub fn run(
    rung: &Rung,
    seed: u64,
    quick: bool,
    data: &RunData<'_>,
    callback: &mut dyn Callback,
) -> Result<Run, String> {
    let started = std::time::Instant::now();
    let fail = |e: &dyn std::fmt::Display| format!("rung {} seed {seed}: {e}", rung.id);
    // As `mnist train`: one generator, first for the weights, then for the
    // batches, so `mnist train --seed N` with the same flags gives the same
    // figures.
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let mut net: Classifier = match rung.data {
        DataKind::Mnist => rung.model.classifier(&mut rng),
        DataKind::Xor => rung.model.classifier_for(2, 2, &mut rng),
    }
    .map_err(|e| fail(&e))?;
    net.weight_decay = rung.weight_decay;
    let mut optimizer = rung.optimizer.build().map_err(|e| fail(&e))?;
    let config = FitConfig {
        length: length(rung, quick, data.train.len()),
        batch_size: rung.batch_size,
        learning_rate: rung.optimizer.lr,
        schedule: optim::Schedule::Constant,
        augment: Default::default(),
        monitor: Monitor {
            train: rung.monitor_train,
            validation: false,
            test: true,
        },
    };
    let fit_data = Data {
        train: data.train,
        validation: data.validation,
        test: data.test,
    };
    let history = fit(
        &mut net,
        optimizer.as_mut(),
        &fit_data,
        &config,
        &mut rng,
        &mut [callback],
    )
    .map_err(|e| fail(&e))?;
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
