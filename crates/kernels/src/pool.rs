//! Max pooling over NHWC images, forward and backward.
//!
//! Forward keeps, for each output, the index of the input element that won
//! (the first of equal maxima); backward sends each output's gradient to
//! that element alone. Padding (SAME) never wins: TensorFlow pads max
//! pooling with minus infinity.

use rayon::prelude::*;

use crate::conv::ConvGeometry;

const IMAGES_PER_TASK: usize = 4;

/// `y[n, oy, ox, c] = max` over the window, and `argmax` the flat index into
/// `x` of each maximum. `y` and `argmax` hold `batch * out_h * out_w * c`.
pub fn max_pool_forward(g: &ConvGeometry, batch: usize, x: &[f32], y: &mut [f32], argmax: &mut [u32]) {
    let (img, c) = (g.image_len(), g.channels);
    let out = g.positions() * c;
    assert_eq!(x.len(), batch * img, "max_pool: input size");
    assert!(
        y.len() == batch * out && argmax.len() == batch * out,
        "max_pool: output size"
    );
    assert!(x.len() <= u32::MAX as usize, "max_pool: indices are u32");
    y.par_chunks_mut(IMAGES_PER_TASK * out)
        .zip(argmax.par_chunks_mut(IMAGES_PER_TASK * out))
        .enumerate()
        .for_each(|(t, (y, argmax))| {
            for (i, (y, argmax)) in y.chunks_exact_mut(out).zip(argmax.chunks_exact_mut(out)).enumerate() {
                let base = (t * IMAGES_PER_TASK + i) * img;
                for oy in 0..g.out_h {
                    for ox in 0..g.out_w {
                        let o = (oy * g.out_w + ox) * c;
                        y[o..o + c].fill(f32::NEG_INFINITY);
                        for ky in 0..g.kernel_h {
                            for kx in 0..g.kernel_w {
                                let (Some(yy), Some(xx)) = (
                                    (oy * g.stride + ky).checked_sub(g.pad_top).filter(|&v| v < g.height),
                                    (ox * g.stride + kx).checked_sub(g.pad_left).filter(|&v| v < g.width),
                                ) else {
                                    continue;
                                };
                                let src = base + (yy * g.width + xx) * c;
                                window_max(&x[src..src + c], src as u32, &mut y[o..o + c], &mut argmax[o..o + c]);
                            }
                        }
                    }
                }
            }
        });
}

/// Folds one input pixel's channels `x` (at flat index `first`) into the
/// running maxima `y` and their indices `argmax`. Written without branches
/// so that the compiler makes it compare-and-blend SIMD across channels.
/// `>` keeps the first of equal maxima; a NaN input wins so that it is not
/// hidden.
#[inline]
fn window_max(x: &[f32], first: u32, y: &mut [f32], argmax: &mut [u32]) {
    let n = x.len().min(y.len()).min(argmax.len());
    let (x, y, argmax) = (&x[..n], &mut y[..n], &mut argmax[..n]);
    for ch in 0..n {
        let (v, best) = (x[ch], y[ch]);
        let wins = v > best || (v.is_nan() & !best.is_nan());
        y[ch] = if wins { v } else { best };
        argmax[ch] = if wins { first + ch as u32 } else { argmax[ch] };
    }
}

/// `dx[argmax[i]] += dy[i]` for every output `i`; `dx` is overwritten.
pub fn max_pool_backward(dy: &[f32], argmax: &[u32], dx: &mut [f32]) {
    assert_eq!(dy.len(), argmax.len(), "max_pool_backward: sizes");
    dx.fill(0.0);
    for (&g, &i) in dy.iter().zip(argmax) {
        dx[i as usize] += g;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conv::Padding;

    #[test]
    fn pools_two_by_two() {
        let g = ConvGeometry::new(2, 4, 1, 2, 2, 2, Padding::Same).unwrap();
        let x = [1.0, 5.0, 2.0, 2.0, 3.0, 4.0, 9.0, 2.0];
        let (mut y, mut arg) = ([0.0; 2], [0u32; 2]);
        max_pool_forward(&g, 1, &x, &mut y, &mut arg);
        assert_eq!((y, arg), ([5.0, 9.0], [1, 6]));
        let mut dx = [7.0; 8];
        max_pool_backward(&[1.0, 2.0], &arg, &mut dx);
        assert_eq!(dx, [0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 2.0, 0.0]);
    }
}
