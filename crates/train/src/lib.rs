//! Training networks on MNIST, shared by the `mnist` command and `cargo
//! xtask ladder`: what to build ([`ModelSpec`], [`OptimizerSpec`]), the
//! loop that trains it ([`fit`]) with its [`History`] and [`Callback`]s,
//! the batches it runs on, and one step ([`train_step`]: `nn`'s gradients,
//! then `optim`'s update).
//!
//! ```no_run
//! use rand::SeedableRng;
//! use train::{Data, FitConfig, Length, ModelSpec, Monitor, OptimizerSpec, fit};
//!
//! let mnist = mnist_io::Mnist::load(
//!     std::path::Path::new("data/mnist"),
//!     mnist_io::Split::TensorFlow,
//!     mnist_io::Verify::Checksums,
//! )?;
//! let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(1);
//! let mut net = ModelSpec::default().classifier(&mut rng)?;
//! let mut optimizer = OptimizerSpec::default().build()?;
//! let config = FitConfig {
//!     length: Length::Epochs(15),
//!     batch_size: 100,
//!     learning_rate: 0.01,
//!     schedule: optim::Schedule::Constant,
//!     augment: Default::default(),
//!     monitor: Monitor { test: true, ..Default::default() },
//! };
//! let data = Data { train: &mnist.train, validation: &mnist.validation, test: &mnist.test };
//! let history = fit(&mut net, optimizer.as_mut(), &data, &config, &mut rng, &mut [])?;
//! println!("{:?}", history.records.last());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod batches;
mod early_stopping;
mod fit;
pub mod memory;
mod model;
mod optimizer;
mod step;

pub use batches::{Batch, Metrics, accuracy, evaluate};
pub use early_stopping::EarlyStopping;
pub use fit::{
    Callback, Control, Data, Divergence, FitConfig, History, Length, Monitor, Progress, Record, Snapshot, fit, fit_from,
};
pub use model::{ActivationKind, DropoutKindArg, InitKind, ModelKind, ModelSpec, OutputKind};
pub use optimizer::{CorrectionKind, OptimizerKind, OptimizerSpec, parse_schedule};
pub use step::{train_step, update};

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
