//! Max pooling over NHWC images, forward and backward.
//!
//! Forward keeps, for each output, the index of the input element that won
//! (the first of equal maxima); backward sends each output's gradient to
//! that element alone. Padding (SAME) never wins: TensorFlow pads max
//! pooling with minus infinity.

use rayon::prelude::*;

use crate::Isa;
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
                max_pool_image(g, &x[base..base + img], base, y, argmax);
            }
        });
}

/// [`max_pool_forward`] of one image `x`, whose first element is at flat
/// index `base` of its batch (the indices in `argmax` count from there):
/// for a pass that pools each image as soon as it has it, such as a
/// convolution's, while the image is still in cache.
pub fn max_pool_image(g: &ConvGeometry, x: &[f32], base: usize, y: &mut [f32], argmax: &mut [u32]) {
    let out = g.positions() * g.channels;
    assert_eq!(x.len(), g.image_len(), "max_pool_image: input size");
    assert!(y.len() == out && argmax.len() == out, "max_pool_image: output size");
    assert!(base + x.len() <= u32::MAX as usize, "max_pool: indices are u32");
    forward_image_for(Isa::selected(), g, x, base as u32, y, argmax);
}

/// [`forward_image`] compiled for `isa`: the compiler vectorises the
/// channel loop only as wide as the instructions it may use, and a plain
/// build may use SSE2 alone (AVX-512 made pooling 2 to 5 times faster here).
fn forward_image_for(isa: Isa, g: &ConvGeometry, x: &[f32], base: u32, y: &mut [f32], argmax: &mut [u32]) {
    match isa {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `Isa::selected` only returns an ISA this CPU supports;
        // this copy also needs AVX-512BW and VL, checked here (a CPU with
        // AVX-512F alone, such as Xeon Phi, takes the AVX2 copy).
        Isa::Avx512 if is_x86_feature_detected!("avx512bw") && is_x86_feature_detected!("avx512vl") => unsafe {
            forward_image_avx512(g, x, base, y, argmax)
        },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: as above (AVX-512F implies AVX2 and FMA on every CPU that has it).
        Isa::Avx2 | Isa::Avx512 => unsafe { forward_image_avx2(g, x, base, y, argmax) },
        _ => forward_image(g, x, base, y, argmax),
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512vl")]
unsafe fn forward_image_avx512(g: &ConvGeometry, x: &[f32], base: u32, y: &mut [f32], argmax: &mut [u32]) {
    forward_image(g, x, base, y, argmax)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn forward_image_avx2(g: &ConvGeometry, x: &[f32], base: u32, y: &mut [f32], argmax: &mut [u32]) {
    forward_image(g, x, base, y, argmax)
}

/// One image `x` (whose first element is at flat index `base` of the
/// batch) pooled into `y` and `argmax`.
#[inline(always)]
fn forward_image(g: &ConvGeometry, x: &[f32], base: u32, y: &mut [f32], argmax: &mut [u32]) {
    if tiles_in_twos(g) {
        forward_image_2x2(g, x, base, y, argmax)
    } else {
        forward_image_any(g, x, base, y, argmax)
    }
}

/// True for 2x2 windows of stride 2 that all lie inside the image: the
/// pooling after nearly every convolution, which has a loop of its own.
fn tiles_in_twos(g: &ConvGeometry) -> bool {
    (g.kernel_h, g.kernel_w, g.stride, g.pad_top, g.pad_left) == (2, 2, 2, 0, 0)
        && 2 * g.out_h <= g.height
        && 2 * g.out_w <= g.width
}

/// True for 2x2 windows of stride 2 that cover the image exactly (even
/// height and width): the pooling that
/// [`conv_direct::forward_pooled`](crate::conv_direct::forward_pooled)
/// does in a convolution's stead.
pub fn tiles_exactly_in_twos(g: &ConvGeometry) -> bool {
    tiles_in_twos(g) && 2 * g.out_h == g.height && 2 * g.out_w == g.width
}

/// Whether `v` replaces the running maximum `best`: `>` keeps the first
/// of equal maxima, and a NaN wins so that it is not hidden. Every
/// pooling loop (and the pooled convolution) decides with this one rule,
/// so that their maxima and indices agree.
#[inline(always)]
pub(crate) fn wins(v: f32, best: f32) -> bool {
    v > best || (v.is_nan() & !best.is_nan())
}

/// [`forward_image_any`] for [`tiles_in_twos`]: the four pixels of a window
/// compared in the same order (row by row), without the running maxima
/// going through memory; a window of four minus infinities points at its
/// first (the general loop leaves such an index as it was).
#[inline(always)]
fn forward_image_2x2(g: &ConvGeometry, x: &[f32], base: u32, y: &mut [f32], argmax: &mut [u32]) {
    let (c, row) = (g.channels, g.width * g.channels);
    for oy in 0..g.out_h {
        for ox in 0..g.out_w {
            let first = (2 * oy * g.width + 2 * ox) * c;
            let at = [first, first + c, first + row, first + row + c];
            let [p0, p1, p2, p3] = at.map(|at| &x[at..at + c]);
            let o = (oy * g.out_w + ox) * c;
            let (y, argmax) = (&mut y[o..o + c], &mut argmax[o..o + c]);
            for ch in 0..c {
                let (mut best, mut index) = (p0[ch], at[0]);
                for (v, at) in [(p1[ch], at[1]), (p2[ch], at[2]), (p3[ch], at[3])] {
                    let wins = wins(v, best);
                    best = if wins { v } else { best };
                    index = if wins { at } else { index };
                }
                y[ch] = best;
                argmax[ch] = base + (index + ch) as u32;
            }
        }
    }
}

/// Any window, stride and padding.
#[inline(always)]
fn forward_image_any(g: &ConvGeometry, x: &[f32], base: u32, y: &mut [f32], argmax: &mut [u32]) {
    let c = g.channels;
    // The window rows (columns) of an output row (column) that fall inside
    // the image: padding never wins, so it is skipped rather than compared.
    let inside = |o: usize, stride: usize, pad: usize, kernel: usize, size: usize| {
        let first = o * stride;
        let lo = pad.saturating_sub(first).min(kernel);
        let hi = (size + pad).saturating_sub(first).min(kernel);
        (first + lo - pad, lo.max(hi) - lo)
    };
    for oy in 0..g.out_h {
        let (y0, rows) = inside(oy, g.stride, g.pad_top, g.kernel_h, g.height);
        for ox in 0..g.out_w {
            let (x0, cols) = inside(ox, g.stride, g.pad_left, g.kernel_w, g.width);
            let o = (oy * g.out_w + ox) * c;
            let (y, argmax) = (&mut y[o..o + c], &mut argmax[o..o + c]);
            y.fill(f32::NEG_INFINITY);
            for yy in y0..y0 + rows {
                for xx in x0..x0 + cols {
                    let src = (yy * g.width + xx) * c;
                    window_max(&x[src..src + c], base + src as u32, y, argmax);
                }
            }
        }
    }
}

/// Folds one input pixel's channels `x` (at flat index `first`) into the
/// running maxima `y` and their indices `argmax`. Written without branches
/// so that the compiler makes it compare-and-blend SIMD across channels.
/// `>` keeps the first of equal maxima; a NaN input wins so that it is not
/// hidden.
#[inline(always)]
fn window_max(x: &[f32], first: u32, y: &mut [f32], argmax: &mut [u32]) {
    let n = x.len().min(y.len()).min(argmax.len());
    let (x, y, argmax) = (&x[..n], &mut y[..n], &mut argmax[..n]);
    for ch in 0..n {
        let (v, best) = (x[ch], y[ch]);
        let wins = wins(v, best);
        y[ch] = if wins { v } else { best };
        argmax[ch] = if wins { first + ch as u32 } else { argmax[ch] };
    }
}

/// `dx[argmax[i]] += dy[i]` for every output `i`; `dx` is overwritten.
/// `dx` holds `batch` images of equal size, each of whose outputs points
/// into its own image alone (as [`max_pool_forward`] makes them), so the
/// images are independent tasks.
pub fn max_pool_backward(batch: usize, dy: &[f32], argmax: &[u32], dx: &mut [f32]) {
    assert_eq!(dy.len(), argmax.len(), "max_pool_backward: sizes");
    let batch = batch.max(1);
    assert!(
        dx.len().is_multiple_of(batch) && dy.len().is_multiple_of(batch),
        "max_pool_backward: {batch} images"
    );
    let (img, out) = (dx.len() / batch, dy.len() / batch);
    backward_tasks(img, out, dy, argmax, dx, |t, dy, argmax, dx| {
        dx.fill(0.0);
        let base = t * IMAGES_PER_TASK * img;
        for (&g, &i) in dy.iter().zip(argmax) {
            let at = (i as usize).checked_sub(base).filter(|&at| at < dx.len());
            let at = at.expect("max_pool_backward: an index outside its image");
            dx[at] += g;
        }
    });
}

/// Runs `task(t, dy, argmax, dx)` over the batch's tasks of
/// `IMAGES_PER_TASK` images (`img` floats of `dx`, `out` of `dy` and
/// `argmax` each) in parallel.
fn backward_tasks(
    img: usize,
    out: usize,
    dy: &[f32],
    argmax: &[u32],
    dx: &mut [f32],
    task: impl Fn(usize, &[f32], &[u32], &mut [f32]) + Sync + Send,
) {
    dx.par_chunks_mut(IMAGES_PER_TASK * img)
        .zip(
            dy.par_chunks(IMAGES_PER_TASK * out)
                .zip(argmax.par_chunks(IMAGES_PER_TASK * out)),
        )
        .enumerate()
        .for_each(|(t, (dx, (dy, argmax)))| task(t, dy, argmax, dx));
}

/// [`max_pool_backward`] for the pooling of geometry `g`: the same bits,
/// and where the windows do not overlap and cover every input pixel
/// (stride = window, SAME: the 2x2 poolings of a CNN, 7 -> 4 included),
/// each input pixel written once, row by row, as +0 plus its gradient
/// where it won and +0 elsewhere, instead of the whole gradient cleared
/// and the maxima's gradients scattered over it afterwards.
pub fn max_pool_backward_windows(g: &ConvGeometry, batch: usize, dy: &[f32], argmax: &[u32], dx: &mut [f32]) {
    if !windows_partition(g) {
        return max_pool_backward(batch, dy, argmax, dx);
    }
    let (img, out) = (g.image_len(), g.positions() * g.channels);
    assert!(
        dx.len() == batch * img && dy.len() == batch * out && argmax.len() == dy.len(),
        "max_pool_backward: sizes"
    );
    backward_tasks(img, out, dy, argmax, dx, |t, dy, argmax, dx| {
        let images = dx
            .chunks_exact_mut(img)
            .zip(dy.chunks_exact(out).zip(argmax.chunks_exact(out)));
        for (i, (dx, (dy, argmax))) in images.enumerate() {
            backward_image_windows(g, ((t * IMAGES_PER_TASK + i) * img) as u32, dy, argmax, dx);
        }
    });
}

/// True when the windows do not overlap and every input pixel lies in one.
fn windows_partition(g: &ConvGeometry) -> bool {
    g.stride == g.kernel_h
        && g.stride == g.kernel_w
        && g.out_h * g.stride >= g.height + g.pad_top
        && g.out_w * g.stride >= g.width + g.pad_left
}

crate::wide_fn! {
/// One image of [`max_pool_backward_windows`], its first input element at
/// flat index `base` of the batch.
fn backward_image_windows(g: &ConvGeometry, base: u32, dy: &[f32], argmax: &[u32], dx: &mut [f32]) {
    let c = g.channels;
    // Window `o`'s rows (columns) inside the image.
    let span = |o: usize, pad: usize, size: usize| {
        let first = (o * g.stride).saturating_sub(pad);
        first..((o + 1) * g.stride).saturating_sub(pad).min(size)
    };
    for oy in 0..g.out_h {
        for yy in span(oy, g.pad_top, g.height) {
            for ox in 0..g.out_w {
                let o = (oy * g.out_w + ox) * c;
                let (d, won) = (&dy[o..o + c], &argmax[o..o + c]);
                for xx in span(ox, g.pad_left, g.width) {
                    let at = (yy * g.width + xx) * c;
                    let here = base + at as u32;
                    let dst = &mut dx[at..at + c];
                    for ch in 0..c {
                        // `0.0 + d`: max_pool_backward's +0 plus the gradient
                        // (a -0 lands as +0 there too).
                        dst[ch] = if won[ch] == here + ch as u32 { 0.0 + d[ch] } else { 0.0 };
                    }
                }
            }
        }
    }
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
        max_pool_backward(1, &[1.0, 2.0], &arg, &mut dx);
        assert_eq!(dx, [0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 2.0, 0.0]);
    }

    /// Each instruction set's build of the pooling loop gives the same
    /// maxima and indices, padding, ties and NaN included.
    #[test]
    fn every_instruction_set_pools_alike() {
        let g = ConvGeometry::new(7, 9, 19, 3, 2, 2, Padding::Same).unwrap();
        let mut x: Vec<f32> = (0..g.image_len()).map(|i| ((i * 37) % 11) as f32 - 5.0).collect();
        x[40] = f32::NAN;
        let out = g.positions() * g.channels;
        let run = |isa: Isa| {
            let (mut y, mut arg) = (vec![0.0; out], vec![0u32; out]);
            forward_image_for(isa, &g, &x, 1000, &mut y, &mut arg);
            (y.iter().map(|v| v.to_bits()).collect::<Vec<_>>(), arg)
        };
        let portable = run(Isa::Portable);
        for isa in Isa::ALL.into_iter().filter(|isa| isa.is_supported()) {
            assert_eq!(run(isa), portable, "{isa:?}");
        }
    }

    /// The 2x2 loop gives the general loop's maxima and indices, ties, NaN
    /// and an odd edge (left out of every window) included, on every
    /// instruction set.
    #[test]
    fn two_by_two_pools_as_any_window() {
        let g = ConvGeometry::new(9, 7, 21, 2, 2, 2, Padding::Valid).unwrap();
        assert!(tiles_in_twos(&g));
        let mut x: Vec<f32> = (0..g.image_len()).map(|i| ((i * 37) % 7) as f32 - 3.0).collect();
        x[50] = f32::NAN;
        x[g.width * g.channels + 3] = f32::NAN;
        x[200] = f32::INFINITY;
        let out = g.positions() * g.channels;
        let bits = |(y, arg): (Vec<f32>, Vec<u32>)| (y.iter().map(|v| v.to_bits()).collect::<Vec<_>>(), arg);
        let (mut y, mut arg) = (vec![0.0; out], vec![0u32; out]);
        forward_image_any(&g, &x, 1000, &mut y, &mut arg);
        let any = bits((y, arg));
        for isa in Isa::ALL.into_iter().filter(|isa| isa.is_supported()) {
            let (mut y, mut arg) = (vec![0.0; out], vec![0u32; out]);
            forward_image_for(isa, &g, &x, 1000, &mut y, &mut arg);
            assert_eq!(bits((y, arg)), any, "{isa:?}");
        }
    }
}
