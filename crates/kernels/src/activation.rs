//! Activation functions, forward and backward, elementwise.
//!
//! Backward passes take the forward *output* `y`, which is all ReLU and
//! sigmoid need, so a layer keeps no cache of its own.
//!
//! Long tensors (a CNN's first feature maps: 1.25 million values at batch
//! 50) are split over threads; each value depends on its own inputs alone,
//! so the split changes no result.

use rayon::prelude::*;

/// Values per task of the element-wise loops.
const CHUNK: usize = 1 << 15;

/// `y[i] = f(x[i])`, in parallel when long.
fn map(x: &[f32], y: &mut [f32], f: impl Fn(f32) -> f32 + Sync) {
    assert_eq!(x.len(), y.len());
    let run = |x: &[f32], y: &mut [f32]| map_chunk(x, y, &f);
    if x.len() <= CHUNK {
        run(x, y);
    } else {
        x.par_chunks(CHUNK)
            .zip(y.par_chunks_mut(CHUNK))
            .for_each(|(x, y)| run(x, y));
    }
}

/// `dx[i] = f(a[i], dy[i])`, in parallel when long.
fn zip_map(a: &[f32], dy: &[f32], dx: &mut [f32], f: impl Fn(f32, f32) -> f32 + Sync) {
    assert!(a.len() == dy.len() && dy.len() == dx.len());
    let run = |a: &[f32], dy: &[f32], dx: &mut [f32]| zip_map_chunk(a, dy, dx, &f);
    if a.len() <= CHUNK {
        run(a, dy, dx);
    } else {
        a.par_chunks(CHUNK)
            .zip(dy.par_chunks(CHUNK))
            .zip(dx.par_chunks_mut(CHUNK))
            .for_each(|((a, dy), dx)| run(a, dy, dx));
    }
}

crate::wide_fn! {
    /// One chunk of [`map`], compiled for AVX2 where the kernel in use has
    /// it (the activations are closures, instantiated inside both copies).
    fn map_chunk(x: &[f32], y: &mut [f32], f: &impl Fn(f32) -> f32) {
        y.iter_mut().zip(x).for_each(|(yi, &xi)| *yi = f(xi));
    }
}

crate::wide_fn! {
    /// One chunk of [`zip_map`], as [`map_chunk`].
    fn zip_map_chunk(a: &[f32], dy: &[f32], dx: &mut [f32], f: &impl Fn(f32, f32) -> f32) {
        dx.iter_mut()
            .zip(a)
            .zip(dy)
            .for_each(|((d, &ai), &dyi)| *d = f(ai, dyi));
    }
}

/// `y = max(x, 0)`.
pub fn relu_forward(x: &[f32], y: &mut [f32]) {
    map(x, y, |xi| xi.max(0.0));
}

/// `dx = dy` where `y > 0`, else 0 (the subgradient at 0 is taken as 0, as
/// TensorFlow and PyTorch do).
pub fn relu_backward(y: &[f32], dy: &[f32], dx: &mut [f32]) {
    zip_map(y, dy, dx, |yi, dyi| if yi > 0.0 { dyi } else { 0.0 });
}

/// The logistic function `1 / (1 + e^-x)`, written so that it neither
/// overflows nor loses precision for large `|x|`.
#[inline]
pub fn sigmoid(x: f32) -> f32 {
    crate::math::sigmoid(x)
}

/// `y = sigmoid(x)`.
pub fn sigmoid_forward(x: &[f32], y: &mut [f32]) {
    map(x, y, sigmoid);
}

/// `dx = dy * y * (1 - y)`.
pub fn sigmoid_backward(y: &[f32], dy: &[f32], dx: &mut [f32]) {
    zip_map(y, dy, dx, |yi, dyi| dyi * yi * (1.0 - yi));
}

/// `y = tanh(x)`.
pub fn tanh_forward(x: &[f32], y: &mut [f32]) {
    map(x, y, crate::math::tanh);
}

/// `dx = dy * (1 - y²)`.
pub fn tanh_backward(y: &[f32], dy: &[f32], dx: &mut [f32]) {
    zip_map(y, dy, dx, |yi, dyi| dyi * (1.0 - yi * yi));
}

/// `y = x` where `x > 0`, else `slope * x`.
pub fn leaky_relu_forward(x: &[f32], y: &mut [f32], slope: f32) {
    map(x, y, |xi| if xi > 0.0 { xi } else { slope * xi });
}

/// `dx = dy` where `x > 0`, else `slope * dy`. Takes the input `x`: with a
/// negative slope the output's sign alone would do, but not with slope 0.
pub fn leaky_relu_backward(x: &[f32], dy: &[f32], dx: &mut [f32], slope: f32) {
    zip_map(x, dy, dx, |xi, dyi| if xi > 0.0 { dyi } else { slope * dyi });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sigmoid_is_stable_at_the_extremes() {
        assert_eq!(sigmoid(0.0), 0.5);
        assert_eq!(sigmoid(1000.0), 1.0);
        assert_eq!(sigmoid(-1000.0), 0.0);
        assert!((sigmoid(-20.0) - 2.0611537e-9).abs() < 1e-15);
    }

    #[test]
    fn relu_backward_masks_by_output() {
        let mut dx = [9.0; 3];
        relu_backward(&[0.0, 2.0, 0.0], &[1.0, 2.0, 3.0], &mut dx);
        assert_eq!(dx, [0.0, 2.0, 0.0]);
    }
}
