//! One run specification: everything that decides what a training run
//! computes (the network, the optimiser, how long and on what batches, the
//! seed, the split), as plain data. `mnist train`'s flags and a
//! `ladder.toml` rung are both this struct flattened, and a model file
//! keeps it as the record of how the model was trained, so an option added
//! to it (or to the [`ModelSpec`], [`OptimizerSpec`] or [`FitConfig`] it
//! holds) is an option everywhere, with its doc as the flag's help.

use std::collections::BTreeMap;

use mnist_io::Split;
use nn::Classifier;
use optim::Optimizer;
use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;
use serde::de::IgnoredAny;
use serde::{Deserialize, Serialize};

use crate::{EarlyStopping, FitConfig, ModelSpec, OptimizerSpec, SpecError};

/// A training run, described.
///
/// ```
/// let spec: mnist_train::RunSpec = toml::from_str(
///     r#"
///     steps = 500
///     batch_size = 50
///     model = { model = "cnn" }
///     optimizer = { optimizer = "adam", lr = 1e-4 }
///     "#,
/// )?;
/// spec.validate()?;
/// assert_eq!(spec.fit.length(55_000), mnist_train::Length::Steps { steps: 500, with_replacement: false, report_every: 1_100 });
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::Args))]
#[serde(default)]
pub struct RunSpec {
    /// The network.
    #[cfg_attr(feature = "clap", command(flatten))]
    pub model: ModelSpec,
    /// The optimiser, with the learning rate.
    #[cfg_attr(feature = "clap", command(flatten))]
    pub optimizer: OptimizerSpec,
    /// The length, batches, schedule, regularisation, augmentation and
    /// monitoring (at the top level of the text forms, not a table).
    #[cfg_attr(feature = "clap", command(flatten))]
    #[serde(flatten)]
    pub fit: FitConfig,
    /// Seed of every random choice (initial weights, batch order, dropout
    /// masks, augmentation).
    #[cfg_attr(feature = "clap", arg(long, default_value_t = RunSpec::default().seed))]
    pub seed: u64,
    /// How the 60,000 training images are split: tensorflow (55,000 to
    /// train, 5,000 for validation, TensorFlow's input_data) or full (all
    /// 60,000 to train, as Keras and the NumPy course).
    #[cfg_attr(feature = "clap", arg(long, default_value_t = RunSpec::default().split))]
    #[serde(with = "crate::text")]
    pub split: Split,
    /// Settings this version does not know, read from a text form: kept
    /// only so that [`RunSpec::validate`] can name them (serde cannot deny
    /// unknown fields through a flattened struct).
    #[cfg_attr(feature = "clap", arg(skip))]
    #[serde(flatten, skip_serializing)]
    pub unknown: BTreeMap<String, IgnoredAny>,
}

impl Default for RunSpec {
    fn default() -> Self {
        Self {
            model: ModelSpec::default(),
            optimizer: OptimizerSpec::default(),
            fit: FitConfig::default(),
            seed: 1,
            split: Split::TensorFlow,
            unknown: BTreeMap::new(),
        }
    }
}

/// A run ready to train: the network with its initial weights, the
/// optimiser, the generator (after the weights were drawn from it, as the
/// batches draw from it next) and early stopping if asked for.
pub struct Run {
    /// The network.
    pub net: Classifier,
    /// The optimiser, fresh.
    pub optimizer: Box<dyn Optimizer>,
    /// The run's generator.
    pub rng: Xoshiro256PlusPlus,
    /// `fit.early_stopping`'s callback.
    pub stopping: Option<EarlyStopping>,
}

impl RunSpec {
    /// Checks every part; an unknown setting is named.
    pub fn validate(&self) -> Result<(), SpecError> {
        if let Some(name) = self.unknown.keys().next() {
            return Err(SpecError(format!("unknown setting `{name}`")));
        }
        self.model.validate()?;
        self.optimizer.validate()?;
        self.fit.validate()
    }

    /// The MNIST network, the optimiser and the generator, seeded with
    /// `seed`. A network whose parameters, gradients, optimiser state and
    /// activations would not fit in this machine's free memory is refused
    /// before anything is allocated.
    pub fn start(&self) -> Result<Run, SpecError> {
        self.validate()?;
        crate::memory::check_fits(
            &self.model.plan()?,
            &crate::memory::Needs::of(&self.optimizer, self.fit.batch_size),
            crate::memory::available_memory(),
        )?;
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(self.seed);
        let net = self.model.classifier(&mut rng)?;
        self.finish(net, rng)
    }

    /// As [`RunSpec::start`], for an MLP on examples of `inputs` values in
    /// `classes` classes (the XOR experiments).
    pub fn start_for(&self, inputs: usize, classes: usize) -> Result<Run, SpecError> {
        self.validate()?;
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(self.seed);
        let net = self.model.classifier_for(inputs, classes, &mut rng)?;
        self.finish(net, rng)
    }

    fn finish(&self, net: Classifier, rng: Xoshiro256PlusPlus) -> Result<Run, SpecError> {
        Ok(Run {
            net,
            optimizer: self.optimizer.build()?,
            rng,
            stopping: self.fit.early_stopping.map(EarlyStopping::new),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A text form sets any field by its name, and a misspelt one is named.
    #[test]
    fn every_setting_reads_from_toml_and_a_misspelt_one_is_named() {
        let spec: RunSpec = toml::from_str(
            "steps = 300\nclip_norm = 1.5\nschedule = \"warmup:2\"\naugment = \"rotate=5\"\nsplit = \"full\"\nseed = 4",
        )
        .unwrap();
        spec.validate().unwrap();
        assert_eq!(
            (spec.fit.steps, spec.fit.clip_norm, spec.split, spec.seed),
            (Some(300), Some(1.5), Split::Full, 4)
        );
        assert_eq!(spec.fit.schedule, optim::Schedule::Warmup { warmup: 2 });
        assert_eq!(spec.fit.augment.rotate_degrees, 5.0);
        let back: RunSpec = toml::from_str(&toml::to_string(&spec).unwrap()).unwrap();
        assert_eq!(back, spec, "written and read back");
        let typo: RunSpec = toml::from_str("clip_nrom = 1.5").unwrap();
        assert_eq!(typo.validate().unwrap_err().to_string(), "unknown setting `clip_nrom`");
        assert!(toml::from_str::<RunSpec>("schedule = \"linear\"").is_err());
    }
}
