//! Convolution lowered to matrix products, on images in NHWC layout
//! (batch, height, width, channels).
//!
//! Why NHWC: im2col then copies whole runs of `channels` contiguous floats,
//! the product `cols (N·OH·OW x KH·KW·C) · W (KH·KW·C x F)` lands directly
//! in NHWC with no transpose, the filters are TensorFlow's HWIO layout as
//! they are, and flattening the last feature map gives TensorFlow's order.
//!
//! - forward: `im2col(x)`, then `y = cols · W + b`;
//! - weight gradient: `dW = colsᵀ · dy`, bias gradient: column sums of `dy`;
//! - input gradient: `dcols = dy · Wᵀ`, then `dx = col2im(dcols)`, the
//!   adjoint of im2col (each input pixel sums the gradients of every window
//!   that saw it).
//!
//! Padding as TensorFlow defines it: VALID is none; SAME pads so that the
//! output is `ceil(input / stride)`, splitting an odd total with the extra
//! row or column at the bottom and right.

use rayon::prelude::*;

use crate::gemm::sgemm_on_this_thread;
use crate::matrix::{MatMut, MatRef};

/// The geometry of a 2-D convolution (or pooling) over NHWC images.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConvGeometry {
    /// Input height.
    pub height: usize,
    /// Input width.
    pub width: usize,
    /// Input channels.
    pub channels: usize,
    /// Kernel height.
    pub kernel_h: usize,
    /// Kernel width.
    pub kernel_w: usize,
    /// Stride (both axes).
    pub stride: usize,
    /// Padding above.
    pub pad_top: usize,
    /// Padding to the left.
    pub pad_left: usize,
    /// Output height.
    pub out_h: usize,
    /// Output width.
    pub out_w: usize,
}

/// TensorFlow's two paddings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Padding {
    /// Output `ceil(input / stride)`, zero padding split as evenly as
    /// possible, the extra row or column at the bottom or right.
    Same,
    /// No padding: output `ceil((input - kernel + 1) / stride)`.
    Valid,
}

impl ConvGeometry {
    /// The geometry of a `kernel_h x kernel_w` window with `stride` and
    /// `padding` over `height x width x channels` images, or `None` when the
    /// window does not fit (VALID with a kernel larger than the image) or a
    /// size is zero.
    pub fn new(
        height: usize,
        width: usize,
        channels: usize,
        kernel_h: usize,
        kernel_w: usize,
        stride: usize,
        padding: Padding,
    ) -> Option<Self> {
        if height == 0 || width == 0 || channels == 0 || kernel_h == 0 || kernel_w == 0 || stride == 0 {
            return None;
        }
        let axis = |input: usize, kernel: usize| -> Option<(usize, usize)> {
            match padding {
                Padding::Same => {
                    let out = input.div_ceil(stride);
                    let total = ((out - 1) * stride + kernel).saturating_sub(input);
                    Some((out, total / 2))
                }
                Padding::Valid => (input >= kernel).then(|| ((input - kernel) / stride + 1, 0)),
            }
        };
        let (out_h, pad_top) = axis(height, kernel_h)?;
        let (out_w, pad_left) = axis(width, kernel_w)?;
        Some(Self {
            height,
            width,
            channels,
            kernel_h,
            kernel_w,
            stride,
            pad_top,
            pad_left,
            out_h,
            out_w,
        })
    }

    /// Floats in one input image.
    pub fn image_len(&self) -> usize {
        self.height * self.width * self.channels
    }

    /// Length of one im2col row: a window's `kernel_h * kernel_w * channels` values.
    pub fn patch_len(&self) -> usize {
        self.kernel_h * self.kernel_w * self.channels
    }

    /// Output positions per image.
    pub fn positions(&self) -> usize {
        self.out_h * self.out_w
    }

    /// The pixels of kernel row `ky` of window (oy, ox) inside the image, as
    /// (index of the first pixel in the image, kernel columns skipped on the
    /// left, pixels inside); `None` when the whole row is padding.
    #[inline]
    fn run(&self, oy: usize, ox: usize, ky: usize) -> Option<(usize, usize, usize)> {
        let y = (oy * self.stride + ky)
            .checked_sub(self.pad_top)
            .filter(|&y| y < self.height)?;
        let x0 = (ox * self.stride) as isize - self.pad_left as isize;
        let first = (-x0).max(0) as usize;
        let last = (self.width as isize - x0).clamp(0, self.kernel_w as isize) as usize;
        (first < last).then(|| (y * self.width + (x0 + first as isize) as usize, first, last - first))
    }

    /// The input row and column under window position (oy, ox) at kernel
    /// offset (ky, kx), or `None` in the padding.
    #[inline]
    pub(crate) fn source(&self, oy: usize, ox: usize, ky: usize, kx: usize) -> Option<(usize, usize)> {
        let y = (oy * self.stride + ky).checked_sub(self.pad_top)?;
        let x = (ox * self.stride + kx).checked_sub(self.pad_left)?;
        (y < self.height && x < self.width).then_some((y, x))
    }
}

/// Images per parallel task: enough work to outweigh the hand-off, and a
/// split that depends on the batch only.
const IMAGES_PER_TASK: usize = 2;

/// Lowers `batch` NHWC images into `cols`: one row per output position
/// (image by image, row-major), each row the window's pixels in (ky, kx, c)
/// order, zeros in the padding.
pub fn im2col(g: &ConvGeometry, batch: usize, x: &[f32], cols: &mut [f32]) {
    let (img, rows, patch) = (g.image_len(), g.positions(), g.patch_len());
    assert_eq!(x.len(), batch * img, "im2col: input size");
    assert_eq!(cols.len(), batch * rows * patch, "im2col: cols size");
    cols.par_chunks_mut(IMAGES_PER_TASK * rows * patch)
        .zip(x.par_chunks(IMAGES_PER_TASK * img))
        .for_each(|(cols, x)| {
            crate::scratch::with_scratch(&PADDED, |padded| {
                for (cols, x) in cols.chunks_exact_mut(rows * patch).zip(x.chunks_exact(img)) {
                    im2col_positions(g, x, 0..rows, cols, padded);
                }
            })
        });
}

/// Rows `row0..row0 + cols.len() / patch` of the batch's im2col (rows
/// image by image, as [`im2col`] lays them out) into `cols`: a block of
/// the lowered matrix, made where it is needed instead of the whole
/// batch's being kept.
///
/// # Panics
/// When `cols` is not whole rows or they run past the batch.
pub fn im2col_rows(g: &ConvGeometry, x: &[f32], row0: usize, cols: &mut [f32]) {
    let (img, positions, patch) = (g.image_len(), g.positions(), g.patch_len());
    assert!(cols.len().is_multiple_of(patch), "im2col_rows: cols is not whole rows");
    let end = row0 + cols.len() / patch;
    assert!(end * img <= x.len() * positions, "im2col_rows: rows past the batch");
    crate::scratch::with_scratch(&PADDED, |padded| {
        let mut row = row0;
        let mut cols = cols;
        while row < end {
            let (image, first) = (row / positions, row % positions);
            let last = positions.min(first + end - row);
            let (here, rest) = cols.split_at_mut((last - first) * patch);
            im2col_positions(g, &x[image * img..][..img], first..last, here, padded);
            (row, cols) = (row + last - first, rest);
        }
    })
}

/// One image's im2col rows for output positions `positions` (row-major
/// over the output) into `cols`, through `scratch`.
fn im2col_positions(
    g: &ConvGeometry,
    x: &[f32],
    positions: std::ops::Range<usize>,
    cols: &mut [f32],
    scratch: &mut Lowering,
) {
    if g.kernel_w * g.channels < NARROW_RUN {
        scratch.bordered_for = None;
        im2col_image_padded(g, x, positions, cols, &mut scratch.buf);
    } else {
        if scratch.bordered_for != Some(*g) {
            scratch.buf.clear();
            scratch.buf.resize(bordered_len(g), 0.0);
            scratch.bordered_for = Some(*g);
        }
        im2col_image(g, x, positions, cols, &mut scratch.buf);
    }
}

/// Floats of `im2col_image`'s bordered image: every column and row that a
/// window reaches, and every pixel of the image (VALID may leave some
/// unread).
fn bordered_width(g: &ConvGeometry) -> usize {
    (g.pad_left + g.width).max((g.out_w - 1) * g.stride + g.kernel_w)
}

fn bordered_len(g: &ConvGeometry) -> usize {
    let height = (g.pad_top + g.height).max((g.out_h - 1) * g.stride + g.kernel_h);
    height * bordered_width(g) * g.channels
}

/// A thread's buffer for im2col: the padded input rows of
/// `im2col_image_padded`, or the bordered image of `im2col_image`.
#[derive(Default)]
struct Lowering {
    buf: Vec<f32>,
    /// The geometry whose bordered image `buf` holds: its border is still
    /// zero (only the image inside is written), so the next image of the
    /// same geometry need not clear it. A training step lowers each
    /// image's rows about twice (forward, and the weight gradient's
    /// blocks), so clearing every time wrote as much as the image again.
    bordered_for: Option<ConvGeometry>,
}

thread_local! {
    // Kept per thread so that a training step allocates nothing.
    static PADDED: std::cell::RefCell<Lowering> = std::cell::RefCell::default();
}

/// Below this many floats a window row is a narrow run (one channel: 5),
/// copied from padded rows; wider runs (3x3 over 12 channels: 36) are
/// copied from the bordered image 16 floats at a time ([`copy_run`]).
const NARROW_RUN: usize = 16;

crate::wide_fn! {
/// One image's rows of `cols` for the output positions `positions`: the
/// image is first laid out inside its zero border (`bordered`, a few KB,
/// [`bordered_len`] floats whose border is zero), then every window's
/// kernel rows are runs of `kernel_w * c` floats of it, copied with no
/// bounds to work out.
fn im2col_image(
    g: &ConvGeometry,
    x: &[f32],
    positions: std::ops::Range<usize>,
    cols: &mut [f32],
    bordered: &mut [f32],
) {
    let c = g.channels;
    let wb = bordered_width(g);
    for (y, src) in x.chunks_exact(g.width * c).enumerate() {
        let at = ((y + g.pad_top) * wb + g.pad_left) * c;
        copy_run(src, &mut bordered[at..at + src.len()]);
    }
    let (patch, run) = (g.patch_len(), g.kernel_w * c);
    for (oy, xs) in output_rows(g, positions.clone()) {
        for ox in xs {
            let dst = &mut cols[(oy * g.out_w + ox - positions.start) * patch..][..patch];
            for (ky, dst) in dst.chunks_exact_mut(run).enumerate() {
                let at = ((oy * g.stride + ky) * wb + ox * g.stride) * c;
                copy_run(&bordered[at..at + run], dst);
            }
        }
    }
}
}

/// The output rows that `positions` (row-major over the output) cross,
/// each with its columns in the range.
fn output_rows(
    g: &ConvGeometry,
    positions: std::ops::Range<usize>,
) -> impl Iterator<Item = (usize, std::ops::Range<usize>)> {
    let w = g.out_w;
    let rows = if positions.is_empty() {
        0..0
    } else {
        positions.start / w..(positions.end - 1) / w + 1
    };
    rows.map(move |oy| {
        let from = positions.start.max(oy * w) - oy * w;
        let to = positions.end.min((oy + 1) * w) - oy * w;
        (oy, from..to)
    })
}

/// `dst.copy_from_slice(src)` for a window's run, inlined: 16 floats at a
/// time and a last 16 that overlaps the one before, instead of a `memcpy`
/// call a run (36 floats for 3x3 over 12 channels), which made im2col
/// twice as slow as its stores.
#[inline(always)]
fn copy_run(src: &[f32], dst: &mut [f32]) {
    const V: usize = 16;
    let n = dst.len();
    let src = &src[..n];
    if n < V {
        dst.copy_from_slice(src);
        return;
    }
    for i in (0..n - V).step_by(V) {
        let v: [f32; V] = src[i..i + V].try_into().expect("16 floats");
        dst[i..i + V].copy_from_slice(&v);
    }
    let v: [f32; V] = src[n - V..].try_into().expect("16 floats");
    dst[n - V..].copy_from_slice(&v);
}

/// [`im2col_image`] for narrow runs. For each output row, the input rows under
/// the kernel are first laid out with their padding (`padded`, zeros for
/// rows outside the image), so that every window's run of `kernel_w * c`
/// values is one copy without bounds to work out: a 5x5 kernel over one
/// channel copies runs of only 5 floats, where working out the overhang
/// for each cost more than the copy. Each row of `cols` is still written
/// from start to end, as the stores stream best that way.
fn im2col_image_padded(
    g: &ConvGeometry,
    x: &[f32],
    positions: std::ops::Range<usize>,
    cols: &mut [f32],
    padded: &mut Vec<f32>,
) {
    let c = g.channels;
    let (patch, run) = (g.patch_len(), g.kernel_w * c);
    // A padded row spans every column a window reaches.
    let span = (g.out_w - 1) * g.stride + g.kernel_w;
    let inside = g.width.min(span - g.pad_left);
    padded.clear();
    padded.resize(g.kernel_h * span * c, 0.0);
    for (oy, xs) in output_rows(g, positions.clone()) {
        for (ky, row) in padded.chunks_exact_mut(span * c).enumerate() {
            match (oy * g.stride + ky).checked_sub(g.pad_top).filter(|&y| y < g.height) {
                // The padding columns stay zero from row to row.
                Some(y) => {
                    row[g.pad_left * c..(g.pad_left + inside) * c].copy_from_slice(&x[y * g.width * c..][..inside * c])
                }
                None => row.fill(0.0),
            }
        }
        for ox in xs {
            let dst = &mut cols[(oy * g.out_w + ox - positions.start) * patch..][..patch];
            for (ky, dst) in dst.chunks_exact_mut(run).enumerate() {
                dst.copy_from_slice(&padded[(ky * span + ox * g.stride) * c..][..run]);
            }
        }
    }
}

/// The adjoint of [`im2col`]: adds every window value of `cols` back onto
/// the pixel it came from. `dx` is overwritten.
pub fn col2im(g: &ConvGeometry, batch: usize, cols: &[f32], dx: &mut [f32]) {
    let (img, rows, patch) = (g.image_len(), g.positions(), g.patch_len());
    assert_eq!(dx.len(), batch * img, "col2im: output size");
    assert_eq!(cols.len(), batch * rows * patch, "col2im: cols size");
    dx.par_chunks_mut(IMAGES_PER_TASK * img)
        .zip(cols.par_chunks(IMAGES_PER_TASK * rows * patch))
        .for_each(|(dx, cols)| {
            dx.fill(0.0);
            // The whole task through the AVX2 copy: one switch of copies a
            // task, not one per run of `kernel_w * c` floats.
            col2im_images(g, img, rows * patch, cols, dx);
        });
}

crate::wide_fn! {
/// The body of [`col2im`] for a task's images (`img` floats of `dx`,
/// `image_cols` of `cols` each), `dx` already zero.
fn col2im_images(g: &ConvGeometry, img: usize, image_cols: usize, cols: &[f32], dx: &mut [f32]) {
    let (c, patch) = (g.channels, g.patch_len());
    for (dx, cols) in dx.chunks_exact_mut(img).zip(cols.chunks_exact(image_cols)) {
        for oy in 0..g.out_h {
            for ox in 0..g.out_w {
                let row = &cols[(oy * g.out_w + ox) * patch..][..patch];
                for ky in 0..g.kernel_h {
                    if let Some((start, skip, len)) = g.run(oy, ox, ky) {
                        let src = &row[(ky * g.kernel_w + skip) * c..][..len * c];
                        let dst = &mut dx[start * c..(start + len) * c];
                        dst.iter_mut().zip(src).for_each(|(d, &s)| *d += s);
                    }
                }
            }
        }
    }
}
}

/// `dw = im2col(x)ᵀ dy` for `batch` images and their output gradient `dy`
/// (`[batch · positions, filters]`), without the batch's cols: the same
/// bits as `sgemm(1, cols.t(), dy, 0, dw)` on the batch's [`im2col`].
///
/// The product's depth (the batch's rows) runs in the GEMM's blocks,
/// equal sizes of at most [`KC`](crate::gemm::params::KC). Each block's
/// rows of cols are made in a thread's scratch (110 KB for the fast
/// recipe's second convolution, in L2) and multiplied there into the
/// block's own sums from zero; the blocks' sums are then added in block
/// order, which is the sum the GEMM writes block after block. So the
/// batch's cols (10.8 MB there) are neither kept from the forward pass
/// nor read back from memory, and the blocks, independent, share out over
/// the threads however many there are.
///
/// # Panics
/// When a slice's length does not fit the shapes.
pub fn weight_grad(g: &ConvGeometry, batch: usize, x: &[f32], dy: &[f32], dw: &mut [f32]) {
    let patch = g.patch_len();
    let rows = batch * g.positions();
    let filters = dw.len() / patch;
    assert_eq!(dw.len(), patch * filters, "weight_grad: dw size");
    assert_eq!(x.len(), batch * g.image_len(), "weight_grad: input size");
    assert_eq!(dy.len(), rows * filters, "weight_grad: output gradient size");
    if rows == 0 || filters == 0 {
        dw.fill(0.0);
        return;
    }
    // The GEMM's depth blocks (`gemm::driver`): equal sizes of at most KC.
    let block = rows.div_ceil(rows.div_ceil(crate::gemm::params::KC));
    let blocks = rows.div_ceil(block);
    let tile = patch * filters;
    // Blocks a group at a time, so that a large tile (the tutorial's 800
    // x 64) does not need one for every block at once.
    let group = (BLOCK_SUMS_FLOATS / tile).clamp(1, blocks);
    crate::scratch::with_scratch(&BLOCK_SUMS, |sums| {
        sums.resize(group * tile, 0.0);
        for first in (0..blocks).step_by(group) {
            let count = group.min(blocks - first);
            sums[..count * tile]
                .par_chunks_mut(tile)
                .enumerate()
                .for_each(|(i, sums)| {
                    let start = (first + i) * block;
                    let len = block.min(rows - start);
                    crate::scratch::with_scratch(&BLOCK_COLS, |cols| {
                        cols.resize(len * patch, 0.0);
                        im2col_rows(g, x, start, cols);
                        let cols = MatRef::new(cols, len, patch);
                        let dy = MatRef::new(&dy[start * filters..][..len * filters], len, filters);
                        sgemm_on_this_thread(1.0, cols.t(), dy, 0.0, MatMut::new(sums, patch, filters));
                    })
                });
            // Each element adds its blocks in order; the elements are
            // shared out over the threads.
            let sums = &sums[..count * tile];
            dw.par_chunks_mut(ADD_CHUNK).enumerate().for_each(|(j, dw)| {
                let at = j * ADD_CHUNK;
                for (b, block) in sums.chunks_exact(tile).enumerate() {
                    let block = &block[at..at + dw.len()];
                    if first + b == 0 {
                        dw.copy_from_slice(block);
                    } else {
                        dw.iter_mut().zip(block).for_each(|(d, &s)| *d += s);
                    }
                }
            });
        }
    })
}

/// Floats of block sums [`weight_grad`] keeps at once (4 MiB).
const BLOCK_SUMS_FLOATS: usize = 1 << 20;

/// Elements of the weight gradient a task adds up over the blocks.
const ADD_CHUNK: usize = 4096;

thread_local! {
    // The weight gradient's block sums (on the calling thread), and a
    // block's rows of cols (on each thread that multiplies one).
    static BLOCK_SUMS: std::cell::RefCell<Vec<f32>> = const { std::cell::RefCell::new(Vec::new()) };
    static BLOCK_COLS: std::cell::RefCell<Vec<f32>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Direct convolution, one output at a time in f64: the reference the
/// lowered version is tested against. `w` is `[kh, kw, c, filters]`
/// (HWIO), `y` is `[batch, out_h, out_w, filters]`.
pub fn conv2d_naive(g: &ConvGeometry, batch: usize, x: &[f32], w: &[f32], bias: &[f32], y: &mut [f32]) {
    let filters = bias.len();
    for n in 0..batch {
        for oy in 0..g.out_h {
            for ox in 0..g.out_w {
                for f in 0..filters {
                    let mut sum = bias[f] as f64;
                    for ky in 0..g.kernel_h {
                        for kx in 0..g.kernel_w {
                            if let Some((yy, xx)) = g.source(oy, ox, ky, kx) {
                                for ci in 0..g.channels {
                                    let xv = x[n * g.image_len() + (yy * g.width + xx) * g.channels + ci];
                                    let wv = w[((ky * g.kernel_w + kx) * g.channels + ci) * filters + f];
                                    sum += xv as f64 * wv as f64;
                                }
                            }
                        }
                    }
                    y[((n * g.out_h + oy) * g.out_w + ox) * filters + f] = sum as f32;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_padding_as_tensorflow() {
        // 28 with a 5x5 kernel, stride 1: 4 rows of padding, 2 and 2.
        let g = ConvGeometry::new(28, 28, 1, 5, 5, 1, Padding::Same).unwrap();
        assert_eq!((g.out_h, g.pad_top), (28, 2));
        // 28 with a 2x2 window, stride 2: no padding, 14 out.
        let g = ConvGeometry::new(28, 28, 32, 2, 2, 2, Padding::Same).unwrap();
        assert_eq!((g.out_h, g.pad_top), (14, 0));
        // 5 with 2x2, stride 2: out 3, total padding 1, all of it at the bottom.
        let g = ConvGeometry::new(5, 5, 1, 2, 2, 2, Padding::Same).unwrap();
        assert_eq!((g.out_h, g.pad_top), (3, 0));
        // 6 with 4x4, stride 1: total 3, 1 above and 2 below.
        let g = ConvGeometry::new(6, 6, 1, 4, 4, 1, Padding::Same).unwrap();
        assert_eq!((g.out_h, g.pad_top), (6, 1));
        assert_eq!(ConvGeometry::new(28, 28, 1, 5, 5, 1, Padding::Valid).unwrap().out_h, 24);
        assert!(ConvGeometry::new(3, 3, 1, 5, 5, 1, Padding::Valid).is_none());
    }
}
