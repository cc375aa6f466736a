//! Recipes: named runs, each a set of settings chosen by experiment for one
//! purpose, so that `mnist train --recipe NAME` reproduces it and the
//! ladder reruns it as a rung with the same settings.
//!
//! A recipe's settings are pairs of a setting's name and its value as text,
//! named as [`RunSpec`](crate::RunSpec)'s fields are (`lr`, `augment`, ...)
//! and written as `mnist train`'s flags take them. A front end takes them
//! as defaults, so a setting given beside the recipe still wins.

/// A named run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum Recipe {
    /// The tutorial's CNN trained to read handwriting that is not MNIST's:
    /// photos and drawings (issue 21). Augmented with what separates them
    /// from MNIST (slant, rotation, size, place, elastic wobble, stroke
    /// thickness, blur, noise), Adam 1e-3 with a cosine decay, 12,000 steps
    /// of 50. The ladder's rung R.
    Robust,
    /// 99% in seconds (issue 19): three 3x3 convolutions of 12, 32 and 48
    /// filters, each followed by 2x2 max-pooling, batch norm and ReLU, then
    /// dense 10; Adam 0.02 in one cycle (a fifth of the steps rising, then
    /// down to 0), one epoch of the 55,000 training images: 430 steps of
    /// 128. Chosen on the validation set against two convolutions, wider
    /// and narrower ones, pooling after the ReLU, two epochs, batches of 64
    /// and 256, and label smoothing (`docs/fast.md`). The ladder's rung G.
    Fast,
}

/// The fast recipe's network.
const FAST_ARCH: &str = "conv2d(12,3) maxpool(2) batchnorm relu conv2d(32,3) maxpool(2) batchnorm relu \
conv2d(48,3) maxpool(2) batchnorm relu flatten dense(10)";

impl Recipe {
    /// Every recipe.
    pub const ALL: [Recipe; 2] = [Recipe::Robust, Recipe::Fast];

    /// The name `--recipe` takes.
    pub fn name(self) -> &'static str {
        match self {
            Recipe::Robust => "robust",
            Recipe::Fast => "fast",
        }
    }

    /// The id of the ladder's rung that runs the same settings.
    pub fn rung(self) -> &'static str {
        match self {
            Recipe::Robust => "R",
            Recipe::Fast => "G",
        }
    }

    /// The recipe of that name.
    pub fn from_name(name: &str) -> Option<Recipe> {
        Recipe::ALL.into_iter().find(|r| r.name() == name)
    }

    /// `command` (one that has `RunSpec`'s flags, such as `mnist train`)
    /// with the recipe's settings as its defaults, so that flags given on a
    /// command line still win.
    ///
    /// # Errors
    /// If a setting is not one of the command's arguments (a test of every
    /// recipe guards against it).
    #[cfg(feature = "clap")]
    pub fn as_defaults(self, mut command: clap::Command) -> Result<clap::Command, clap::Error> {
        for &(id, value) in self.settings() {
            if command.get_arguments().all(|a| a.get_id() != id) {
                return Err(clap::Error::raw(
                    clap::error::ErrorKind::UnknownArgument,
                    format!("recipe {}: {id} is not a setting of a run", self.name()),
                ));
            }
            command = command.mut_arg(id, |arg| arg.default_value(value));
        }
        Ok(command)
    }

    /// The run specification the recipe makes: its settings read as
    /// `mnist train`'s flags would read them, every other setting at its
    /// default.
    ///
    /// # Errors
    /// If a setting is not one of `RunSpec`'s or its value does not parse
    /// (a test of every recipe guards against it).
    #[cfg(feature = "clap")]
    pub fn spec(self) -> Result<crate::RunSpec, clap::Error> {
        use clap::{Args, FromArgMatches};
        let command = self.as_defaults(crate::RunSpec::augment_args(clap::Command::new(self.name())))?;
        let matches = command.try_get_matches_from([self.name()])?;
        crate::RunSpec::from_arg_matches(&matches)
    }

    /// The settings: (field name, value as a flag takes it).
    pub fn settings(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Recipe::Robust => &[
                ("model", "cnn"),
                ("dropout", "0.5"),
                ("optimizer", "adam"),
                ("lr", "0.001"),
                ("schedule", "cosine"),
                ("steps", "12000"),
                ("report_every", "1000"),
                ("report_validation", "true"),
                ("report_test", "false"),
                ("batch_size", "50"),
                (
                    "augment",
                    "rotate=10,shift=2,scale=0.1,shear=10,elastic=34:6,thickness=0.5,blur=0.8,noise=0.05",
                ),
            ],
            Recipe::Fast => &[
                ("arch", FAST_ARCH),
                ("optimizer", "adam"),
                ("lr", "0.02"),
                ("schedule", "onecycle:0.2"),
                ("steps", "430"),
                ("report_every", "430"),
                ("report_validation", "true"),
                ("batch_size", "128"),
            ],
        }
    }
}
