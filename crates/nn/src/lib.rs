//! Layers with explicit forward and backward passes, a [`Sequential`] model,
//! losses and initialisers.
//!
//! A layer is a pair of functions, `forward` and `backward`, side by side in
//! one file. The model owns every activation buffer and hands each layer its
//! input, its output and the gradients, so layers cache nothing they can be
//! given and a training step allocates nothing once the buffers exist.
//!
//! ```
//! use mnist_nn::{Dense, Init, Relu, Sequential};
//! use rand::SeedableRng;
//! use tensor::{Shape, Tensor};
//!
//! let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(0);
//! let init = Init::Normal { mean: 0.0, std: 0.1 };
//! let mut model = Sequential::new(Shape::new(&[4]));
//! model.push(Dense::new(4, 3, &init, &Init::Zeros, &mut rng))?;
//! model.push(Relu)?;
//! let x = Tensor::zeros(Shape::new(&[2, 4]));
//! let y = model.forward(&x, mnist_nn::Mode::Eval)?;
//! assert_eq!(y.shape().dims(), &[2, 3]);
//! # Ok::<(), mnist_nn::NnError>(())
//! ```

mod activation;
mod batch_norm;
pub mod builder;
mod classifier;
mod conv2d;
mod dense;
mod dropout;
mod error;
pub mod gradcheck;
mod init;
mod layer;
pub mod layer_spec;
mod loss;
pub mod plan;
mod pooling;
mod sequential;
mod summary;

pub use activation::{LeakyRelu, Relu, Sigmoid, Tanh};
pub use batch_norm::BatchNorm;
pub use builder::Builder;
pub use classifier::Classifier;
pub use conv2d::Conv2d;
pub use dense::Dense;
pub use dropout::{Dropout, DropoutKind};
pub use error::NnError;
pub use init::{Init, TRUNCATED_STD};
pub use kernels::conv::Padding;
pub use layer::{Layer, Mode, ParamMut};
pub use layer_spec::LayerSpec;
pub use loss::{SigmoidBinaryCrossEntropy, SoftmaxCrossEntropy};
pub use plan::LayerPlan;
pub use pooling::{Flatten, MaxPool2d};
pub use sequential::{NamedTensorVisitor, Sequential};
pub use summary::{summary_of, with_commas};
/// The tensor type layers read and write, so that users of `nn` need not
/// name the `tensor` crate.
pub use tensor::{Shape, Tensor};

/// The README's examples, compiled and run as doc tests so that they stay true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
