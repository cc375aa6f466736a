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
        // AVX-512F; each arm passes its own row count.
        unsafe {
            let edge = |tile: EdgeTile| tile(kc, a, rs_a, cs_a, b, rs_b, c, ldc, nr, alpha, beta);
            match mr {
                1 => edge(tile_rows::<1, true>),
                2 => edge(tile_rows::<2, true>),
                3 => edge(tile_rows::<3, true>),
                4 => edge(tile_rows::<4, true>),
                5 => edge(tile_rows::<5, true>),
                6 => edge(tile_rows::<6, true>),
                7 => edge(tile_rows::<7, true>),
                8 => edge(tile_rows::<8, true>),
                9 => edge(tile_rows::<9, true>),
                _ => edge(tile_rows::<10, true>),
            }
        }
    }

    fn pack_b(b: &Operand, row0: usize, depth: usize, col0: usize, cols: usize, dst: &mut [f32]) {
        if b.col_stride == 1 && cols == NR {
            return pack_rows(b, row0, depth, col0, dst);
        }
        // A transposed B (its logical columns contiguous) and a full panel:
        // transpose 16 x 16 blocks in registers instead of element by element.
        if b.row_stride != 1 || cols != NR {
            return pack::pack_b(b, row0, depth, col0, cols, NR, dst);
        }
        let ld = b.col_stride;
        let full = depth / 16 * 16;
        // Every read is inside B (columns col0..col0 + 32, rows row0..row0 +
        // depth, as the caller's sizes were checked) and every write inside
        // dst (depth x NR): checked once here for the unchecked loads below.
        assert!(b.data.len() >= (col0 + NR - 1) * ld + row0 + depth && dst.len() >= depth * NR);
        for p0 in (0..full).step_by(16) {
            for c0 in [0, 16] {
                // SAFETY: AVX-512F: this kernel is only used where the CPU has
                // it; the bounds were asserted above.
                unsafe {
                    transpose_block(
                        b.data.as_ptr().add((col0 + c0) * ld + row0 + p0),
                        ld,
                        dst.as_mut_ptr().add(p0 * NR + c0),
                    )
                };
            }
        }
        for p in full..depth {
            for c in 0..NR {
                dst[p * NR + c] = b.data[(col0 + c) * ld + row0 + p];
            }
        }
    }
}

/// Packs a full panel of a row-major B: `depth` rows of NR floats, `ld`
/// apart, one after another. Two registers a row instead of a `memcpy` call
/// a row, and the row `PACK_AHEAD` rows on asked for early: B's rows are
/// often a page or more apart (that is when few-row products pack B), where
/// the hardware prefetchers stop.
fn pack_rows(b: &Operand, row0: usize, depth: usize, col0: usize, dst: &mut [f32]) {
    let ld = b.row_stride;
    // Every read is inside B (rows row0..row0 + depth, columns col0..col0 +
    // NR, as the caller's sizes were checked) and every write inside dst:
    // checked once here for the unchecked loads below.
    assert!(b.data.len() >= (row0 + depth - 1) * ld + col0 + NR && dst.len() >= depth * NR);
    // SAFETY: AVX-512F: this kernel is only used where the CPU has it; the
    // bounds were asserted above; prefetches never fault.
    unsafe { pack_rows_avx512(b.data.as_ptr().add(row0 * ld + col0), ld, depth, dst.as_mut_ptr()) }
}

/// How many rows ahead [`pack_rows`] prefetches.
const PACK_AHEAD: usize = 8;

/// # Safety
/// AVX-512F; `depth` rows of NR floats, `ld` apart, are readable at `src`
/// and `depth * NR` floats writable at `dst`.
#[target_feature(enable = "avx512f")]
unsafe fn pack_rows_avx512(src: *const f32, ld: usize, depth: usize, dst: *mut f32) {
    // SAFETY: as the function's contract; the prefetched addresses may lie
    // past B, which a prefetch tolerates (wrapping_add keeps the pointer
    // arithmetic defined).
    unsafe {
        for p in 0..depth {
            let ahead = src.wrapping_add((p + PACK_AHEAD) * ld);
            _mm_prefetch::<_MM_HINT_T0>(ahead.cast());
            _mm_prefetch::<_MM_HINT_T0>(ahead.wrapping_add(16).cast());
            let row = src.add(p * ld);
            _mm512_storeu_ps(dst.add(p * NR), _mm512_loadu_ps(row));
            _mm512_storeu_ps(dst.add(p * NR + 16), _mm512_loadu_ps(row.add(16)));
        }
    }
}

/// Reads 16 rows of 16 floats (`ld` apart) from `src` and writes them
/// transposed as 16 rows of 16 floats, `NR` apart, at `dst`.
///
/// # Safety
/// AVX-512F; the reads and writes are in bounds.
#[target_feature(enable = "avx512f")]
unsafe fn transpose_block(src: *const f32, ld: usize, dst: *mut f32) {
    // SAFETY: as the function's contract.
    unsafe {
        let mut rows: [__m512; 16] = std::array::from_fn(|i| _mm512_loadu_ps(src.add(i * ld)));
        transpose_16x16(&mut rows);
        for (i, r) in rows.iter().enumerate() {
            _mm512_storeu_ps(dst.add(i * NR), *r);
        }
    }
}

/// The signature of [`tile_rows`] for one row count.
type EdgeTile = unsafe fn(usize, *const f32, usize, usize, *const f32, usize, *mut f32, usize, usize, f32, f32);

/// A tile of `R` rows (at most MR) and `nr` columns (at most NR) of C: the
/// full 10 x 32 tile, or an edge tile computed the same way (the same sums
/// in the same order) for the rows that exist only, and written through
/// masks (`MASKED`; the full tile keeps plain loads and stores). For edges
/// this replaces a scratch tile, which cost a full MR-row product plus a
/// scalar copy: 1.5% of 512 x 100 x 512, whose 512 rows leave a 2-row
/// panel.
///
/// # Safety
/// As `MicroKernel::tile_edge`, with `R` the row count.
#[target_feature(enable = "avx512f")]
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
        let acc = product::<R>(kc, a, rs_a, cs_a, b, rs_b);
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

/// The `R x NR` product of A's `R x kc` block and B's `kc x NR` block, in
/// registers. A packed or transposed has its elements of a step side by
/// side: constant offsets then replace a chain of pointer increments.
///
/// # Safety
/// As in `MicroKernel::tile`, for `R` rows of A.
#[target_feature(enable = "avx512f")]
#[inline]
unsafe fn product<const R: usize>(
    kc: usize,
    a: *const f32,
    rs_a: usize,
    cs_a: usize,
    b: *const f32,
    rs_b: usize,
) -> [[__m512; 2]; R] {
    // SAFETY: as the function's contract.
    unsafe {
        if rs_a == 1 {
            product_strided::<R, true>(kc, a, 1, cs_a, b, rs_b)
        } else {
            product_strided::<R, false>(kc, a, rs_a, cs_a, b, rs_b)
        }
    }
}

#[target_feature(enable = "avx512f")]
#[inline]
unsafe fn product_strided<const R: usize, const UNIT_ROWS: bool>(
    kc: usize,
    a: *const f32,
    rs_a: usize,
    cs_a: usize,
    b: *const f32,
    rs_b: usize,
) -> [[__m512; 2]; R] {
    let rs_a = if UNIT_ROWS { 1 } else { rs_a };
    let mut acc = [[_mm512_setzero_ps(); 2]; R];
    // SAFETY: as in `product`.
    unsafe {
        let (mut a, mut b) = (a, b);
        for _ in 0..kc {
            let b0 = _mm512_loadu_ps(b);
            let b1 = _mm512_loadu_ps(b.add(16));
            for (i, row) in acc.iter_mut().enumerate() {
                let ai = _mm512_set1_ps(*a.add(i * rs_a));
                row[0] = _mm512_fmadd_ps(ai, b0, row[0]);
                row[1] = _mm512_fmadd_ps(ai, b1, row[1]);
            }
            a = a.add(cs_a);
            b = b.add(rs_b);
        }
    }
    acc
}
