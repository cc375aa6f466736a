//! Compute kernels on plain `f32` slices.
//!
//! Kernels know nothing of layers or tensors: they take slices, sizes and
//! leading dimensions, and write into caller-owned buffers so that a training
//! loop allocates nothing per batch.
//!
//! - [`gemm`]: general matrix multiply, `C = alpha * A * B + beta * C`, on
//!   [`matrix`] views (transposed, or a block of a wider matrix).
//! - [`isa`]: the instruction sets, and the one this process runs.
//! - [`conv`]: im2col and col2im for convolution by GEMM (NHWC).
//! - [`conv_direct`]: convolution of images with few channels, without im2col (the same bits).
//! - [`pool`]: max pooling, forward and backward.
//! - [`activation`]: ReLU and sigmoid, forward and backward.
//! - [`softmax`]: softmax with cross-entropy, forward and backward.
//! - [`vector`]: bias add, column sums, scaling.
//! - [`normalize`]: batch normalisation's statistics and passes, per feature.
//! - [`wide`] and [`wide_fn!`]: element-wise loops compiled for AVX2 where the kernel in use has it.
//! - [`math`]: our own exp, ln, tanh, sigmoid, sin/cos (the same bits on every CPU).
//! - [`denormals`]: flush-to-zero for the threads that train.
//! - [`peak`]: this machine's peak FMA rate, to quote speeds against.
//!
//! Every kernel computes in one order on every instruction set, so a seed
//! gives the same bits on AVX-512, AVX2 and the portable path, on any
//! thread count: [`reproducibility`] says what is guaranteed and where.

pub mod activation;
pub mod cache;
pub mod conv;
pub mod conv_direct;
pub mod denormals;
pub mod gemm;
pub mod isa;
pub mod math;
pub mod matrix;
pub mod normalize;
pub mod peak;
pub mod pool;
pub mod reproducibility;
pub mod scratch;
pub mod softmax;
pub mod vector;
pub mod wide;

pub use gemm::sgemm;
pub use isa::Isa;
pub use matrix::{MatMut, MatRef, Transpose};

/// The README's examples, compiled and run as doc tests so that they stay true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
