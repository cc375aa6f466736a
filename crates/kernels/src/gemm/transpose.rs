//! 16 x 16 and 8 x 8 transposes of `f32` in AVX-512 and AVX registers, for
//! packing panels of a transposed B: reading rows of the stored matrix and
//! writing rows of the packed panel both stay contiguous, a register at a
//! time.

use std::arch::x86_64::*;

/// Transposes the 16 x 16 block whose rows are `rows` in place.
///
/// Three rounds of shuffles, each interleaving at twice the granularity of
/// the last: 32-bit elements (unpack), 64-bit pairs (shuffle_ps), then
/// 128-bit lanes (shuffle_f32x4, twice).
#[target_feature(enable = "avx512f")]
#[inline]
pub fn transpose_16x16(rows: &mut [__m512; 16]) {
    let r = *rows;
    let mut t = [_mm512_setzero_ps(); 16];
    for i in 0..8 {
        t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    let mut u = [_mm512_setzero_ps(); 16];
    for i in 0..4 {
        let (a, b, c, d) = (t[4 * i], t[4 * i + 1], t[4 * i + 2], t[4 * i + 3]);
        u[4 * i] = _mm512_shuffle_ps::<0x44>(a, c);
        u[4 * i + 1] = _mm512_shuffle_ps::<0xee>(a, c);
        u[4 * i + 2] = _mm512_shuffle_ps::<0x44>(b, d);
        u[4 * i + 3] = _mm512_shuffle_ps::<0xee>(b, d);
    }
    // u[4q + s] holds, in each 128-bit lane l, the 4 elements of column
    // 4l + s of rows 4q..4q+4. Gather lane l of the four quads into row 4l + s.
    for s in 0..4 {
        let (q0, q1, q2, q3) = (u[s], u[4 + s], u[8 + s], u[12 + s]);
        let lo01 = _mm512_shuffle_f32x4::<0x88>(q0, q1); // lanes 0, 2 of q0, then of q1
        let hi01 = _mm512_shuffle_f32x4::<0xdd>(q0, q1); // lanes 1, 3
        let lo23 = _mm512_shuffle_f32x4::<0x88>(q2, q3);
        let hi23 = _mm512_shuffle_f32x4::<0xdd>(q2, q3);
        rows[s] = _mm512_shuffle_f32x4::<0x88>(lo01, lo23); // lane 0 of q0..q3
        rows[8 + s] = _mm512_shuffle_f32x4::<0xdd>(lo01, lo23); // lane 2
        rows[4 + s] = _mm512_shuffle_f32x4::<0x88>(hi01, hi23); // lane 1
        rows[12 + s] = _mm512_shuffle_f32x4::<0xdd>(hi01, hi23); // lane 3
    }
}

/// Transposes the 8 x 8 block whose rows are `rows` in place, in the same
/// three rounds as [`transpose_16x16`]: 32-bit elements (unpack), 64-bit
/// pairs (shuffle_ps), then 128-bit halves (permute2f128).
#[target_feature(enable = "avx")]
#[inline]
pub fn transpose_8x8(rows: &mut [__m256; 8]) {
    let r = *rows;
    let t: [__m256; 8] = std::array::from_fn(|i| {
        let (a, b) = (r[i / 2 * 2], r[i / 2 * 2 + 1]);
        if i % 2 == 0 {
            _mm256_unpacklo_ps(a, b)
        } else {
            _mm256_unpackhi_ps(a, b)
        }
    });
    // u[4q + s] holds, in each 128-bit half h, the 4 elements of column
    // 4h + s of rows 4q..4q+4.
    let mut u = [_mm256_setzero_ps(); 8];
    for q in 0..2 {
        let (a, b, c, d) = (t[4 * q], t[4 * q + 1], t[4 * q + 2], t[4 * q + 3]);
        u[4 * q] = _mm256_shuffle_ps::<0x44>(a, c);
        u[4 * q + 1] = _mm256_shuffle_ps::<0xee>(a, c);
        u[4 * q + 2] = _mm256_shuffle_ps::<0x44>(b, d);
        u[4 * q + 3] = _mm256_shuffle_ps::<0xee>(b, d);
    }
    for s in 0..4 {
        rows[s] = _mm256_permute2f128_ps::<0x20>(u[s], u[4 + s]); // low halves
        rows[4 + s] = _mm256_permute2f128_ps::<0x31>(u[s], u[4 + s]); // high halves
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transposes() {
        if !is_x86_feature_detected!("avx512f") {
            eprintln!("skipped: no AVX-512F");
            return;
        }
        let src: Vec<f32> = (0..256).map(|i| i as f32).collect();
        let mut out = [0.0f32; 256];
        // SAFETY: AVX-512F is present; loads and stores stay in the arrays.
        unsafe {
            let mut rows: [__m512; 16] = std::array::from_fn(|i| _mm512_loadu_ps(src.as_ptr().add(16 * i)));
            transpose_16x16(&mut rows);
            for (i, r) in rows.iter().enumerate() {
                _mm512_storeu_ps(out.as_mut_ptr().add(16 * i), *r);
            }
        }
        for i in 0..16 {
            for j in 0..16 {
                assert_eq!(out[16 * i + j], src[16 * j + i], "({i}, {j})");
            }
        }
    }

    #[test]
    fn transposes_8x8() {
        if !is_x86_feature_detected!("avx") {
            eprintln!("skipped: no AVX");
            return;
        }
        let src: Vec<f32> = (0..64).map(|i| i as f32).collect();
        let mut out = [0.0f32; 64];
        // SAFETY: AVX is present; loads and stores stay in the arrays.
        unsafe {
            let mut rows: [__m256; 8] = std::array::from_fn(|i| _mm256_loadu_ps(src.as_ptr().add(8 * i)));
            transpose_8x8(&mut rows);
            for (i, r) in rows.iter().enumerate() {
                _mm256_storeu_ps(out.as_mut_ptr().add(8 * i), *r);
            }
        }
        for i in 0..8 {
            for j in 0..8 {
                assert_eq!(out[8 * i + j], src[8 * j + i], "({i}, {j})");
            }
        }
    }
}
