//! Training networks on MNIST, shared by the `mnist` command and `cargo
//! xtask ladder`: one run specification ([`RunSpec`]: what to build,
//! [`ModelSpec`], [`OptimizerSpec`], and how to train it, [`FitConfig`]),
//! the loop that trains it ([`fit`]) with its [`History`] and [`Callback`]s,
//! the batches it runs on, and one step ([`train_step`]: `nn`'s gradients,
//! then `optim`'s update).
//!
//! ```no_run
//! use mnist_train::{Data, Run, RunSpec, fit};
//!
//! // A run as `mnist train --epochs 15 --report-test` describes it (all other
//! // settings at their defaults: the tutorial's MLP, SGD at 0.01, batch 100).
//! let mut spec = RunSpec::default();
//! spec.fit.epochs = Some(15);
//! spec.fit.report_test = Some(true);
//! let Run { mut net, mut optimizer, mut rng, .. } = spec.start()?;
//! let mnist = mnist_io::Mnist::load(
//!     std::path::Path::new("data/mnist"),
//!     spec.split,
//!     mnist_io::Verify::Checksums,
//! )?;
//! let history = fit(&mut net, optimizer.as_mut(), &Data::of(&mnist), &spec.fit, &mut rng, &mut [])?;
//! println!("{:?}", history.records.last());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod batches;
mod early_stopping;
mod fit;
pub mod memory;
mod model;
mod optimizer;
pub mod recipe;
mod run;
mod step;
mod text;

pub use batches::{Batch, Metrics, accuracy, evaluate};
pub use early_stopping::EarlyStopping;
pub use fit::{
    Callback, Control, Data, Divergence, FitConfig, History, Length, Monitor, Progress, Record, Snapshot, fit, fit_from,
};
pub use model::{ActivationKind, DropoutKindArg, InitKind, ModelKind, ModelSpec, OutputKind};
pub use optimizer::{CorrectionKind, OptimizerKind, OptimizerSpec};
pub use recipe::Recipe;
pub use run::{Run, RunSpec};
pub use step::{clip_gradients, train_step, update};

/// The threads that train: rayon's (RAYON_NUM_THREADS, else one per
/// core), each with denormals flushed to zero, which is faster and changes
/// results, so everything that trains (the `mnist` command, the ladder)
/// must use the same setting to give the same figures. Checks the kernel
/// named by MNIST_KERNEL once, so a bad value is an error, not a panic.
pub fn compute_pool() -> Result<rayon::ThreadPool, Box<dyn std::error::Error + Send + Sync>> {
    kernels::Isa::from_env()?;
    let pool = rayon::ThreadPoolBuilder::new()
        .start_handler(|_| {
            kernels::denormals::flush_denormals();
        })
        .build()?;
    Ok(pool)
}

/// A spec that cannot be built: a number out of range, a combination that
/// makes no sense; the message says which.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SpecError(pub String);

impl From<nn::NnError> for SpecError {
    fn from(e: nn::NnError) -> Self {
        SpecError(e.to_string())
    }
}

/// The README's examples, compiled and run as doc tests so that they stay true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
