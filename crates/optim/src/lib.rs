//! Optimisers over plain slices: each updates `&mut [f32]` parameters from
//! `&[f32]` gradients and knows nothing of layers.
//!
//! A model calls [`Optimizer::begin_step`] once per training step, then
//! [`Optimizer::update`] once per parameter tensor, always in the same order;
//! `slot` (the parameter's position in that order) lets stateful optimisers
//! keep one state buffer per parameter.
//!
//! ```
//! use mnist_optim::{GradientDescent, Optimizer};
//! let mut w = [1.0f32, 2.0];
//! let mut opt = GradientDescent::new(0.1);
//! opt.begin_step();
//! opt.update(0, &mut w, &[10.0, -10.0]);
//! assert_eq!(w, [0.0, 3.0]);
//! ```

mod adadelta;
mod adagrad;
mod adam;
mod gradient_descent;
mod momentum;
mod parallel;
mod pow;
mod rmsprop;
mod schedule;
mod state;
pub mod surface;

pub use adadelta::AdaDelta;
pub use adagrad::AdaGrad;
pub use adam::{Adam, AdamConfig, BiasCorrection};
pub use gradient_descent::GradientDescent;
pub use momentum::Momentum;
pub use rmsprop::RmsProp;
pub use schedule::{SCHEDULE_HELP, Schedule};

/// An update rule for parameters, applied one parameter tensor at a time.
pub trait Optimizer: Send {
    /// Called once at the start of every step, before the `update` calls.
    fn begin_step(&mut self) {}

    /// Updates the parameter tensor at position `slot` from its gradient.
    fn update(&mut self, slot: usize, value: &mut [f32], grad: &[f32]);

    /// The current learning rate.
    fn learning_rate(&self) -> f32;

    /// Changes the learning rate (for schedules); state is kept.
    fn set_learning_rate(&mut self, lr: f32);

    /// The state the next updates depend on (per-slot accumulators, step
    /// counters), as named buffers, for checkpoints. Settings such as the
    /// learning rate are not state: they come from the optimiser's spec.
    fn save_state(&self) -> NamedState {
        Vec::new()
    }

    /// Puts back a state written by [`Optimizer::save_state`] of the same
    /// kind of optimiser; an entry it does not know is an error naming it.
    fn load_state(&mut self, state: &NamedState) -> Result<(), String> {
        match state.first() {
            None => Ok(()),
            Some((name, _)) => Err(format!("{name:?} is not state of this optimiser (it keeps none)")),
        }
    }
}

/// An optimiser's state as named buffers: `momentum.3.0` is the first
/// buffer of parameter slot 3; counters are one-value buffers.
pub type NamedState = Vec<(String, Vec<f32>)>;

/// The README's examples, compiled and run as doc tests so that they stay true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
