//! Convolution of images with few channels, computed directly from the
//! image instead of through im2col and a matrix product, with the same bits
//! as that lowered path.
//!
//! A first layer sees one channel: its im2col rows are 9 or 25 floats
//! long, so the product `cols · W` is mostly loop overhead and the `cols`
//! buffer (nine copies of the batch) mostly memory traffic. Here each
//! output position gathers its window into registers and multiplies it by
//! weights that stay in registers for the whole image.
//!
//! The bits are those of [`im2col`](crate::conv::im2col) followed by
//! [`sgemm`](crate::sgemm), because each output is summed in the order the
//! GEMM sums it for that shape, and the GEMM's order depends on the shape
//! alone:
//! - at most 16 filters ([`crate::gemm`]'s dot products): partial sum `l`
//!   takes the window's elements `l, l + 16, ...` by fused multiply-adds
//!   from +0, and the 16 partial sums are added in a fixed tree;
//! - more filters (the blocked loop nest): the window's elements in order,
//!   by fused multiply-adds from +0, in depth blocks of equal size (at most
//!   [`KC`] long), each block's sum added to the output in turn.
//!
//! The padding adds nothing: im2col writes zeros there, and a fused
//! multiply-add of +0 with anything leaves a sum that is not -0 unchanged
//! (and none of these sums is -0: they start at +0, and in round-to-nearest
//! a sum is -0 only when both terms are). So windows at the border skip
//! their padding, or multiply zeros, to the same bits. Tests compare both
//! paths bit for bit on every instruction set.

use std::cell::RefCell;

use rayon::prelude::*;

use crate::conv::ConvGeometry;
use crate::gemm::params::KC;
use crate::isa::Isa;
use crate::scratch::with_scratch;

/// The longest window (`kernel_h · kernel_w · channels`) taken here; longer
/// ones have enough work per row for the matrix product.
pub const MAX_PATCH: usize = 32;

/// The most filters summed in the dot products' order (as
/// [`crate::gemm`]'s narrow path).
const NARROW_FILTERS: usize = 16;

/// Partial sums of the dot products' order.
const LANES: usize = 16;

/// Positions computed side by side in the blocked order's forward pass.
const POSITIONS: usize = 8;

/// Images per parallel task of the forward pass.
const IMAGES_PER_TASK: usize = 2;

/// Depth blocks of the weight gradient per parallel task.
const BLOCKS_PER_TASK: usize = 16;

/// True when the direct path takes this convolution: a window of 2 to
/// [`MAX_PATCH`] elements (a 1-element window has a transposed im2col that
/// the GEMM reads as contiguous, in another order). A rule on the shape
/// alone, so the path (and the bits) never depend on the CPU.
pub fn applies(g: &ConvGeometry) -> bool {
    (2..=MAX_PATCH).contains(&g.patch_len())
}

/// `y = b + conv(x, W)` over `batch` NHWC images `x`, with HWIO weights
/// `w` (`patch_len x filters`) and `bias` (`filters`): the same bits as
/// broadcasting the bias into `y`, then `sgemm(1, im2col(x), W, 1, y)`.
///
/// # Panics
/// Unless [`applies`], or when a slice's length does not fit the shapes.
pub fn forward(g: &ConvGeometry, batch: usize, x: &[f32], w: &[f32], bias: &[f32], y: &mut [f32]) {
    forward_with(Isa::selected(), g, batch, x, w, bias, y)
}

/// [`forward`] with the given kernel, for tests and benchmarks that compare
/// kernels.
///
/// # Panics
/// As [`forward`]; also when this CPU cannot run `isa`.
pub fn forward_with(isa: Isa, g: &ConvGeometry, batch: usize, x: &[f32], w: &[f32], bias: &[f32], y: &mut [f32]) {
    assert!(isa.is_supported(), "this CPU cannot run the {} kernel", isa.name());
    let filters = bias.len();
    check(g, batch, x, w, filters);
    assert_eq!(y.len(), batch * g.positions() * filters, "conv_direct: output size");
    let (img, out) = (g.image_len(), g.positions() * filters);
    y.par_chunks_mut(IMAGES_PER_TASK * out)
        .zip(x.par_chunks(IMAGES_PER_TASK * img))
        .for_each(|(y, x)| {
            for (y, x) in y.chunks_exact_mut(out).zip(x.chunks_exact(img)) {
                forward_image(isa, g, x, w, bias, y);
            }
        });
}

/// `dw = im2col(x)ᵀ dy` for `batch` images and the output gradient `dy`
/// (`[batch · positions, filters]`): the same bits as `sgemm(1,
/// im2col(x).t(), dy, 0, dw)`. The depth blocks are summed in parallel and
/// added in order, as the GEMM adds them.
///
/// # Panics
/// Unless [`applies`], or when a slice's length does not fit the shapes.
pub fn weight_grad(g: &ConvGeometry, batch: usize, x: &[f32], dy: &[f32], dw: &mut [f32]) {
    weight_grad_with(Isa::selected(), g, batch, x, dy, dw)
}

/// [`weight_grad`] with the given kernel.
///
/// # Panics
/// As [`weight_grad`]; also when this CPU cannot run `isa`.
pub fn weight_grad_with(isa: Isa, g: &ConvGeometry, batch: usize, x: &[f32], dy: &[f32], dw: &mut [f32]) {
    assert!(isa.is_supported(), "this CPU cannot run the {} kernel", isa.name());
    let patch = g.patch_len();
    let filters = dw.len() / patch.max(1);
    check(g, batch, x, dw, filters);
    let rows = batch * g.positions();
    assert_eq!(dy.len(), rows * filters, "conv_direct: output gradient size");
    if rows == 0 {
        dw.fill(0.0);
        return;
    }
    // The GEMM's depth blocks: equal sizes of at most KC.
    let block = rows.div_ceil(rows.div_ceil(KC));
    let blocks = rows.div_ceil(block);
    with_scratch(&PARTIAL, |partial| {
        // Every block's sums are written before they are read.
        partial.resize(blocks * patch * filters, 0.0);
        partial
            .par_chunks_mut(BLOCKS_PER_TASK * patch * filters)
            .enumerate()
            .for_each(|(t, sums)| {
                for (i, sums) in sums.chunks_exact_mut(patch * filters).enumerate() {
                    let start = (t * BLOCKS_PER_TASK + i) * block;
                    let rows = Rows {
                        filters,
                        start,
                        count: block.min(rows - start),
                    };
                    block_sums(isa, g, x, dy, rows, sums);
                }
            });
        let mut blocks = partial.chunks_exact(patch * filters);
        dw.copy_from_slice(blocks.next().expect("at least one block"));
        for sums in blocks {
            dw.iter_mut().zip(sums).for_each(|(d, &s)| *d += s);
        }
    });
}

/// A depth block of the weight gradient: `count` rows of im2col (output
/// positions, image after image) from `start`, against `filters` columns
/// of the output gradient.
#[derive(Clone, Copy)]
struct Rows {
    filters: usize,
    start: usize,
    count: usize,
}

fn check(g: &ConvGeometry, batch: usize, x: &[f32], w: &[f32], filters: usize) {
    assert!(applies(g), "conv_direct: a window of {} elements", g.patch_len());
    assert_eq!(x.len(), batch * g.image_len(), "conv_direct: input size");
    assert_eq!(w.len(), g.patch_len() * filters, "conv_direct: weights size");
}

/// An image copied into a zero border wide enough for every window, so
/// that each window is `patch` floats at fixed offsets from its corner.
struct Padded {
    /// Floats between two padded rows.
    row: usize,
    /// Offset of window element `p` from the window's first.
    offsets: [usize; MAX_PATCH],
}

impl Padded {
    fn new(g: &ConvGeometry) -> Self {
        let row = Self::width(g) * g.channels;
        let mut offsets = [0; MAX_PATCH];
        let mut p = 0;
        for ky in 0..g.kernel_h {
            for kx in 0..g.kernel_w {
                for c in 0..g.channels {
                    offsets[p] = ky * row + kx * g.channels + c;
                    p += 1;
                }
            }
        }
        Self { row, offsets }
    }

    fn width(g: &ConvGeometry) -> usize {
        (g.pad_left + g.width).max((g.out_w - 1) * g.stride + g.kernel_w)
    }

    fn len(g: &ConvGeometry) -> usize {
        let height = (g.pad_top + g.height).max((g.out_h - 1) * g.stride + g.kernel_h);
        height * Self::width(g) * g.channels
    }

    /// Writes image `x` into `buf` (`len` floats) inside its zero border.
    fn fill(&self, g: &ConvGeometry, x: &[f32], buf: &mut [f32]) {
        buf.fill(0.0);
        let c = g.channels;
        for (y, src) in x.chunks_exact(g.width * c).enumerate() {
            let at = (y + g.pad_top) * self.row + g.pad_left * c;
            buf[at..at + src.len()].copy_from_slice(src);
        }
    }

    /// Where window (oy, ox) begins.
    #[inline(always)]
    fn corner(&self, g: &ConvGeometry, oy: usize, ox: usize) -> usize {
        (oy * self.row + ox * g.channels) * g.stride
    }
}

thread_local! {
    // The padded image, kept from call to call.
    static PADDED: RefCell<Vec<f32>> = RefCell::default();
    // The weight gradient's sums per depth block.
    static PARTIAL: RefCell<Vec<f32>> = RefCell::default();
}

/// `fn NAME(isa, ARGS)`: runs `BODY::<W, FUSED>(ARGS)` compiled for `isa`,
/// 16 floats a vector for AVX-512 and 8 for AVX2 and the portable path,
/// fused multiply-adds wherever the CPU has FMA (as the portable GEMM). The
/// vector width changes no bits: every sum runs across filters, in one
/// order.
macro_rules! on_each_isa {
    ($(#[$meta:meta])* fn $name:ident($($arg:ident: $ty:ty),* $(,)?) => $body:ident) => {
        $(#[$meta])*
        fn $name(isa: Isa, $($arg: $ty),*) {
            #[cfg(target_arch = "x86_64")]
            #[target_feature(enable = "avx512f,avx2,fma")]
            unsafe fn avx512($($arg: $ty),*) {
                $body::<16, true>($($arg),*)
            }
            #[cfg(target_arch = "x86_64")]
            #[target_feature(enable = "avx2,fma")]
            unsafe fn avx2($($arg: $ty),*) {
                $body::<8, true>($($arg),*)
            }
            #[cfg(target_arch = "x86_64")]
            #[target_feature(enable = "fma")]
            unsafe fn fma($($arg: $ty),*) {
                $body::<8, true>($($arg),*)
            }
            match isa {
                #[cfg(target_arch = "x86_64")]
                // SAFETY: the caller checked that the CPU runs `isa`.
                Isa::Avx512 => unsafe { avx512($($arg),*) },
                #[cfg(target_arch = "x86_64")]
                // SAFETY: as above.
                Isa::Avx2 => unsafe { avx2($($arg),*) },
                #[cfg(target_arch = "x86_64")]
                // SAFETY: the CPU has FMA.
                _ if crate::gemm::has_fma() => unsafe { fma($($arg),*) },
                #[cfg(not(target_arch = "x86_64"))]
                _ if crate::gemm::has_fma() => $body::<8, true>($($arg),*),
                _ => $body::<8, false>($($arg),*),
            }
        }
    };
}

/// One image's outputs, on the instruction set in use.
fn forward_image(isa: Isa, g: &ConvGeometry, x: &[f32], w: &[f32], bias: &[f32], y: &mut [f32]) {
    with_scratch(&PADDED, |buf| {
        buf.resize(Padded::len(g), 0.0);
        forward_image_in(isa, g, x, w, bias, y, buf)
    })
}

on_each_isa! {
    /// One image on the instruction set `isa`, into `y`, with `buf` for the
    /// padded image.
    fn forward_image_in(g: &ConvGeometry, x: &[f32], w: &[f32], bias: &[f32], y: &mut [f32], buf: &mut [f32])
        => forward_body
}

/// `n <= W` floats from the front of `src`, zeros after them: one vector
/// load when `n == W` (a copy of run-time length is a call to memmove).
#[inline(always)]
fn load<const W: usize>(src: &[f32], n: usize) -> [f32; W] {
    if n == W {
        src[..W].try_into().expect("W floats")
    } else {
        let mut v = [0.0f32; W];
        v[..n].copy_from_slice(&src[..n]);
        v
    }
}

/// The first `n <= W` floats of `src` in a vector whose other lanes are
/// anything: a whole vector's load when `src` holds that many (the lanes
/// past `n` then belong to the next position, and are never used), a copy
/// of `n` otherwise.
#[inline(always)]
fn load_spill<const W: usize>(src: &[f32], n: usize) -> [f32; W] {
    match src.get(..W) {
        Some(whole) => whole.try_into().expect("W floats"),
        None => load::<W>(src, n),
    }
}

#[inline(always)]
fn madd<const FUSED: bool>(a: f32, b: f32, c: f32) -> f32 {
    if FUSED { a.mul_add(b, c) } else { a * b + c }
}

/// One image, filters `W` at a time; the common window lengths are
/// constants in their own copies, so that their loops unroll into
/// registers.
#[inline(always)]
fn forward_body<const W: usize, const FUSED: bool>(
    g: &ConvGeometry,
    x: &[f32],
    w: &[f32],
    bias: &[f32],
    y: &mut [f32],
    buf: &mut [f32],
) {
    match g.patch_len() {
        4 => forward_patch::<W, FUSED, 4>(g, x, w, bias, y, buf, 4),
        9 => forward_patch::<W, FUSED, 9>(g, x, w, bias, y, buf, 9),
        25 => forward_patch::<W, FUSED, 25>(g, x, w, bias, y, buf, 25),
        patch => forward_patch::<W, FUSED, MAX_PATCH>(g, x, w, bias, y, buf, patch),
    }
}

#[inline(always)]
fn forward_patch<const W: usize, const FUSED: bool, const P: usize>(
    g: &ConvGeometry,
    x: &[f32],
    w: &[f32],
    bias: &[f32],
    y: &mut [f32],
    buf: &mut [f32],
    patch: usize,
) {
    let filters = bias.len();
    let narrow = filters <= NARROW_FILTERS;
    let pad = Padded::new(g);
    pad.fill(g, x, buf);
    let mut weights = [[0.0f32; W]; P];
    for f0 in (0..filters).step_by(W) {
        let nf = W.min(filters - f0);
        for (p, wp) in weights.iter_mut().enumerate().take(patch) {
            wp[..nf].copy_from_slice(&w[p * filters + f0..][..nf]);
        }
        let b = load::<W>(&bias[f0..], nf);
        let store = |y: &mut [f32], oy: usize, ox: usize, sums: [f32; W]| {
            let out: [f32; W] = std::array::from_fn(|f| b[f] + sums[f]);
            let at = (oy * g.out_w + ox) * filters + f0;
            match y.get_mut(at..at + W) {
                // One vector's store where a single pass covers every
                // filter: lanes past `nf` land on the next position,
                // which is written after this one. (With more filters
                // they would land on this pass's earlier ones.)
                Some(whole) if filters <= W => whole.copy_from_slice(&out),
                _ => y[at..at + nf].copy_from_slice(&out[..nf]),
            }
        };
        let gather = |oy: usize, ox: usize| -> [f32; P] {
            let window = &buf[pad.corner(g, oy, ox)..];
            let mut xs = [0.0f32; P];
            for (x, &offset) in xs.iter_mut().zip(&pad.offsets).take(patch) {
                *x = window[offset];
            }
            xs
        };
        for oy in 0..g.out_h {
            let mut ox = 0;
            if !narrow {
                // The blocked order's sum is one chain of multiply-adds per
                // position: several positions side by side keep the
                // multipliers busy while each waits on its last step.
                while ox + POSITIONS <= g.out_w {
                    let corner = pad.corner(g, oy, ox);
                    let step = g.stride * g.channels;
                    let sums = blocked_order_side_by_side::<W, FUSED, P, POSITIONS>(
                        &buf[corner..],
                        step,
                        &pad.offsets,
                        &weights,
                        patch,
                    );
                    for (i, sums) in sums.into_iter().enumerate() {
                        store(y, oy, ox + i, sums);
                    }
                    ox += POSITIONS;
                }
            }
            for ox in ox..g.out_w {
                let xs = gather(oy, ox);
                let sums = if narrow {
                    dots_order::<W, FUSED, P>(&xs, &weights, patch)
                } else {
                    blocked_order::<W, FUSED, P>(&xs, &weights, patch)
                };
                store(y, oy, ox, sums);
            }
        }
    }
}

/// The window times each filter in the dot products' order: 16 partial
/// sums, partial `l` over elements `l, l + 16, ...`, added in the tree of
/// [`crate::gemm`]'s narrow path. Partial sums of no element are +0 and
/// adding them changes nothing (see the module docs), so they are left out.
#[inline(always)]
fn dots_order<const W: usize, const FUSED: bool, const P: usize>(
    window: &[f32; P],
    weights: &[[f32; W]; P],
    patch: usize,
) -> [f32; W] {
    let mut partial = [[0.0f32; W]; LANES];
    for (p, (&x, wp)) in window.iter().zip(weights).enumerate().take(patch) {
        let s = &mut partial[p % LANES];
        s.iter_mut().zip(wp).for_each(|(s, &w)| *s = madd::<FUSED>(x, w, *s));
    }
    let used = patch.min(LANES);
    let add = |a: &[f32; W], b: &[f32; W]| -> [f32; W] { std::array::from_fn(|f| a[f] + b[f]) };
    // The tree: l + 8, then + 4, + 2, + 1, each level over the lanes that
    // hold a sum.
    let mut width = LANES;
    let mut live = used;
    while width > 1 {
        width /= 2;
        for l in 0..width.min(live) {
            if l + width < live {
                partial[l] = add(&partial[l], &partial[l + width]);
            }
        }
        live = live.min(width);
    }
    partial[0]
}

/// [`blocked_order`] of `Q` windows at once, each its own chain: window
/// `i` starts `i * step` floats into `image`, its elements at `offsets`.
/// The loop over the window's elements stays a loop, its body one weight
/// vector against `Q` broadcasts, so the `Q` sums stay in registers
/// whatever the window's length.
#[inline(always)]
fn blocked_order_side_by_side<const W: usize, const FUSED: bool, const P: usize, const Q: usize>(
    image: &[f32],
    step: usize,
    offsets: &[usize; MAX_PATCH],
    weights: &[[f32; W]; P],
    patch: usize,
) -> [[f32; W]; Q] {
    let mut s = [[0.0f32; W]; Q];
    for (wp, &offset) in weights.iter().zip(offsets).take(patch) {
        let xs = &image[offset..][..(Q - 1) * step + 1];
        for (i, s) in s.iter_mut().enumerate() {
            let x = xs[i * step];
            s.iter_mut().zip(wp).for_each(|(s, &w)| *s = madd::<FUSED>(x, w, *s));
        }
    }
    s
}

/// The window times each filter in the blocked loop nest's order: element
/// after element from +0 (one depth block, as `patch <= KC`).
#[inline(always)]
fn blocked_order<const W: usize, const FUSED: bool, const P: usize>(
    window: &[f32; P],
    weights: &[[f32; W]; P],
    patch: usize,
) -> [f32; W] {
    let mut s = [0.0f32; W];
    for (&x, wp) in window.iter().zip(weights).take(patch) {
        s.iter_mut().zip(wp).for_each(|(s, &w)| *s = madd::<FUSED>(x, w, *s));
    }
    s
}

/// One depth block of the weight gradient: `sums[p][f]` = the fused sum,
/// from +0, of `window(row)[p] · dy[row][f]` over the block's rows.
fn block_sums(isa: Isa, g: &ConvGeometry, x: &[f32], dy: &[f32], rows: Rows, sums: &mut [f32]) {
    with_scratch(&PADDED, |buf| {
        buf.resize(Padded::len(g), 0.0);
        block_sums_in(isa, g, x, dy, rows, sums, buf)
    })
}

on_each_isa! {
    /// One depth block on the instruction set `isa`.
    fn block_sums_in(g: &ConvGeometry, x: &[f32], dy: &[f32], rows: Rows, sums: &mut [f32], buf: &mut [f32])
        => block_sums_body
}

#[inline(always)]
fn block_sums_body<const W: usize, const FUSED: bool>(
    g: &ConvGeometry,
    x: &[f32],
    dy: &[f32],
    rows: Rows,
    sums: &mut [f32],
    buf: &mut [f32],
) {
    match g.patch_len() {
        4 => block_sums_groups::<W, FUSED, 4>(g, x, dy, rows, sums, buf, 4),
        9 => block_sums_groups::<W, FUSED, 9>(g, x, dy, rows, sums, buf, 9),
        25 => block_sums_groups::<W, FUSED, 13>(g, x, dy, rows, sums, buf, 25),
        patch => block_sums_groups::<W, FUSED, 8>(g, x, dy, rows, sums, buf, patch),
    }
}

/// The block's sums, `G` window elements at a time: one pass over the
/// block's rows per group. A group's accumulators (a vector each) stay in
/// registers only while the compiler unrolls the loop over them, which it
/// does for 9 or 13 of them and not for a 5x5 window's 25 (those stayed in
/// memory, and the pass ran 12 times slower). Each sum still runs over the
/// same rows in the same order, so the grouping changes no bits.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn block_sums_groups<const W: usize, const FUSED: bool, const G: usize>(
    g: &ConvGeometry,
    x: &[f32],
    dy: &[f32],
    rows: Rows,
    sums: &mut [f32],
    buf: &mut [f32],
    patch: usize,
) {
    let Rows { filters, start, count } = rows;
    let (positions, img) = (g.positions(), g.image_len());
    let pad = Padded::new(g);
    // Image by image over the block's rows: the padded copy is made once
    // per image, not once per group and filter pass.
    let mut row = start;
    while row < start + count {
        let (image, first) = (row / positions, row % positions);
        let last = positions.min(first + start + count - row);
        pad.fill(g, &x[image * img..][..img], buf);
        let dy = &dy[image * positions * filters..][..positions * filters];
        for f0 in (0..filters).step_by(W) {
            let nf = W.min(filters - f0);
            for p0 in (0..patch).step_by(G) {
                let n = G.min(patch - p0);
                let offsets: &[usize; G] = pad.offsets[p0..][..G].try_into().expect("G offsets");
                let mut acc = [[0.0f32; W]; G];
                let out = &mut sums[p0 * filters + f0..];
                if row > start {
                    // Carry on from the block's earlier images.
                    for (j, a) in acc.iter_mut().enumerate().take(n) {
                        a[..nf].copy_from_slice(&out[j * filters..][..nf]);
                    }
                }
                let (mut oy, mut ox) = (first / g.out_w, first % g.out_w);
                for position in first..last {
                    let window = &buf[pad.corner(g, oy, ox)..];
                    let d = load_spill::<W>(&dy[position * filters + f0..], nf);
                    // All G, whatever `n`: a loop of constant length unrolls
                    // (past the window, offsets are 0 and those sums unused).
                    for (a, &offset) in acc.iter_mut().zip(offsets) {
                        let xv = window[offset];
                        a.iter_mut().zip(&d).for_each(|(a, &d)| *a = madd::<FUSED>(xv, d, *a));
                    }
                    ox += 1;
                    if ox == g.out_w {
                        (oy, ox) = (oy + 1, 0);
                    }
                }
                // Copied out whole: a slice of `acc` itself of a length known
                // only at run time would keep it out of registers.
                for (j, &a) in acc.iter().enumerate().take(n) {
                    let a: [f32; W] = a;
                    out[j * filters..][..nf].copy_from_slice(&a[..nf]);
                }
            }
        }
        row += last - first;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conv::{Padding, im2col};
    use crate::matrix::{MatMut, MatRef};
    use crate::{gemm, vector};
    use proptest::prelude::*;

    /// Values in [-1, 1) from a xorshift generator (the crate has no rand).
    fn values(n: usize, state: &mut u64) -> Vec<f32> {
        (0..n)
            .map(|_| {
                *state ^= *state << 13;
                *state ^= *state >> 7;
                *state ^= *state << 17;
                (*state >> 40) as f32 / (1u64 << 23) as f32 - 1.0
            })
            .collect()
    }

    /// Forward and weight gradient of both paths, compared bit for bit.
    #[allow(clippy::too_many_arguments)]
    fn compare(
        h: usize,
        wd: usize,
        c: usize,
        k: usize,
        stride: usize,
        padding: Padding,
        filters: usize,
        batch: usize,
        seed: u64,
    ) {
        let g = ConvGeometry::new(h, wd, c, k, k, stride, padding).unwrap();
        assert!(applies(&g));
        let mut state = seed | 1;
        let x = values(batch * g.image_len(), &mut state);
        let w = values(g.patch_len() * filters, &mut state);
        let b = values(filters, &mut state);
        let dy = values(batch * g.positions() * filters, &mut state);
        for isa in Isa::ALL {
            if !isa.is_supported() {
                continue;
            }
            let (y_ref, dw_ref) = lowered(isa, &g, batch, &x, &w, &b, &dy);
            let mut y = vec![f32::NAN; y_ref.len()];
            let mut dw = vec![f32::NAN; dw_ref.len()];
            forward_with(isa, &g, batch, &x, &w, &b, &mut y);
            weight_grad_with(isa, &g, batch, &x, &dy, &mut dw);
            let same = |a: &[f32], b: &[f32]| a.iter().zip(b).all(|(a, b)| a.to_bits() == b.to_bits());
            assert!(
                same(&y, &y_ref),
                "{isa:?} forward {h}x{wd}x{c} k{k} s{stride} f{filters}"
            );
            assert!(
                same(&dw, &dw_ref),
                "{isa:?} weight gradient {h}x{wd}x{c} k{k} s{stride} f{filters}"
            );
        }
    }

    /// The lowered path: bias broadcast, then cols W, or colsᵀ dy.
    fn lowered(
        isa: Isa,
        g: &ConvGeometry,
        batch: usize,
        x: &[f32],
        w: &[f32],
        b: &[f32],
        dy: &[f32],
    ) -> (Vec<f32>, Vec<f32>) {
        let (rows, patch, filters) = (batch * g.positions(), g.patch_len(), b.len());
        let mut cols = vec![0.0; rows * patch];
        im2col(g, batch, x, &mut cols);
        let mut y = vec![0.0; rows * filters];
        vector::broadcast_rows(&mut y, b);
        let cols_m = MatRef::new(&cols, rows, patch);
        gemm::sgemm_with(
            isa,
            1.0,
            cols_m,
            MatRef::new(w, patch, filters),
            1.0,
            MatMut::new(&mut y, rows, filters),
        );
        let mut dw = vec![0.0; patch * filters];
        gemm::sgemm_with(
            isa,
            1.0,
            cols_m.t(),
            MatRef::new(dy, rows, filters),
            0.0,
            MatMut::new(&mut dw, patch, filters),
        );
        (y, dw)
    }

    /// Both passes give the lowered path's bits, on every instruction set
    /// this CPU runs, for windows of both orders, with and without padding,
    /// strides, and batches whose rows do not fill the last depth block.
    #[test]
    fn same_bits_as_im2col_and_gemm() {
        // (h, w, c, kernel, stride, padding, filters, batch): the fast
        // recipe's and the tutorial's first layers, both orders, padding,
        // strides, several channels, and batches whose rows leave the last
        // depth block short.
        let shapes = [
            (28, 28, 1, 3, 1, Padding::Same, 16, 3),
            (28, 28, 1, 3, 1, Padding::Same, 8, 2),
            (28, 28, 1, 5, 1, Padding::Same, 32, 2),
            (28, 28, 1, 5, 1, Padding::Same, 12, 2),
            (13, 11, 2, 3, 2, Padding::Valid, 24, 3),
            (9, 9, 3, 3, 1, Padding::Same, 5, 4),
            (7, 7, 2, 2, 1, Padding::Valid, 40, 1),
            (10, 10, 1, 4, 3, Padding::Same, 17, 5),
        ];
        for (i, (h, wd, c, k, stride, padding, filters, batch)) in shapes.into_iter().enumerate() {
            compare(h, wd, c, k, stride, padding, filters, batch, i as u64 + 7);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(40))]
        /// Any shape the path takes.
        #[test]
        fn same_bits_on_random_shapes(
            h in 2usize..20, wd in 2usize..20, c in 1usize..4, k in 2usize..6,
            stride in 1usize..3, same in any::<bool>(), filters in 1usize..40,
            batch in 1usize..6, seed in any::<u64>(),
        ) {
            let padding = if same { Padding::Same } else { Padding::Valid };
            let fits = ConvGeometry::new(h, wd, c, k, k, stride, padding).is_some_and(|g| applies(&g));
            prop_assume!(fits);
            compare(h, wd, c, k, stride, padding, filters, batch, seed);
        }
    }

    /// Against the definition, with plain products: the direct path is a
    /// convolution, not merely the lowered path's twin.
    #[test]
    fn a_convolution_by_its_definition() {
        let g = ConvGeometry::new(5, 4, 1, 3, 3, 1, Padding::Same).unwrap();
        let x: Vec<f32> = (0..20).map(|i| i as f32).collect();
        let w: Vec<f32> = (0..9).map(|i| (i as f32) - 4.0).collect();
        let mut y = vec![0.0; 20];
        forward(&g, 1, &x, &w, &[0.5], &mut y);
        for oy in 0..5i32 {
            for ox in 0..4i32 {
                let mut want = 0.5f64;
                for ky in 0..3i32 {
                    for kx in 0..3i32 {
                        let (iy, ix) = (oy + ky - 1, ox + kx - 1);
                        if (0..5).contains(&iy) && (0..4).contains(&ix) {
                            want += (x[(iy * 4 + ix) as usize] * w[(ky * 3 + kx) as usize]) as f64;
                        }
                    }
                }
                assert_eq!(y[(oy * 4 + ox) as usize] as f64, want, "({oy}, {ox})");
            }
        }
    }
}
