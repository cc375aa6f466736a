//! Dot products in plain arrays of 16 partial sums, which the compiler
//! vectorises (two 256-bit or four 128-bit registers a dot product). On
//! x86-64 the fused copy is compiled with FMA, as the blocked portable
//! kernel is.

use super::{Dots, LANES, reduce_tree};
use crate::gemm::portable::madd;

/// The portable dot products, fused (`FUSED`) or, for CPUs without FMA, not.
pub struct PortableDots<const FUSED: bool>;

const ROWS: usize = 2;
const COLS: usize = 2;

impl<const FUSED: bool> Dots for PortableDots<FUSED> {
    const ROWS: usize = ROWS;
    const COLS: usize = COLS;

    unsafe fn block(k: usize, a: &[*const f32], bt: *const f32, ldbt: usize, nj: usize, out: &mut [f32; 16]) {
        #[cfg(target_arch = "x86_64")]
        if FUSED {
            // SAFETY: `PortableDots<true>` is only chosen where the CPU has
            // FMA; the rest is the caller's contract.
            return unsafe { block_fma(k, a, bt, ldbt, nj, out) };
        }
        // SAFETY: the caller's contract.
        unsafe { block_body::<FUSED>(k, a, bt, ldbt, nj, out) }
    }
}

/// [`block_body`] compiled with FMA instructions.
///
/// # Safety
/// As `Dots::block`, and the CPU has FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "fma")]
unsafe fn block_fma(k: usize, a: &[*const f32], bt: *const f32, ldbt: usize, nj: usize, out: &mut [f32; 16]) {
    // SAFETY: passed on.
    unsafe { block_body::<true>(k, a, bt, ldbt, nj, out) }
}

/// # Safety
/// As `Dots::block`.
#[inline(always)]
unsafe fn block_body<const FUSED: bool>(
    k: usize,
    a: &[*const f32],
    bt: *const f32,
    ldbt: usize,
    nj: usize,
    out: &mut [f32; 16],
) {
    let mut acc = [[[0.0f32; LANES]; COLS]; ROWS];
    // SAFETY: `ROWS` rows of A and `nj` of Bᵀ hold `k` floats each (the
    // caller's contract); a missing row of Bᵀ (nj < COLS) reads row 0 again
    // and its sums are never written out.
    let a_rows: [&[f32]; ROWS] = std::array::from_fn(|i| unsafe { std::slice::from_raw_parts(a[i], k) });
    let b_rows: [&[f32]; COLS] =
        std::array::from_fn(|j| unsafe { std::slice::from_raw_parts(bt.add(if j < nj { j * ldbt } else { 0 }), k) });
    let full = k / LANES * LANES;
    for p in (0..full).step_by(LANES) {
        let x = a_rows.map(|r| <&[f32; LANES]>::try_from(&r[p..p + LANES]).expect("16 floats"));
        let y = b_rows.map(|r| <&[f32; LANES]>::try_from(&r[p..p + LANES]).expect("16 floats"));
        step::<FUSED>(&mut acc, x, y);
    }
    if full < k {
        // The last steps padded with zeros: 0 * 0 added to each unused sum,
        // as the SIMD paths' masked loads do.
        let pad = |r: &[f32]| {
            let mut t = [0.0f32; LANES];
            t[..k - full].copy_from_slice(&r[full..]);
            t
        };
        let (x, y) = (a_rows.map(pad), b_rows.map(pad));
        step::<FUSED>(&mut acc, [&x[0], &x[1]], [&y[0], &y[1]]);
    }
    for (i, acc_i) in acc.iter().enumerate() {
        for (j, &s) in acc_i.iter().enumerate() {
            out[i * COLS + j] = reduce_tree(s);
        }
    }
}

/// One step of 16 along k for every dot product of the block. A function
/// rather than a closure, so that it is inlined into the FMA copy.
#[inline(always)]
fn step<const FUSED: bool>(acc: &mut [[[f32; LANES]; COLS]; ROWS], x: [&[f32; LANES]; ROWS], y: [&[f32; LANES]; COLS]) {
    for (acc_i, x) in acc.iter_mut().zip(x) {
        for (acc_ij, y) in acc_i.iter_mut().zip(y) {
            for l in 0..LANES {
                acc_ij[l] = madd::<FUSED>(x[l], y[l], acc_ij[l]);
            }
        }
    }
}
