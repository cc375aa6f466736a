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

/// True when the outputs of `g` tile exactly into 2x2 windows (an even
/// number of rows and of columns), so that [`forward_pooled`] can pool them
/// as [`crate::pool::max_pool_forward`] with a 2x2 window of stride 2 would.
pub fn pools_in_twos(g: &ConvGeometry) -> bool {
    g.out_h.is_multiple_of(2) && g.out_w.is_multiple_of(2)
}

/// [`forward`] followed by 2x2 max-pooling of stride 2, without the
/// outputs in between: `y` gets the maxima (`[batch, out_h / 2, out_w / 2,
/// filters]`) and `argmax` their flat indices into the outputs that
/// [`forward`] would have written, the same maxima and indices as
/// [`crate::pool::max_pool_forward`] gives from them. The first layer of
/// a small network writes a quarter of the floats (the fast recipe's 28x28
/// maps of 12 filters are 4.8 MB for a batch of 128, pooled 1.2 MB).
///
/// # Panics
/// Unless [`applies`] and [`pools_in_twos`], or when a slice's length does
/// not fit the shapes.
pub fn forward_pooled(
    g: &ConvGeometry,
    batch: usize,
    x: &[f32],
    w: &[f32],
    bias: &[f32],
    y: &mut [f32],
    argmax: &mut [u32],
) {
    forward_pooled_with(Isa::selected(), g, batch, x, w, bias, y, argmax)
}

/// [`forward_pooled`] with the given kernel.
///
/// # Panics
/// As [`forward_pooled`]; also when this CPU cannot run `isa`.
#[allow(clippy::too_many_arguments)]
pub fn forward_pooled_with(
    isa: Isa,
    g: &ConvGeometry,
    batch: usize,
    x: &[f32],
    w: &[f32],
    bias: &[f32],
    y: &mut [f32],
    argmax: &mut [u32],
) {
    let filters = bias.len();
    check_pooled(isa, g, batch, x, w, filters);
    let (img, plain, out) = (g.image_len(), g.positions() * filters, g.positions() / 4 * filters);
    assert!(
        y.len() == batch * out && argmax.len() == batch * out,
        "conv_direct: pooled output size"
    );
    assert!(batch * plain <= u32::MAX as usize, "conv_direct: indices are u32");
    y.par_chunks_mut(IMAGES_PER_TASK * out)
        .zip(argmax.par_chunks_mut(IMAGES_PER_TASK * out))
        .zip(x.par_chunks(IMAGES_PER_TASK * img))
        .enumerate()
        .for_each(|(t, ((y, argmax), x))| {
            with_padded(g, |buf| {
                let images = y
                    .chunks_exact_mut(out)
                    .zip(argmax.chunks_exact_mut(out))
                    .zip(x.chunks_exact(img));
                for (i, ((y, argmax), x)) in images.enumerate() {
                    let base = ((t * IMAGES_PER_TASK + i) * plain) as u32;
                    forward_pooled_image_in(isa, g, x, w, bias, y, argmax, base, buf);
                }
            })
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
    let positions = g.positions();
    assert_eq!(
        dy.len(),
        batch * positions * filters,
        "conv_direct: output gradient size"
    );
    weight_grad_of(isa, g, batch, x, Dense { dy, positions, filters }, filters, dw)
}

/// [`weight_grad`] of a convolution that was pooled by [`forward_pooled`],
/// from the gradient of the maxima `dpool` and their `argmax`: the output
/// gradient is that of [`crate::pool::max_pool_backward`] (each maximum's
/// gradient at its output, +0 elsewhere), read from the two where it is
/// needed instead of written out, with the same bits. The bias gradient
/// (`db`, one per filter), the column sums of that output gradient, is
/// [`crate::vector::sum_rows`]'s, in the same order.
///
/// # Panics
/// Unless [`applies`] and [`pools_in_twos`], or when a slice's length does
/// not fit the shapes.
#[allow(clippy::too_many_arguments)]
pub fn weight_grad_pooled_with(
    isa: Isa,
    g: &ConvGeometry,
    batch: usize,
    x: &[f32],
    dpool: &[f32],
    argmax: &[u32],
    dw: &mut [f32],
    db: &mut [f32],
) {
    let filters = db.len();
    check_pooled(isa, g, batch, x, dw, filters);
    let (positions, pooled) = (g.positions(), g.positions() / 4);
    assert!(
        dpool.len() == batch * pooled * filters && argmax.len() == dpool.len(),
        "conv_direct: pooled gradient size"
    );
    let grad = Pooled {
        dpool,
        argmax,
        positions,
        pooled,
        pool_w: g.out_w / 2,
        filters,
    };
    bias_grad_pooled(isa, g, batch, grad, db);
    weight_grad_of(isa, g, batch, x, grad, filters, dw)
}

/// [`weight_grad_pooled_with`] with the kernel chosen for this CPU.
///
/// # Panics
/// As [`weight_grad_pooled_with`].
pub fn weight_grad_pooled(
    g: &ConvGeometry,
    batch: usize,
    x: &[f32],
    dpool: &[f32],
    argmax: &[u32],
    dw: &mut [f32],
    db: &mut [f32],
) {
    weight_grad_pooled_with(Isa::selected(), g, batch, x, dpool, argmax, dw, db)
}

/// The weight gradient's depth blocks, summed in parallel and added in
/// order, with the output gradient read through `grad`.
fn weight_grad_of<R: RowGrad>(
    isa: Isa,
    g: &ConvGeometry,
    batch: usize,
    x: &[f32],
    grad: R,
    filters: usize,
    dw: &mut [f32],
) {
    let patch = g.patch_len();
    let rows = batch * g.positions();
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
                    R::block_sums(isa, g, x, grad, rows, sums);
                }
            });
        let mut blocks = partial.chunks_exact(patch * filters);
        dw.copy_from_slice(blocks.next().expect("at least one block"));
        for sums in blocks {
            dw.iter_mut().zip(sums).for_each(|(d, &s)| *d += s);
        }
    });
}

/// Where the weight gradient reads the output gradient from.
trait RowGrad: Copy + Send + Sync {
    /// Filters `f0..f0 + nf` (`nf <= W`) of the output gradient at output
    /// (oy, ox) of `image`, `position` being `oy * out_w + ox`; lanes past
    /// `nf` are anything.
    fn get<const W: usize>(
        &self,
        image: usize,
        position: usize,
        oy: usize,
        ox: usize,
        f0: usize,
        nf: usize,
    ) -> [f32; W];

    /// [`block_sums`] reading through this source.
    fn block_sums(isa: Isa, g: &ConvGeometry, x: &[f32], grad: Self, rows: Rows, sums: &mut [f32]);
}

/// The output gradient itself, `[batch · positions, filters]`.
#[derive(Clone, Copy)]
struct Dense<'a> {
    dy: &'a [f32],
    positions: usize,
    filters: usize,
}

impl RowGrad for Dense<'_> {
    #[inline(always)]
    fn get<const W: usize>(&self, image: usize, position: usize, _: usize, _: usize, f0: usize, nf: usize) -> [f32; W] {
        load_spill::<W>(&self.dy[(image * self.positions + position) * self.filters + f0..], nf)
    }

    fn block_sums(isa: Isa, g: &ConvGeometry, x: &[f32], grad: Self, rows: Rows, sums: &mut [f32]) {
        with_padded(g, |buf| block_sums_dense_in(isa, g, x, grad, rows, sums, buf))
    }
}

/// The output gradient of 2x2 max-pooling: at each output, the gradient
/// of its window's maximum where it won, +0 elsewhere (see `get` for why
/// that is the bits of [`crate::pool::max_pool_backward`]'s `0 + dpool`).
#[derive(Clone, Copy)]
struct Pooled<'a> {
    dpool: &'a [f32],
    argmax: &'a [u32],
    /// Outputs per image before pooling, and after.
    positions: usize,
    pooled: usize,
    /// Maxima per row.
    pool_w: usize,
    filters: usize,
}

impl RowGrad for Pooled<'_> {
    #[inline(always)]
    fn get<const W: usize>(
        &self,
        image: usize,
        position: usize,
        oy: usize,
        ox: usize,
        f0: usize,
        nf: usize,
    ) -> [f32; W] {
        let at = (image * self.pooled + (oy / 2) * self.pool_w + ox / 2) * self.filters + f0;
        let index = ((image * self.positions + position) * self.filters + f0) as u32;
        let d = load_spill::<W>(&self.dpool[at..], nf);
        let won = load_spill_u32::<W>(&self.argmax[at..], nf);
        // `d` itself where max_pool_backward writes `0 + d`: they differ
        // only for d = -0, and a sum that is not -0 (none is: each starts
        // at +0) plus -0 or +0, or a multiply-add of either, is the same.
        // A loop, not array::from_fn, which was left a call here.
        let mut out = [0.0f32; W];
        for f in 0..W {
            out[f] = if won[f] == index + f as u32 { d[f] } else { 0.0 };
        }
        out
    }

    fn block_sums(isa: Isa, g: &ConvGeometry, x: &[f32], grad: Self, rows: Rows, sums: &mut [f32]) {
        with_padded(g, |buf| block_sums_pooled_in(isa, g, x, grad, rows, sums, buf))
    }
}

/// [`load_spill`] for indices.
#[inline(always)]
fn load_spill_u32<const W: usize>(src: &[u32], n: usize) -> [u32; W] {
    match src.get(..W) {
        Some(whole) => whole.try_into().expect("W indices"),
        None => {
            let mut v = [u32::MAX; W];
            v[..n].copy_from_slice(&src[..n]);
            v
        }
    }
}

on_each_isa! {
    /// `db[f]` = the sum over every output, image after image, of the
    /// pooled output gradient (`grad`) at filter `f`, on the instruction set
    /// `isa`: [`crate::vector::sum_rows`] of the output gradient that
    /// [`crate::pool::max_pool_backward`] writes, each column from +0 row by
    /// row.
    fn bias_grad_pooled(g: &ConvGeometry, batch: usize, grad: Pooled, db: &mut [f32]) => bias_grad_pooled_body
}

#[inline(always)]
fn bias_grad_pooled_body<const W: usize, const FUSED: bool>(
    g: &ConvGeometry,
    batch: usize,
    grad: Pooled,
    db: &mut [f32],
) {
    let filters = db.len();
    // Row by row of outputs, a window's maximum lies in its top row or its
    // bottom one: the top row's maxima come first, window by window, then
    // the bottom row's. So each row of maxima is read twice, each time
    // adding those that won in that row (+0 for the others), instead of
    // working out every output's gradient: the same sums in the same
    // order.
    for f0 in (0..filters).step_by(W) {
        let nf = W.min(filters - f0);
        let mut acc = [0.0f32; W];
        for image in 0..batch {
            for py in 0..g.out_h / 2 {
                let start = image * grad.pooled + py * grad.pool_w;
                // The first index of the window row's bottom output row.
                let bottom = ((image * grad.positions + (2 * py + 1) * g.out_w) * grad.filters) as u32;
                for top in [true, false] {
                    for px in 0..grad.pool_w {
                        let at = (start + px) * grad.filters + f0;
                        let d = load_spill::<W>(&grad.dpool[at..], nf);
                        let won = load_spill_u32::<W>(&grad.argmax[at..], nf);
                        for f in 0..W {
                            let here = (won[f] < bottom) == top;
                            acc[f] += if here { d[f] } else { 0.0 };
                        }
                    }
                }
            }
        }
        db[f0..f0 + nf].copy_from_slice(&acc[..nf]);
    }
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

/// [`check`] for the pooled passes, which also need the kernel and
/// outputs that tile in twos.
fn check_pooled(isa: Isa, g: &ConvGeometry, batch: usize, x: &[f32], w: &[f32], filters: usize) {
    assert!(isa.is_supported(), "this CPU cannot run the {} kernel", isa.name());
    assert!(
        pools_in_twos(g),
        "conv_direct: {}x{} outputs do not tile in twos",
        g.out_h,
        g.out_w
    );
    check(g, batch, x, w, filters);
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

/// One image's outputs, on the instruction set in use.
fn forward_image(isa: Isa, g: &ConvGeometry, x: &[f32], w: &[f32], bias: &[f32], y: &mut [f32]) {
    with_padded(g, |buf| forward_image_in(isa, g, x, w, bias, y, buf))
}

/// Runs `f` with this thread's buffer for a padded image of `g`.
fn with_padded<R>(g: &ConvGeometry, f: impl FnOnce(&mut [f32]) -> R) -> R {
    with_scratch(&PADDED, |buf| {
        buf.resize(Padded::len(g), 0.0);
        f(buf)
    })
}

on_each_isa! {
    /// One image on the instruction set `isa`, into `y`, with `buf` for the
    /// padded image.
    fn forward_image_in(g: &ConvGeometry, x: &[f32], w: &[f32], bias: &[f32], y: &mut [f32], buf: &mut [f32])
        => forward_plain
}

on_each_isa! {
    /// One image on the instruction set `isa`, into 2x2 maxima ([`Out::Pooled`]).
    #[allow(clippy::too_many_arguments)]
    fn forward_pooled_image_in(
        g: &ConvGeometry, x: &[f32], w: &[f32], bias: &[f32], y: &mut [f32], argmax: &mut [u32], base: u32,
        buf: &mut [f32],
    ) => forward_pooled_body
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

/// Where a forward pass writes an image's outputs.
enum Out<'a> {
    /// Every output: `[out_h, out_w, filters]`.
    Plain(&'a mut [f32]),
    /// 2x2 max-pooled, as [`crate::pool::max_pool_forward`] would pool the
    /// plain outputs: the maxima `y` (`[out_h / 2, out_w / 2, filters]`) and
    /// their flat indices into the plain outputs of the batch, `base` being
    /// this image's first.
    Pooled {
        y: &'a mut [f32],
        argmax: &'a mut [u32],
        base: u32,
    },
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
    out: Out,
    buf: &mut [f32],
) {
    match g.patch_len() {
        4 => forward_patch::<W, FUSED, 4>(g, x, w, bias, out, buf, 4),
        9 => forward_patch::<W, FUSED, 9>(g, x, w, bias, out, buf, 9),
        25 => forward_patch::<W, FUSED, 25>(g, x, w, bias, out, buf, 25),
        patch => forward_patch::<W, FUSED, MAX_PATCH>(g, x, w, bias, out, buf, patch),
    }
}

/// [`forward_body`] into every output.
#[inline(always)]
fn forward_plain<const W: usize, const FUSED: bool>(
    g: &ConvGeometry,
    x: &[f32],
    w: &[f32],
    bias: &[f32],
    y: &mut [f32],
    buf: &mut [f32],
) {
    forward_body::<W, FUSED>(g, x, w, bias, Out::Plain(y), buf)
}

/// [`forward_body`] into 2x2 maxima (see [`Out::Pooled`]).
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn forward_pooled_body<const W: usize, const FUSED: bool>(
    g: &ConvGeometry,
    x: &[f32],
    w: &[f32],
    bias: &[f32],
    y: &mut [f32],
    argmax: &mut [u32],
    base: u32,
    buf: &mut [f32],
) {
    forward_body::<W, FUSED>(g, x, w, bias, Out::Pooled { y, argmax, base }, buf)
}

#[inline(always)]
fn forward_patch<const W: usize, const FUSED: bool, const P: usize>(
    g: &ConvGeometry,
    x: &[f32],
    w: &[f32],
    bias: &[f32],
    mut out: Out,
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
        let y = match &mut out {
            Out::Plain(y) => &mut **y,
            Out::Pooled { y, argmax, base } => {
                // Each window's four outputs in registers, compared as
                // they are made (written out and read back, the loads
                // waited on stores they straddle).
                let plain_index = |oy: usize, ox: usize| *base + ((oy * g.out_w + ox) * filters + f0) as u32;
                for py in 0..g.out_h / 2 {
                    for px in 0..g.out_w / 2 {
                        let cells = [
                            (2 * py, 2 * px),
                            (2 * py, 2 * px + 1),
                            (2 * py + 1, 2 * px),
                            (2 * py + 1, 2 * px + 1),
                        ];
                        let mut best = [0.0f32; W];
                        let mut at = [0u32; W];
                        for (q, &(oy, ox)) in cells.iter().enumerate() {
                            let corner = pad.corner(g, oy, ox);
                            let sums =
                                window_sums::<W, FUSED, P>(&buf[corner..], &pad.offsets, &weights, patch, narrow);
                            let v: [f32; W] = std::array::from_fn(|f| b[f] + sums[f]);
                            let i = plain_index(oy, ox);
                            if q == 0 {
                                (best, at) = (v, [i; W]);
                                continue;
                            }
                            for f in 0..W {
                                let wins = crate::pool::wins(v[f], best[f]);
                                best[f] = if wins { v[f] } else { best[f] };
                                at[f] = if wins { i } else { at[f] };
                            }
                        }
                        let o = (py * (g.out_w / 2) + px) * filters + f0;
                        y[o..o + nf].copy_from_slice(&best[..nf]);
                        for (f, a) in argmax[o..o + nf].iter_mut().enumerate() {
                            *a = at[f] + f as u32;
                        }
                    }
                }
                continue;
            }
        };
        let at = |oy: usize, ox: usize| (oy * g.out_w + ox) * filters + f0;
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
                        store_sums::<W>(y, at(oy, ox + i), filters, nf, &b, sums);
                    }
                    ox += POSITIONS;
                }
            }
            for ox in ox..g.out_w {
                let corner = pad.corner(g, oy, ox);
                let sums = window_sums::<W, FUSED, P>(&buf[corner..], &pad.offsets, &weights, patch, narrow);
                store_sums::<W>(y, at(oy, ox), filters, nf, &b, sums);
            }
        }
    }
}

/// Writes `b + sums` (filters `f0..f0 + nf` of one output) at `at` in `y`.
/// Functions rather than closures, so that they are inlined into every
/// copy of the forward pass (a closure stopped being inlined when the
/// pass grew its pooled output, and the pass ran at half speed).
#[inline(always)]
fn store_sums<const W: usize>(y: &mut [f32], at: usize, filters: usize, nf: usize, b: &[f32; W], sums: [f32; W]) {
    let out: [f32; W] = std::array::from_fn(|f| b[f] + sums[f]);
    match y.get_mut(at..at + W) {
        // One vector's store where a single pass covers every filter:
        // lanes past `nf` land on the next position, which is written
        // after this one. (With more filters they would land on this
        // pass's earlier ones.)
        Some(whole) if filters <= W => whole.copy_from_slice(&out),
        _ => y[at..at + nf].copy_from_slice(&out[..nf]),
    }
}

/// The sums of one output, whose window starts at `window[0]`, in the
/// order of the product it stands for: the dot products' for `narrow`
/// filters, else the blocked loop nest's.
#[inline(always)]
fn window_sums<const W: usize, const FUSED: bool, const P: usize>(
    window: &[f32],
    offsets: &[usize; MAX_PATCH],
    weights: &[[f32; W]; P],
    patch: usize,
    narrow: bool,
) -> [f32; W] {
    let mut xs = [0.0f32; P];
    for (x, &offset) in xs.iter_mut().zip(offsets).take(patch) {
        *x = window[offset];
    }
    if narrow {
        dots_order::<W, FUSED, P>(&xs, weights, patch)
    } else {
        blocked_order::<W, FUSED, P>(&xs, weights, patch)
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

on_each_isa! {
    /// One depth block of the weight gradient on the instruction set `isa`:
    /// `sums[p][f]` = the fused sum, from +0, of `window(row)[p] · dy[row][f]`
    /// over the block's rows.
    fn block_sums_dense_in(g: &ConvGeometry, x: &[f32], grad: Dense, rows: Rows, sums: &mut [f32], buf: &mut [f32])
        => block_sums_dense
}

on_each_isa! {
    /// `block_sums_dense_in` reading a pooled output gradient.
    fn block_sums_pooled_in(g: &ConvGeometry, x: &[f32], grad: Pooled, rows: Rows, sums: &mut [f32], buf: &mut [f32])
        => block_sums_pooled
}

#[inline(always)]
fn block_sums_dense<const W: usize, const FUSED: bool>(
    g: &ConvGeometry,
    x: &[f32],
    grad: Dense,
    rows: Rows,
    sums: &mut [f32],
    buf: &mut [f32],
) {
    block_sums_body::<W, FUSED, Dense>(g, x, grad, rows, sums, buf)
}

#[inline(always)]
fn block_sums_pooled<const W: usize, const FUSED: bool>(
    g: &ConvGeometry,
    x: &[f32],
    grad: Pooled,
    rows: Rows,
    sums: &mut [f32],
    buf: &mut [f32],
) {
    block_sums_body::<W, FUSED, Pooled>(g, x, grad, rows, sums, buf)
}

#[inline(always)]
fn block_sums_body<const W: usize, const FUSED: bool, R: RowGrad>(
    g: &ConvGeometry,
    x: &[f32],
    grad: R,
    rows: Rows,
    sums: &mut [f32],
    buf: &mut [f32],
) {
    match g.patch_len() {
        4 => block_sums_groups::<W, FUSED, 4, R>(g, x, grad, rows, sums, buf, 4),
        9 => block_sums_groups::<W, FUSED, 9, R>(g, x, grad, rows, sums, buf, 9),
        25 => block_sums_groups::<W, FUSED, 13, R>(g, x, grad, rows, sums, buf, 25),
        patch => block_sums_groups::<W, FUSED, 8, R>(g, x, grad, rows, sums, buf, patch),
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
fn block_sums_groups<const W: usize, const FUSED: bool, const G: usize, R: RowGrad>(
    g: &ConvGeometry,
    x: &[f32],
    grad: R,
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
                    let d = grad.get::<W>(image, position, oy, ox, f0, nf);
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

    /// A test's shapes: (h, w, c, kernel, stride, padding, filters, batch).
    type Case = (usize, usize, usize, usize, usize, Padding, usize, usize);

    /// Forward and weight gradient of both paths, compared bit for bit.
    fn compare(case: Case, seed: u64) {
        let (h, wd, c, k, stride, padding, filters, batch) = case;
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
    /// strides, and batches whose rows do not fill the last depth block;
    /// and the pooled passes those of the plain ones and the pooling, where
    /// the outputs tile in twos.
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
            (28, 28, 1, 3, 1, Padding::Same, 12, 3),
            (10, 10, 2, 3, 1, Padding::Valid, 20, 3),
            (12, 8, 3, 3, 2, Padding::Same, 5, 4),
            (6, 6, 1, 2, 1, Padding::Same, 40, 5),
        ];
        for (i, case) in shapes.into_iter().enumerate() {
            compare(case, i as u64 + 7);
            let (h, wd, c, k, stride, padding, ..) = case;
            if ConvGeometry::new(h, wd, c, k, k, stride, padding).is_some_and(|g| pools_in_twos(&g)) {
                compare_pooled(case, i as u64 + 3);
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(40))]
        /// Any shape the path takes, and the pooled passes where its
        /// outputs tile in twos.
        #[test]
        fn same_bits_on_random_shapes(
            h in 2usize..20, wd in 2usize..20, c in 1usize..4, k in 2usize..6,
            stride in 1usize..3, same in any::<bool>(), filters in 1usize..40,
            batch in 1usize..6, seed in any::<u64>(),
        ) {
            let padding = if same { Padding::Same } else { Padding::Valid };
            let g = ConvGeometry::new(h, wd, c, k, k, stride, padding);
            prop_assume!(g.is_some_and(|g| applies(&g)));
            let case = (h, wd, c, k, stride, padding, filters, batch);
            compare(case, seed);
            if g.is_some_and(|g| pools_in_twos(&g)) {
                compare_pooled(case, seed);
            }
        }
    }

    /// The pooled passes against the plain ones followed by the pooling
    /// kernels, bit for bit, on every instruction set this CPU runs.
    fn compare_pooled(case: Case, seed: u64) {
        let (h, wd, c, k, stride, padding, filters, batch) = case;
        use crate::pool::{max_pool_backward, max_pool_forward};
        let g = ConvGeometry::new(h, wd, c, k, k, stride, padding).unwrap();
        assert!(applies(&g) && pools_in_twos(&g));
        let pool = ConvGeometry::new(g.out_h, g.out_w, filters, 2, 2, 2, Padding::Valid).unwrap();
        let mut state = seed | 1;
        let mut x = values(batch * g.image_len(), &mut state);
        // Ties between a window's outputs: an image of zeros (every output
        // its bias) and repeated pixels.
        x[..g.image_len()].fill(0.0);
        if let Some(v) = x.get_mut(g.image_len() + 3) {
            *v = f32::NAN;
        }
        let w = values(g.patch_len() * filters, &mut state);
        let b = values(filters, &mut state);
        let pooled = batch * pool.positions() * filters;
        let mut dpool = values(pooled, &mut state);
        dpool.iter_mut().step_by(5).for_each(|d| *d = -0.0);
        let bits = |v: &[f32]| v.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        for isa in Isa::ALL.into_iter().filter(|isa| isa.is_supported()) {
            let mut plain = vec![0.0; batch * g.positions() * filters];
            forward_with(isa, &g, batch, &x, &w, &b, &mut plain);
            let (mut y_ref, mut arg_ref) = (vec![0.0; pooled], vec![0u32; pooled]);
            max_pool_forward(&pool, batch, &plain, &mut y_ref, &mut arg_ref);
            let (mut y, mut arg) = (vec![f32::NAN; pooled], vec![u32::MAX; pooled]);
            forward_pooled_with(isa, &g, batch, &x, &w, &b, &mut y, &mut arg);
            let shape = format!("{isa:?} {h}x{wd}x{c} k{k} s{stride} f{filters} batch {batch}");
            assert_eq!(bits(&y), bits(&y_ref), "maxima, {shape}");
            assert_eq!(arg, arg_ref, "indices, {shape}");

            let mut dy = vec![0.0; plain.len()];
            max_pool_backward(batch, &dpool, &arg_ref, &mut dy);
            let mut dw_ref = vec![0.0; g.patch_len() * filters];
            weight_grad_with(isa, &g, batch, &x, &dy, &mut dw_ref);
            let mut db_ref = vec![0.0; filters];
            vector::sum_rows(&dy, &mut db_ref);
            let (mut dw, mut db) = (vec![f32::NAN; dw_ref.len()], vec![f32::NAN; filters]);
            weight_grad_pooled_with(isa, &g, batch, &x, &dpool, &arg, &mut dw, &mut db);
            assert_eq!(bits(&dw), bits(&dw_ref), "weight gradient, {shape}");
            assert_eq!(bits(&db), bits(&db_ref), "bias gradient, {shape}");
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
