//! The AVX2 + FMA micro-kernel: a 5 x 16 tile of C in 10 ymm registers.
//!
//! Each step of k loads 16 floats of B (two ymm) and broadcasts 5 floats of
//! A into 10 independent FMAs: enough to cover the FMA latency (4 cycles on
//! two units, Zen 3 and Intel alike). MR = 5 divides the batch sizes that
//! training uses (50, 100) and conv's rows (39200, 9800), as AVX-512's
//! MR = 10 does, so those products have no edge rows. It was as fast as the
//! classic 6 x 16 or faster on every product measured, and well ahead of
//! 4 x 24 and 8 x 8 (`docs/kernel-notes.md`, "The AVX2 tile").
//!
//! As in the AVX-512 kernel, A is read where it lies; when it is
//! transposed (or a packed partial panel) its elements of one step sit side
//! by side and are read at constant offsets. Full panels are not packed: a
//! panel would be copied again for every task, which lost more on a
//! batch's products than it gained at 1024³ (`docs/kernel-notes.md`, "A
//! read in place").

use std::arch::x86_64::*;

use super::kernel::MicroKernel;
use super::pack::{self, Operand};
use super::transpose::transpose_8x8;

/// The AVX2 + FMA kernel.
pub struct Avx2;

const MR: usize = 5;
/// Vectors of 8 floats across a tile's row.
const VR: usize = 2;
const NR: usize = 8 * VR;

impl MicroKernel for Avx2 {
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
        // SAFETY: the caller upholds `tile`'s contract, which includes AVX2 and FMA.
        unsafe { tile_rows::<MR, false>(kc, a, rs_a, cs_a, b, rs_b, c, ldc, NR, alpha, beta) }
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
        // SAFETY: the caller upholds `tile_edge`'s contract, which includes
        // AVX2 and FMA; each arm passes its own row count.
        unsafe {
            let edge = |tile: EdgeTile| tile(kc, a, rs_a, cs_a, b, rs_b, c, ldc, nr, alpha, beta);
            match mr {
                1 => edge(tile_rows::<1, true>),
                2 => edge(tile_rows::<2, true>),
                3 => edge(tile_rows::<3, true>),
                4 => edge(tile_rows::<4, true>),
                _ => edge(tile_rows::<MR, true>),
            }
        }
    }

    fn pack_b(b: &Operand, row0: usize, depth: usize, col0: usize, cols: usize, dst: &mut [f32]) {
        if b.col_stride == 1 && cols == NR {
            return pack::pack_rows::<NR>(b, row0, depth, col0, dst, copy_rows);
        }
        // A transposed B and a full panel: 8 x 8 blocks transposed in
        // registers instead of element by element.
        if b.row_stride == 1 && cols == NR {
            return pack::pack_transposed::<NR, 8>(b, row0, depth, col0, dst, transpose_block);
        }
        pack::pack_b(b, row0, depth, col0, cols, NR, dst);
    }
}

/// Reads 8 rows of 8 floats (`ld` apart) from `src` and writes them
/// transposed as 8 rows, `ld_dst` apart, at `dst`.
///
/// # Safety
/// AVX; the reads and writes are in bounds.
#[target_feature(enable = "avx")]
unsafe fn transpose_block(src: *const f32, ld: usize, dst: *mut f32, ld_dst: usize) {
    // SAFETY: as the function's contract.
    unsafe {
        let mut rows: [__m256; 8] = std::array::from_fn(|i| _mm256_loadu_ps(src.add(i * ld)));
        transpose_8x8(&mut rows);
        for (i, r) in rows.iter().enumerate() {
            _mm256_storeu_ps(dst.add(i * ld_dst), *r);
        }
    }
}

/// [`pack::copy_rows`] with AVX's registers.
///
/// # Safety
/// AVX2, and `copy_rows`'s contract.
#[target_feature(enable = "avx2")]
unsafe fn copy_rows(src: *const f32, ld: usize, depth: usize, dst: *mut f32) {
    // SAFETY: as the function's contract.
    unsafe { pack::copy_rows::<NR>(src, ld, depth, dst) }
}

/// The signature of [`tile_rows`] for one row count.
type EdgeTile = unsafe fn(usize, *const f32, usize, usize, *const f32, usize, *mut f32, usize, usize, f32, f32);

/// A tile of `R` rows (at most MR) and `nr` columns (at most NR) of C: the
/// full tile, or an edge tile computed the same way (the same sums in the
/// same order) for the rows that exist only, and read and written through
/// lane masks (`MASKED`). The default edge tile would compute all MR rows
/// into a scratch tile and copy the valid part element by element.
///
/// # Safety
/// As `MicroKernel::tile_edge`, with `R` the row count.
#[target_feature(enable = "avx2,fma")]
#[allow(clippy::too_many_arguments)]
unsafe fn tile_rows<const R: usize, const MASKED: bool>(
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
    // Lanes of each 8-float part of a row that lie inside the tile: all
    // ones where they do. Masked-off lanes are neither read nor written,
    // and cannot fault.
    let masks: [__m256i; VR] = std::array::from_fn(|v| {
        let lanes = nr.saturating_sub(8 * v).min(8) as i32;
        _mm256_cmpgt_epi32(_mm256_set1_epi32(lanes), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7))
    });
    // SAFETY: as in `MicroKernel::tile_edge`.
    unsafe {
        prefetch_c::<R>(c, ldc);
        let acc = product::<R>(kc, a, rs_a, cs_a, b, rs_b);
        // Multiplying by 1 is exact and would cost FMA-unit cycles (as in
        // the AVX-512 kernel).
        let scale = alpha != 1.0;
        let alpha = _mm256_set1_ps(alpha);
        for (i, row) in acc.iter().enumerate() {
            let c_row = c.add(i * ldc);
            for (v, &x) in row.iter().enumerate() {
                let mut x = if scale { _mm256_mul_ps(x, alpha) } else { x };
                let at = c_row.add(8 * v);
                if beta != 0.0 {
                    let old = if MASKED {
                        _mm256_maskload_ps(at, masks[v])
                    } else {
                        _mm256_loadu_ps(at)
                    };
                    x = _mm256_fmadd_ps(old, _mm256_set1_ps(beta), x);
                }
                if MASKED {
                    _mm256_maskstore_ps(at, masks[v], x);
                } else {
                    _mm256_storeu_ps(at, x);
                }
            }
        }
    }
}

/// Asks for the `R` rows of C's tile now: they arrive while the product
/// runs, instead of stalling the stores at the end.
#[target_feature(enable = "avx2")]
#[inline]
fn prefetch_c<const R: usize>(c: *mut f32, ldc: usize) {
    // _mm_prefetch only hints the cache; wrapping_add keeps the address
    // arithmetic defined even past C.
    for i in 0..R {
        _mm_prefetch::<_MM_HINT_T0>(c.wrapping_add(i * ldc).cast());
        _mm_prefetch::<_MM_HINT_T0>(c.wrapping_add(i * ldc + NR - 1).cast());
    }
}

/// The `R x NR` product of A's `R x kc` block and B's `kc x NR` block, in
/// registers. A packed or transposed has its elements of a step side by
/// side, at constant offsets.
///
/// # Safety
/// As in `MicroKernel::tile`, for `R` rows of A; AVX2 and FMA.
#[target_feature(enable = "avx2,fma")]
#[inline]
unsafe fn product<const R: usize>(
    kc: usize,
    a: *const f32,
    rs_a: usize,
    cs_a: usize,
    b: *const f32,
    rs_b: usize,
) -> [[__m256; VR]; R] {
    // SAFETY: as the function's contract.
    unsafe {
        if rs_a == 1 {
            product_strided::<R, true>(kc, a, 1, cs_a, b, rs_b)
        } else {
            product_strided::<R, false>(kc, a, rs_a, cs_a, b, rs_b)
        }
    }
}

#[target_feature(enable = "avx2,fma")]
#[inline]
unsafe fn product_strided<const R: usize, const UNIT_ROWS: bool>(
    kc: usize,
    a: *const f32,
    rs_a: usize,
    cs_a: usize,
    b: *const f32,
    rs_b: usize,
) -> [[__m256; VR]; R] {
    let rs_a = if UNIT_ROWS { 1 } else { rs_a };
    let mut acc = [[_mm256_setzero_ps(); VR]; R];
    // SAFETY: as in `product`.
    unsafe {
        let (mut a, mut b) = (a, b);
        for _ in 0..kc {
            let bv: [__m256; VR] = std::array::from_fn(|v| _mm256_loadu_ps(b.add(8 * v)));
            for (i, row) in acc.iter_mut().enumerate() {
                let ai = _mm256_broadcast_ss(&*a.add(i * rs_a));
                for (r, &bv) in row.iter_mut().zip(&bv) {
                    *r = _mm256_fmadd_ps(ai, bv, *r);
                }
            }
            a = a.add(cs_a);
            b = b.add(rs_b);
        }
    }
    acc
}
