//! # One arithmetic on every CPU: what is guaranteed, where, and why
//!
//! **The guarantee.** With the same source (and `Cargo.lock`), the same
//! seed and the same flags, a training run computes the same bits on
//! every x86-64 CPU with FMA (Intel from Haswell, 2013; AMD from
//! Piledriver, 2012), whichever kernel runs (AVX-512, AVX2 or the portable
//! one, chosen by the CPU or forced with `MNIST_KERNEL`) and on any number
//! of threads. So the committed ladder (`results/ladder.json`) reruns
//! identically on anyone's machine. The tests check it: every GEMM kernel
//! against every other for identical bits on random shapes
//! (`tests/gemm.rs`), pooling on every instruction set, and whole training
//! runs (an MLP with dropout, batch norm, Adam and augmentation, a sigmoid
//! MLP, the CNN, the XOR rungs) saving identical model files on every
//! kernel and on one and two threads (`cli/tests/same_bits.rs`,
//! `xtask/tests/ladder.rs`).
//!
//! **Why it holds.** Only two things make floating-point results depend on
//! the machine: code that runs different instructions on different CPUs,
//! and library functions whose last bits differ between implementations.
//!
//! - Plain Rust arithmetic is the same everywhere: `+ - * /` and `sqrt` are
//!   correctly rounded (IEEE 754), and Rust never fuses `a * b + c` into
//!   one FMA nor reorders a sum, so neither the compiler's vectorisation
//!   nor another CPU can change a result. Every kernel below written as
//!   plain loops needs nothing more.
//! - The kernels that use CPU-specific instructions (the GEMM, pooling)
//!   define one order of operations, independent of the vector width, and
//!   every instruction set implements it.
//! - No libm: `exp`, `ln`, `ln_1p`, `tanh`, `sigmoid`, `sin`, `cos`, `tan`
//!   and the initialisers' `ln` are our own ([`crate::math`]), fixed
//!   polynomials and range reductions in plain arithmetic, with error bounds
//!   stated and tested against `f64`. (glibc alone picks an FMA or an SSE2
//!   `expf` by CPU; musl, macOS and Windows have their own.) Integer powers
//!   are repeated squaring in a fixed order, not `powi`, whose precision
//!   Rust leaves open.
//!
//! **The order of each kernel.**
//!
//! | kernel | order of the arithmetic |
//! | --- | --- |
//! | GEMM, blocked (n > 16, or A stored transposed) | each `C[i][j]` over depth blocks of equal size, at most 256 (`ceil(k / ceil(k / 256))`, from k alone), in turn; within a block `acc = fma(a[i][p], b[p][j], acc)` for p ascending from `acc = +0`; then `v = alpha * acc` (skipped when alpha = 1, which is exact) and `C = v` when beta = 0 (C not read), else `C = fma(C, beta, v)`; later blocks add with beta = 1. The tile sizes (10 x 32, 6 x 16, 6 x 8) and the split into tasks differ, but no element's order depends on them. |
//! | GEMM, dot products (n <= 16 and A row-major; by shape, on every ISA) | 16 partial sums per element, sum `l` taking `p = l, l + 16, ...` by FMA from +0, the steps past k as `0 * 0`; added as lane `l` + `l + 8`, then `+ 4`, `+ 2`, `+ 1`; then the epilogue above. One zmm register on AVX-512, two ymm on AVX2, an array on the portable path. |
//! | im2col / col2im | copies; col2im adds each patch's values into the image in patch order (output position, then kernel row). |
//! | max pooling | comparisons only (exact); the first of equal maxima wins, NaN wins. |
//! | bias add, bias gradient | one add per element; column sums row by row in `f32`. |
//! | ReLU, leaky ReLU | exact. |
//! | sigmoid, tanh | [`crate::math::sigmoid`], [`crate::math::tanh`]; their gradients in plain arithmetic from the outputs. |
//! | softmax cross-entropy | per row: the max; `exp(z - max)` by [`crate::math::exp`] summed in class order in `f32`; probabilities times `1 / sum`; the loss `ln(sum) - (z[label] - max)` by [`crate::math::ln`], summed over the batch in `f64` in order. |
//! | batch norm | means and variances in `f64`, in batch order; `1 / sqrt(var + eps)`. |
//! | dropout | masks from the seeded xoshiro stream, in element order; one multiply. |
//! | optimisers | element-wise plain arithmetic (no FMA), as written in each `optim` module; Adam's bias corrections by repeated squaring in `f64`. |
//! | loss and accuracy sums | `f64` and integer counts, in batch order. |
//! | augmentation | bilinear interpolation in plain arithmetic; rotation and shear through [`crate::math::sin_cos`] and [`crate::math::tan`], the elastic field's Gaussian through [`crate::math::exp`]. |
//! | initialisers | uniform draws from the generator's integer bits; normal draws by Marsaglia's polar method with [`crate::math::ln_f64`]. |
//!
//! Threads never change an order: work is split by shape (tasks of fixed
//! size, whichever thread runs them), and no sum is split across threads.
//!
//! **Where it does not hold.**
//!
//! - x86-64 CPUs without FMA (Intel before Haswell, AMD before Piledriver,
//!   Intel Atom-class cores such as Goldmont in Celeron and Pentium Silver
//!   parts, and virtual machines that hide FMA). There only the portable
//!   kernel runs, and it multiplies and adds separately: a correctly
//!   rounded fused multiply-add in software costs tens of times more. Their
//!   products (GEMM) differ in the last bits from everyone else's, so their
//!   runs drift apart by the usual run-to-run amount; everything outside the
//!   GEMM is the same bits. The run is still the same on every thread count.
//! - Denormals: training threads set flush-to-zero and denormals-are-zero
//!   on x86-64 ([`crate::denormals`]), so tiny values are zeros on every
//!   x86-64 CPU. On other architectures that setting is not made.
//! - ARM64 and other operating systems: nothing here depends on them (the
//!   portable kernels use NEON's FMA, the same order), but no test has run
//!   there; the denormal setting above is the known difference.
//! - A different source or a different `Cargo.lock` (the generators'
//!   streams are `rand`'s and `rand_xoshiro`'s). The Rust compiler's
//!   version should not matter (float semantics are IEEE's and casts
//!   saturate), but only the one this project builds with was tested.
