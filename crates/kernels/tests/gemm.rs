//! `sgemm` against the f64 triple loop on random shapes, transposes, leading
//! dimensions, alpha and beta.

use kernels::gemm::{Transpose, sgemm, sgemm_naive};
use proptest::prelude::*;

fn transpose() -> impl Strategy<Value = Transpose> {
    prop_oneof![Just(Transpose::No), Just(Transpose::Yes)]
}

/// A matrix stored `rows x cols` with leading dimension `cols + pad`.
fn stored(rows: usize, cols: usize, pad: usize, seed: u64) -> (Vec<f32>, usize) {
    let ld = cols + pad;
    let mut state = seed | 1;
    let data = (0..rows.max(1) * ld)
        .map(|_| {
            // xorshift: cheap, deterministic values in [-1, 1).
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 40) as f32 / (1u64 << 23) as f32 - 1.0
        })
        .collect();
    (data, ld.max(1))
}

fn dims(t: Transpose, rows: usize, cols: usize) -> (usize, usize) {
    match t {
        Transpose::No => (rows, cols),
        Transpose::Yes => (cols, rows),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn matches_the_naive_product(
        m in 1usize..80, n in 1usize..80, k in 1usize..120,
        ta in transpose(), tb in transpose(),
        pad_a in 0usize..5, pad_b in 0usize..5, pad_c in 0usize..5,
        alpha in prop_oneof![Just(1.0f32), Just(0.0), -2.0f32..2.0],
        beta in prop_oneof![Just(0.0f32), Just(1.0), -2.0f32..2.0],
        seed in any::<u64>(),
    ) {
        let (ar, ac) = dims(ta, m, k);
        let (br, bc) = dims(tb, k, n);
        let (a, lda) = stored(ar, ac, pad_a, seed);
        let (b, ldb) = stored(br, bc, pad_b, seed.wrapping_mul(3));
        let (c0, ldc) = stored(m, n, pad_c, seed.wrapping_mul(7));
        let mut got = c0.clone();
        let mut want = c0.clone();
        sgemm(ta, tb, m, n, k, alpha, &a, lda, &b, ldb, beta, &mut got, ldc);
        sgemm_naive(ta, tb, m, n, k, alpha, &a, lda, &b, ldb, beta, &mut want, ldc);
        // Each element is a sum of k products of values in [-1, 1), scaled by
        // |alpha| <= 2, plus beta * c: f32 accumulation error grows at most
        // like k * eps * sum|a_ip b_pj|, which is below k * 2 here.
        let tol = 4.0 * f32::EPSILON * (k as f32) * 2.0 + 1e-6;
        for i in 0..m {
            for j in 0..n {
                let (g, w) = (got[i * ldc + j], want[i * ldc + j]);
                prop_assert!((g - w).abs() <= tol, "C[{i},{j}]: got {g}, want {w}, tol {tol}");
            }
            // Padding between rows is never written.
            for j in n..ldc {
                prop_assert_eq!(got[i * ldc + j], c0[i * ldc + j]);
            }
        }
    }
}

#[test]
fn beta_zero_ignores_nan_in_c() {
    let a = [1.0, 2.0];
    let b = [3.0, 4.0];
    let mut c = [f32::NAN];
    sgemm(Transpose::No, Transpose::No, 1, 1, 2, 1.0, &a, 2, &b, 1, 0.0, &mut c, 1);
    assert_eq!(c, [11.0]);
}

#[test]
fn k_zero_only_scales_c() {
    let mut c = [2.0, 4.0];
    sgemm(
        Transpose::No,
        Transpose::No,
        1,
        2,
        0,
        1.0,
        &[],
        1,
        &[],
        2,
        0.5,
        &mut c,
        2,
    );
    assert_eq!(c, [1.0, 2.0]);
}
