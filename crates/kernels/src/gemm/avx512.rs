//! The AVX-512F micro-kernel: a 10 x 32 tile of C in 20 zmm registers.
//!
//! Each step of k loads 32 floats of B (two zmm) and broadcasts 10 floats of
//! A, then issues 20 independent FMAs. Zen 4 retires one zmm FMA per cycle
//! with a latency of 4, so 20 accumulators hide the latency five times
//! over; the 12 loads per 20 FMAs fit its two load ports. MR = 10 divides
//! the batch sizes that training uses (50, 100) with no wasted rows.

use std::arch::x86_64::*;

use super::kernel::MicroKernel;
use super::pack::{self, Operand};
use super::transpose::transpose_16x16;

/// The AVX-512F kernel.
pub struct Avx512;

const MR: usize = 10;
const NR: usize = 32;

impl MicroKernel for Avx512 {
    const MR: usize = MR;
    const NR: usize = NR;
    // Each edge tile is `tile_rows` of its own row count.
    const EDGE_READS_ITS_ROWS_ONLY: bool = true;

    unsafe fn tile(
        kc: usize,
        a: *const f32,
        rs_a: usize,
        cs_a: usize,
        b: *const f32,
        rs_b: usize,
        c: *mut f32,
        ldc: usize,
        alpha: f32,
        beta: f32,
    ) {
        // SAFETY: the caller upholds `tile`'s contract, which includes AVX-512F.
        unsafe { tile_rows::<MR, false, 2>(kc, a, rs_a, cs_a, b, rs_b, c, ldc, NR, alpha, beta) }
    }

    unsafe fn tile_edge(
        kc: usize,
        a: *const f32,
        rs_a: usize,
        cs_a: usize,
        b: *const f32,
        rs_b: usize,
        c: *mut f32,
        ldc: usize,
        mr: usize,
        nr: usize,
        alpha: f32,
        beta: f32,
    ) {
        // A panel of at most 16 columns (48 = 32 + 16 filters, say) has a
        // right half of zero padding: only the left half is multiplied,
        // each lane in the same order.
        let tile = if nr <= 16 {
            edge_tile::<1>(mr)
        } else {
            edge_tile::<2>(mr)
        };
        // SAFETY: the caller upholds `tile_edge`'s contract, which includes
        // AVX-512F; `edge_tile` gives the tile of `mr` rows.
        unsafe { tile(kc, a, rs_a, cs_a, b, rs_b, c, ldc, nr, alpha, beta) }
    }

    fn pack_b(b: &Operand, row0: usize, depth: usize, col0: usize, cols: usize, dst: &mut [f32]) {
        if b.col_stride == 1 && cols == NR {
            return pack::pack_rows::<NR>(b, row0, depth, col0, dst, copy_rows);
        }
        // A transposed B (its logical columns contiguous) and a full panel:
        // transpose 16 x 16 blocks in registers instead of element by element.
        if b.row_stride == 1 && cols == NR {
            return pack::pack_transposed::<NR, 16>(b, row0, depth, col0, dst, transpose_block);
        }
        pack::pack_b(b, row0, depth, col0, cols, NR, dst);
    }
}

/// [`pack::copy_rows`] with AVX-512's registers.
///
/// # Safety
/// AVX-512F, and `copy_rows`'s contract.
#[target_feature(enable = "avx512f")]
unsafe fn copy_rows(src: *const f32, ld: usize, depth: usize, dst: *mut f32) {
    // SAFETY: as the function's contract.
    unsafe { pack::copy_rows::<NR>(src, ld, depth, dst) }
}

/// Reads 16 rows of 16 floats (`ld` apart) from `src` and writes them
/// transposed as 16 rows, `ld_dst` apart, at `dst`.
///
/// # Safety
/// AVX-512F; the reads and writes are in bounds.
#[target_feature(enable = "avx512f")]
unsafe fn transpose_block(src: *const f32, ld: usize, dst: *mut f32, ld_dst: usize) {
    // SAFETY: as the function's contract.
    unsafe {
        let mut rows: [__m512; 16] = std::array::from_fn(|i| _mm512_loadu_ps(src.add(i * ld)));
        transpose_16x16(&mut rows);
        for (i, r) in rows.iter().enumerate() {
            _mm512_storeu_ps(dst.add(i * ld_dst), *r);
        }
    }
}

/// The signature of [`tile_rows`] for one row count.
type EdgeTile = unsafe fn(usize, *const f32, usize, usize, *const f32, usize, *mut f32, usize, usize, f32, f32);

/// The masked [`tile_rows`] of `mr` rows (at most MR) and `H` halves.
fn edge_tile<const H: usize>(mr: usize) -> EdgeTile {
    match mr {
        1 => tile_rows::<1, true, H>,
        2 => tile_rows::<2, true, H>,
        3 => tile_rows::<3, true, H>,
        4 => tile_rows::<4, true, H>,
        5 => tile_rows::<5, true, H>,
        6 => tile_rows::<6, true, H>,
        7 => tile_rows::<7, true, H>,
        8 => tile_rows::<8, true, H>,
        9 => tile_rows::<9, true, H>,
        _ => tile_rows::<10, true, H>,
    }
}

/// A tile of `R` rows (at most MR) and `nr` columns (at most NR) of C: the
/// full 10 x 32 tile, or an edge tile computed the same way (the same sums
/// in the same order) for the rows that exist only, and written through
/// masks (`MASKED`; the full tile keeps plain loads and stores). `H` is
/// the number of 16-float halves multiplied: 2, or 1 for a tile of at most
/// 16 columns, whose right half of B is zero padding. For edges
/// this replaces a scratch tile, which cost a full MR-row product plus a
/// scalar copy: 1.5% of 512 x 100 x 512, whose 512 rows leave a 2-row
/// panel.
///
/// # Safety
/// As `MicroKernel::tile_edge`, with `R` the row count.
#[target_feature(enable = "avx512f")]
#[allow(clippy::too_many_arguments)]
unsafe fn tile_rows<const R: usize, const MASKED: bool, const H: usize>(
    kc: usize,
    a: *const f32,
    rs_a: usize,
    cs_a: usize,
    b: *const f32,
    rs_b: usize,
    c: *mut f32,
    ldc: usize,
    nr: usize,
    alpha: f32,
    beta: f32,
) {
    // Lanes of C's two 16-float halves that lie inside the tile. Masked-off
    // lanes are neither read nor written, and cannot fault.
    let lanes = |from: usize| -> __mmask16 {
        let n = nr.saturating_sub(from).min(16);
        ((1u32 << n) - 1) as __mmask16
    };
    let masks = [lanes(0), lanes(16)];
    // SAFETY: as in `MicroKernel::tile_edge`.
    unsafe {
        prefetch_c::<R>(c, ldc);
        let acc = product::<R, H>(kc, a, rs_a, cs_a, b, rs_b);
        // Multiplying by 1 is exact, and it would take 2 * MR of the FMA
        // unit's cycles a tile: 4% of a tile at conv1's k = 25.
        let scale = alpha != 1.0;
        let alpha = _mm512_set1_ps(alpha);
        for (i, row) in acc.iter().enumerate() {
            let c_row = c.add(i * ldc);
            for (h, &v) in row.iter().enumerate() {
                let mut v = if scale { _mm512_mul_ps(v, alpha) } else { v };
                let at = c_row.add(16 * h);
                if beta != 0.0 {
                    let old = if MASKED {
                        _mm512_maskz_loadu_ps(masks[h], at)
                    } else {
                        _mm512_loadu_ps(at)
                    };
                    v = _mm512_fmadd_ps(old, _mm512_set1_ps(beta), v);
                }
                if MASKED {
                    _mm512_mask_storeu_ps(at, masks[h], v);
                } else {
                    _mm512_storeu_ps(at, v);
                }
            }
        }
    }
}

/// Asks for the `R` rows of C's tile now: they arrive while the product
/// runs, instead of stalling the stores at the end.
///
/// # Safety
/// AVX-512F.
#[target_feature(enable = "avx512f")]
#[inline]
unsafe fn prefetch_c<const R: usize>(c: *mut f32, ldc: usize) {
    // _mm_prefetch only hints the cache; wrapping_add keeps the address
    // arithmetic defined even past C.
    for i in 0..R {
        _mm_prefetch::<_MM_HINT_T0>(c.wrapping_add(i * ldc).cast());
        _mm_prefetch::<_MM_HINT_T0>(c.wrapping_add(i * ldc + 31).cast());
    }
}

/// The `R x 16H` product of A's `R x kc` block and the first `16H` columns
/// of B's `kc x NR` block, in registers. A packed or transposed has its elements of a step side by
/// side: constant offsets then replace a chain of pointer increments.
///
/// # Safety
/// As in `MicroKernel::tile`, for `R` rows of A.
#[target_feature(enable = "avx512f")]
#[inline]
unsafe fn product<const R: usize, const H: usize>(
    kc: usize,
    a: *const f32,
    rs_a: usize,
    cs_a: usize,
    b: *const f32,
    rs_b: usize,
) -> [[__m512; H]; R] {
    // SAFETY: as the function's contract.
    unsafe {
        if rs_a == 1 {
            product_strided::<R, true, H>(kc, a, 1, cs_a, b, rs_b)
        } else {
            product_strided::<R, false, H>(kc, a, rs_a, cs_a, b, rs_b)
        }
    }
}

#[target_feature(enable = "avx512f")]
#[inline]
unsafe fn product_strided<const R: usize, const UNIT_ROWS: bool, const H: usize>(
    kc: usize,
    a: *const f32,
    rs_a: usize,
    cs_a: usize,
    b: *const f32,
    rs_b: usize,
) -> [[__m512; H]; R] {
    let rs_a = if UNIT_ROWS { 1 } else { rs_a };
    let mut acc = [[_mm512_setzero_ps(); H]; R];
    // SAFETY: as in `product`.
    unsafe {
        let (mut a, mut b) = (a, b);
        for _ in 0..kc {
            let bs: [__m512; H] = std::array::from_fn(|h| _mm512_loadu_ps(b.add(16 * h)));
            for (i, row) in acc.iter_mut().enumerate() {
                let ai = _mm512_set1_ps(*a.add(i * rs_a));
                for (acc, &bh) in row.iter_mut().zip(&bs) {
                    *acc = _mm512_fmadd_ps(ai, bh, *acc);
                }
            }
            a = a.add(cs_a);
            b = b.add(rs_b);
        }
    }
    acc
}
