//! Convolution by im2col + GEMM against a direct convolution, and im2col's
//! adjoint, on random sizes, strides, paddings and channels.

use mnist_kernels::conv::{ConvGeometry, Padding, col2im, conv2d_naive, im2col, im2col_rows, weight_grad};
use mnist_kernels::{MatMut, MatRef, sgemm};
use proptest::prelude::*;

fn values(len: usize, seed: u64) -> Vec<f32> {
    let mut state = seed | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 40) as f32 / (1u64 << 23) as f32 - 1.0
        })
        .collect()
}

fn geometry() -> impl Strategy<Value = (ConvGeometry, usize)> {
    (
        1usize..10,
        1usize..10,
        // Up to 11 channels: window rows of more and fewer than 32 floats
        // (im2col copies the two kinds differently).
        1usize..12,
        1usize..6,
        1usize..6,
        1usize..4,
        any::<bool>(),
        1usize..4,
    )
        .prop_filter_map("the window fits", |(h, w, c, kh, kw, stride, same, batch)| {
            let padding = if same { Padding::Same } else { Padding::Valid };
            ConvGeometry::new(h, w, c, kh, kw, stride, padding).map(|g| (g, batch))
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn lowered_convolution_matches_the_direct_one((g, batch) in geometry(), filters in 1usize..6, seed in any::<u64>()) {
        let x = values(batch * g.image_len(), seed);
        let w = values(g.patch_len() * filters, seed ^ 3);
        let bias = values(filters, seed ^ 5);
        let rows = batch * g.positions();
        let mut cols = vec![0.0; rows * g.patch_len()];
        im2col(&g, batch, &x, &mut cols);
        let mut y = vec![0.0; rows * filters];
        for row in y.chunks_exact_mut(filters) {
            row.copy_from_slice(&bias);
        }
        let (cols_view, w_view) = (MatRef::new(&cols, rows, g.patch_len()), MatRef::new(&w, g.patch_len(), filters));
        sgemm(1.0, cols_view, w_view, 1.0, MatMut::new(&mut y, rows, filters));
        let mut want = vec![0.0; rows * filters];
        conv2d_naive(&g, batch, &x, &w, &bias, &mut want);
        // Sums of at most 5 * 5 * 4 = 100 products of values below 1.
        let tol = 1e-4;
        for (i, (a, b)) in y.iter().zip(&want).enumerate() {
            prop_assert!((a - b).abs() <= tol, "{g:?}: output {i}: {a} vs {b}");
        }
    }

    /// im2col writes each window exactly: pixel (oy·s + ky - pad_top,
    /// ox·s + kx - pad_left) of channel c at (position, (ky, kx, c)), zero
    /// in the padding.
    #[test]
    fn im2col_copies_every_window((g, batch) in geometry(), seed in any::<u64>()) {
        let x = values(batch * g.image_len(), seed);
        let patch = g.patch_len();
        let mut cols = vec![f32::NAN; batch * g.positions() * patch];
        im2col(&g, batch, &x, &mut cols);
        for n in 0..batch {
            for oy in 0..g.out_h {
                for ox in 0..g.out_w {
                    let row = &cols[((n * g.out_h + oy) * g.out_w + ox) * patch..][..patch];
                    for ky in 0..g.kernel_h {
                        for kx in 0..g.kernel_w {
                            for c in 0..g.channels {
                                let y = (oy * g.stride + ky) as isize - g.pad_top as isize;
                                let xx = (ox * g.stride + kx) as isize - g.pad_left as isize;
                                let inside = (0..g.height as isize).contains(&y) && (0..g.width as isize).contains(&xx);
                                let want = if inside {
                                    x[n * g.image_len() + (y as usize * g.width + xx as usize) * g.channels + c]
                                } else {
                                    0.0
                                };
                                let got = row[(ky * g.kernel_w + kx) * g.channels + c];
                                prop_assert!(got.to_bits() == want.to_bits(), "{g:?}: ({n}, {oy}, {ox}) ({ky}, {kx}, {c}): {got} vs {want}");
                            }
                        }
                    }
                }
            }
        }
    }

    /// <im2col(x), c> = <x, col2im(c)> for every x and c: col2im is exactly
    /// the transpose of im2col, which the input gradient relies on.
    #[test]
    fn col2im_is_the_adjoint_of_im2col((g, batch) in geometry(), seed in any::<u64>()) {
        let x = values(batch * g.image_len(), seed);
        let c = values(batch * g.positions() * g.patch_len(), seed ^ 7);
        let mut cols = vec![0.0; c.len()];
        im2col(&g, batch, &x, &mut cols);
        let mut back = vec![0.0; x.len()];
        col2im(&g, batch, &c, &mut back);
        let lhs: f64 = cols.iter().zip(&c).map(|(a, b)| *a as f64 * *b as f64).sum();
        let rhs: f64 = x.iter().zip(&back).map(|(a, b)| *a as f64 * *b as f64).sum();
        prop_assert!((lhs - rhs).abs() <= 1e-4 * (1.0 + lhs.abs()), "{g:?}: {lhs} vs {rhs}");
    }
}

/// col2im by the book: every window value added onto its pixel, windows in
/// order (output position, then kernel row and column), from zero.
fn col2im_naive(g: &ConvGeometry, batch: usize, cols: &[f32]) -> Vec<f32> {
    let (c, patch) = (g.channels, g.patch_len());
    let mut dx = vec![0.0f32; batch * g.image_len()];
    for n in 0..batch {
        for oy in 0..g.out_h {
            for ox in 0..g.out_w {
                let row = &cols[((n * g.out_h + oy) * g.out_w + ox) * patch..][..patch];
                for ky in 0..g.kernel_h {
                    for kx in 0..g.kernel_w {
                        let (iy, ix) = (oy * g.stride + ky, ox * g.stride + kx);
                        if iy < g.pad_top || ix < g.pad_left || iy - g.pad_top >= g.height || ix - g.pad_left >= g.width
                        {
                            continue;
                        }
                        let at = n * g.image_len() + ((iy - g.pad_top) * g.width + ix - g.pad_left) * c;
                        for ch in 0..c {
                            dx[at + ch] += row[(ky * g.kernel_w + kx) * c + ch];
                        }
                    }
                }
            }
        }
    }
    dx
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// The same bits as the plain loop: each pixel adds its windows' values
    /// in the order the reproducibility table gives.
    #[test]
    fn col2im_adds_in_window_order((g, batch) in geometry(), seed in any::<u64>()) {
        let c = values(batch * g.positions() * g.patch_len(), seed);
        let mut dx = vec![f32::NAN; batch * g.image_len()];
        col2im(&g, batch, &c, &mut dx);
        let want = col2im_naive(&g, batch, &c);
        prop_assert!(dx.iter().zip(&want).all(|(a, b)| a.to_bits() == b.to_bits()), "{g:?}");
    }
}

/// `weight_grad`'s result and the product over the whole batch's cols
/// that it replaces, on one thread and on two.
fn weight_grads(g: &ConvGeometry, batch: usize, filters: usize, seed: u64) -> (Vec<f32>, [Vec<f32>; 2]) {
    let (rows, patch) = (batch * g.positions(), g.patch_len());
    let x = values(batch * g.image_len(), seed);
    let dy = values(rows * filters, seed ^ 11);
    let mut cols = vec![0.0; rows * patch];
    im2col(g, batch, &x, &mut cols);
    let mut want = vec![f32::NAN; patch * filters];
    let (cols, dy_view) = (MatRef::new(&cols, rows, patch), MatRef::new(&dy, rows, filters));
    sgemm(1.0, cols.t(), dy_view, 0.0, MatMut::new(&mut want, patch, filters));
    let got = [1, 2].map(|threads| {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        let mut dw = vec![f32::NAN; patch * filters];
        pool.install(|| weight_grad(g, batch, &x, &dy, &mut dw));
        dw
    });
    (want, got)
}

fn same_bits(a: &[f32], b: &[f32]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// Any run of rows, across images or inside one, is those rows of the
    /// batch's im2col.
    #[test]
    fn im2col_rows_are_the_batch_s_rows((g, batch) in geometry(), from in 0.0f64..1.0, len in 0.0f64..1.0, seed in any::<u64>()) {
        let (rows, patch) = (batch * g.positions(), g.patch_len());
        let x = values(batch * g.image_len(), seed);
        let mut all = vec![0.0; rows * patch];
        im2col(&g, batch, &x, &mut all);
        let row0 = ((rows as f64 * from) as usize).min(rows - 1);
        let count = 1 + ((rows - row0 - 1) as f64 * len) as usize;
        let mut some = vec![f32::NAN; count * patch];
        im2col_rows(&g, &x, row0, &mut some);
        prop_assert!(same_bits(&some, &all[row0 * patch..(row0 + count) * patch]), "{g:?}: rows {row0}..+{count}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(60))]

    /// Blocks made one by one from the input and added in order give the
    /// bits of the product over the batch's cols, on any thread count:
    /// batches of up to 3,000 rows, so up to a dozen depth blocks, most
    /// of them across images.
    #[test]
    fn weight_grad_has_the_batch_product_s_bits((g, _) in geometry(), batch in 1usize..40, filters in 1usize..40, seed in any::<u64>()) {
        let (want, got) = weight_grads(&g, batch, filters, seed);
        for (threads, got) in [1, 2].iter().zip(&got) {
            prop_assert!(same_bits(got, &want), "{g:?}, batch {batch}, {filters} filters, {threads} threads");
        }
    }
}

/// A tile too large to keep every block's sums at once (5x5 over 40
/// channels, 64 filters: 18 blocks, summed in groups of 16): the groups
/// keep the order.
#[test]
fn weight_grad_in_groups_of_blocks_keeps_the_bits() {
    let g = ConvGeometry::new(8, 8, 40, 5, 5, 1, Padding::Same).unwrap();
    let (want, got) = weight_grads(&g, 70, 64, 9);
    for got in &got {
        assert!(same_bits(got, &want));
    }
}

/// Max pooling by the book: for each output, scan the window in order and
/// keep the first largest value (padding never wins).
fn max_pool_naive(g: &ConvGeometry, batch: usize, x: &[f32]) -> (Vec<f32>, Vec<u32>) {
    let c = g.channels;
    let (mut y, mut arg) = (Vec::new(), Vec::new());
    for n in 0..batch {
        for oy in 0..g.out_h {
            for ox in 0..g.out_w {
                for ch in 0..c {
                    let (mut best, mut at) = (f32::NEG_INFINITY, 0u32);
                    for ky in 0..g.kernel_h {
                        for kx in 0..g.kernel_w {
                            let (iy, ix) = (oy * g.stride + ky, ox * g.stride + kx);
                            if iy < g.pad_top || ix < g.pad_left {
                                continue;
                            }
                            let (iy, ix) = (iy - g.pad_top, ix - g.pad_left);
                            if iy >= g.height || ix >= g.width {
                                continue;
                            }
                            let i = n * g.image_len() + (iy * g.width + ix) * c + ch;
                            if x[i] > best {
                                best = x[i];
                                at = i as u32;
                            }
                        }
                    }
                    y.push(best);
                    arg.push(at);
                }
            }
        }
    }
    (y, arg)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// Forward against the naive scan, with ties (values on a coarse grid)
    /// so that "the first of equal maxima" is tested too.
    #[test]
    fn max_pool_matches_the_naive_scan((g, batch) in geometry(), seed in any::<u64>()) {
        let x: Vec<f32> = values(batch * g.image_len(), seed).iter().map(|v| (v * 4.0).round()).collect();
        let out = batch * g.positions() * g.channels;
        let (mut y, mut arg) = (vec![0.0; out], vec![0u32; out]);
        mnist_kernels::pool::max_pool_forward(&g, batch, &x, &mut y, &mut arg);
        let (ny, narg) = max_pool_naive(&g, batch, &x);
        prop_assert_eq!(y, ny);
        prop_assert_eq!(arg, narg);
    }

    /// The pooling's input gradient through its windows has the bits of
    /// the scatter over indices alone: the same where windows tile the
    /// image (each pixel written once) and where they overlap or leave
    /// pixels out (the scatter itself); -0 gradients land as +0 both ways.
    #[test]
    fn max_pool_backward_windows_has_the_scatter_s_bits((g, batch) in geometry(), tiles in any::<bool>(), seed in any::<u64>()) {
        use mnist_kernels::pool::{max_pool_backward, max_pool_backward_windows, max_pool_forward};
        // Half the cases with stride = window, most of them tiling.
        let g = if tiles {
            ConvGeometry::new(g.height, g.width, g.channels, g.stride, g.stride, g.stride, Padding::Same).unwrap()
        } else {
            g
        };
        let x: Vec<f32> = values(batch * g.image_len(), seed).iter().map(|v| (v * 4.0).round()).collect();
        let out = batch * g.positions() * g.channels;
        let (mut y, mut arg) = (vec![0.0; out], vec![0u32; out]);
        max_pool_forward(&g, batch, &x, &mut y, &mut arg);
        let dy: Vec<f32> = values(out, seed ^ 5).iter().map(|&v| if v < -0.5 { -0.0 } else { v }).collect();
        let (mut want, mut got) = (vec![f32::NAN; x.len()], vec![f32::NAN; x.len()]);
        max_pool_backward(batch, &dy, &arg, &mut want);
        max_pool_backward_windows(&g, batch, &dy, &arg, &mut got);
        prop_assert!(got.iter().zip(&want).all(|(a, b)| a.to_bits() == b.to_bits()), "{g:?}");
    }
}
