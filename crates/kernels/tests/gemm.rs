//! Every GEMM kernel (portable, AVX2, AVX-512, each forced) against an f64
//! triple loop: random shapes from 1 to 300, both transposes, alpha and
//! beta, leading dimensions wider than the rows. Also: results that do not
//! depend on the number of threads, and every kernel giving the same bits
//! as every other (one arithmetic for every instruction set).
//!
//! A kernel this CPU lacks is skipped with a printed reason, unless
//! `MNIST_REQUIRE_KERNELS` is set (CI sets it), where it fails.

use mnist_kernels::gemm::{PackedB, sgemm_packed, sgemm_with};
use mnist_kernels::{Isa, MatMut, MatRef, Transpose};
use proptest::prelude::*;

fn transpose() -> impl Strategy<Value = Transpose> {
    prop_oneof![Just(Transpose::No), Just(Transpose::Yes)]
}

fn supported(isa: Isa) -> bool {
    isa.supported_or_skip()
}

/// Deterministic values in [-1, 1).
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

struct Case {
    ta: Transpose,
    tb: Transpose,
    m: usize,
    n: usize,
    k: usize,
    alpha: f32,
    beta: f32,
    a: Vec<f32>,
    lda: usize,
    b: Vec<f32>,
    ldb: usize,
    c: Vec<f32>,
    ldc: usize,
}

/// Shapes and scalars only: the matrices follow from the seed.
impl std::fmt::Debug for Case {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:?}{:?} m={} n={} k={} lda={} ldb={} ldc={} alpha={} beta={}",
            self.ta, self.tb, self.m, self.n, self.k, self.lda, self.ldb, self.ldc, self.alpha, self.beta
        )
    }
}

impl Case {
    #[allow(clippy::too_many_arguments)]
    fn new(
        ta: Transpose,
        tb: Transpose,
        m: usize,
        n: usize,
        k: usize,
        pads: [usize; 3],
        alpha: f32,
        beta: f32,
        seed: u64,
    ) -> Case {
        let stored = |t, rows, cols| if t == Transpose::No { (rows, cols) } else { (cols, rows) };
        let (ar, ac) = stored(ta, m, k);
        let (br, bc) = stored(tb, k, n);
        let (lda, ldb, ldc) = (ac + pads[0], bc + pads[1], n + pads[2]);
        Case {
            ta,
            tb,
            m,
            n,
            k,
            alpha,
            beta,
            a: values(ar * lda, seed),
            lda,
            b: values(br * ldb, seed.wrapping_mul(3)),
            ldb,
            c: values(m * ldc, seed.wrapping_mul(7)),
            ldc,
        }
    }

    /// The views of A and B.
    fn operands(&self) -> (MatRef<'_>, MatRef<'_>) {
        let view = |t, data, rows, cols, ld| match t {
            Transpose::No => MatRef::with_ld(data, rows, cols, ld),
            Transpose::Yes => MatRef::with_ld(data, cols, rows, ld).t(),
        };
        (
            view(self.ta, &self.a, self.m, self.k, self.lda),
            view(self.tb, &self.b, self.k, self.n, self.ldb),
        )
    }

    fn run(&self, isa: Isa) -> Vec<f32> {
        let mut c = self.c.clone();
        let (a, b) = self.operands();
        let c_view = MatMut::with_ld(&mut c, self.m, self.n, self.ldc);
        sgemm_with(isa, self.alpha, a, b, self.beta, c_view);
        c
    }

    /// [`run`](Self::run) through a B packed beforehand.
    fn run_packed(&self, isa: Isa) -> Vec<f32> {
        let mut c = self.c.clone();
        let (a, b) = self.operands();
        let mut packed = PackedB::new();
        packed.pack_with(isa, b);
        let c_view = MatMut::with_ld(&mut c, self.m, self.n, self.ldc);
        sgemm_packed(self.alpha, a, &packed, self.beta, c_view);
        c
    }

    /// Checks `got` element by element against the f64 product. The bound is
    /// the classic one for a sum of k products in floating point,
    /// |error| <= (k + 2) eps (|alpha| sum_p |a_ip b_pj| + |beta c_ij|), so
    /// it is tight where cancellation is small and loose where it is large.
    fn check(&self, got: &[f32], isa: Isa) -> Result<(), TestCaseError> {
        let a = |i: usize, p: usize| match self.ta {
            Transpose::No => self.a[i * self.lda + p],
            Transpose::Yes => self.a[p * self.lda + i],
        } as f64;
        let b = |p: usize, j: usize| match self.tb {
            Transpose::No => self.b[p * self.ldb + j],
            Transpose::Yes => self.b[j * self.ldb + p],
        } as f64;
        let eps = f32::EPSILON as f64;
        for i in 0..self.m {
            for j in 0..self.n {
                let (mut sum, mut abs) = (0.0f64, 0.0f64);
                for p in 0..self.k {
                    let t = a(i, p) * b(p, j);
                    sum += t;
                    abs += t.abs();
                }
                let old = if self.beta == 0.0 {
                    0.0
                } else {
                    self.c[i * self.ldc + j] as f64
                };
                let want = self.alpha as f64 * sum + self.beta as f64 * old;
                let tol =
                    (self.k as f64 + 2.0) * eps * (self.alpha.abs() as f64 * abs + (self.beta as f64 * old).abs())
                        + f32::MIN_POSITIVE as f64;
                let g = got[i * self.ldc + j] as f64;
                prop_assert!(
                    (g - want).abs() <= tol,
                    "{}: C[{i},{j}] = {g}, want {want} (tolerance {tol})",
                    isa.name()
                );
            }
            // The padding between rows is never written.
            for j in self.n..self.ldc {
                prop_assert_eq!(got[i * self.ldc + j].to_bits(), self.c[i * self.ldc + j].to_bits());
            }
        }
        Ok(())
    }
}

fn case_strategy() -> impl Strategy<Value = Case> {
    cases((1usize..300, 1usize..300, 1usize..300))
}

/// Cases of the sizes `mnk` gives, with random transposes, padding, alpha,
/// beta and values.
fn cases(mnk: impl Strategy<Value = (usize, usize, usize)>) -> impl Strategy<Value = Case> {
    (
        mnk,
        (transpose(), transpose()),
        [0usize..4, 0usize..4, 0usize..4],
        prop_oneof![Just(1.0f32), -2.0f32..2.0],
        prop_oneof![Just(0.0f32), Just(1.0), -2.0f32..2.0],
        any::<u64>(),
    )
        .prop_map(|((m, n, k), (ta, tb), pads, alpha, beta, seed)| Case::new(ta, tb, m, n, k, pads, alpha, beta, seed))
}

fn check_isa(isa: Isa, case: &Case) -> Result<(), TestCaseError> {
    case.check(&case.run(isa), isa)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(40))]

    #[test]
    fn portable_matches_the_naive_product(case in case_strategy()) {
        check_isa(Isa::Portable, &case)?;
    }

    #[test]
    fn avx2_matches_the_naive_product(case in case_strategy()) {
        if supported(Isa::Avx2) { check_isa(Isa::Avx2, &case)?; }
    }

    #[test]
    fn avx512_matches_the_naive_product(case in case_strategy()) {
        if supported(Isa::Avx512) { check_isa(Isa::Avx512, &case)?; }
    }
}

/// Random shapes for the identical-bits test: half of them narrow (n <= 16,
/// the dot-product path), the others through the blocked path's edges.
fn same_bits_strategy() -> impl Strategy<Value = Case> {
    cases((1usize..200, prop_oneof![1usize..=16, 17usize..300], 1usize..600))
}

/// Asserts that every kernel this CPU has gives `case` the portable
/// kernel's bits exactly.
fn assert_same_bits(case: &Case) -> Result<(), TestCaseError> {
    let bits = |c: Vec<f32>| c.into_iter().map(f32::to_bits).collect::<Vec<u32>>();
    let portable = bits(case.run(Isa::Portable));
    for isa in [Isa::Avx2, Isa::Avx512].into_iter().filter(|&isa| supported(isa)) {
        let got = bits(case.run(isa));
        let first = got.iter().zip(&portable).position(|(g, p)| g != p);
        prop_assert!(
            first.is_none(),
            "{} differs from portable at C[{}] ({:?}): {} vs {}",
            isa.name(),
            first.unwrap_or(0),
            case,
            f32::from_bits(got[first.unwrap_or(0)]),
            f32::from_bits(portable[first.unwrap_or(0)])
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn every_kernel_gives_the_same_bits(case in same_bits_strategy()) {
        assert_same_bits(&case)?;
    }
}

/// Shapes that cross every block boundary (KC = 256; NC, from this CPU's L2,
/// 256 to 1024 on the machines seen, is crossed from n = 1030 on) and every
/// edge (not multiples of MR or NR), plus the training shapes' edges.
/// (37, 1100, 300) and (3, 2000, 5) have few rows and a row-major B whose
/// rows are a page or more apart.
/// (5, 1, 15), (7, 16, 32) and (33, 13, 300) take AVX-512's dot-product
/// path for at most 16 columns with k below, at and past a multiple of 16
/// (its transposed copy of B goes 16 rows at a time). (300, 1030, 520) and
/// (50, 1100, 600) run on several threads through several blocks of B in
/// both directions, each block packed while the one before is multiplied:
/// many rows, and few rows in strips of columns. (20, 40, 3000) is a narrow
/// B through many depth blocks.
#[test]
fn block_and_edge_boundaries() {
    let shapes = [
        (1, 1, 1),
        (10, 32, 256),
        (11, 33, 257),
        (100, 10, 512),
        (37, 1100, 300),
        (61, 515, 513),
        (3, 2000, 5),
        (5, 1, 15),
        (7, 16, 32),
        (33, 13, 300),
        (300, 1030, 520),
        (50, 1100, 600),
        (20, 40, 3000),
    ];
    for isa in Isa::ALL.into_iter().filter(|&isa| supported(isa)) {
        for &(m, n, k) in &shapes {
            for (ta, tb) in [
                (Transpose::No, Transpose::No),
                (Transpose::Yes, Transpose::No),
                (Transpose::No, Transpose::Yes),
            ] {
                let case = Case::new(ta, tb, m, n, k, [1, 0, 2], 1.0, 0.5, (m * n * k) as u64);
                check_isa(isa, &case).unwrap();
                assert_same_bits(&case).unwrap();
            }
        }
    }
}

/// The split of work depends on the shape only, so C is bit-for-bit the
/// same on 1, 2 and 8 threads, for every kernel.
#[test]
fn results_do_not_depend_on_the_number_of_threads() {
    let case = Case::new(Transpose::No, Transpose::No, 203, 611, 517, [0, 0, 0], 1.0, 0.0, 42);
    let case_t = Case::new(Transpose::Yes, Transpose::No, 150, 300, 700, [0, 0, 0], 1.0, 1.0, 43);
    // Few rows and columns over a long depth: on several threads the depth
    // blocks run side by side and are added in order afterwards (a
    // convolution's weight gradient), with an edge row panel, a padded
    // leading dimension, and alpha and beta that are not 1.
    let split = Case::new(Transpose::Yes, Transpose::No, 147, 32, 6000, [3, 0, 5], 0.5, 0.75, 44);
    let split_beta0 = Case::new(Transpose::No, Transpose::No, 37, 20, 3001, [0, 0, 0], 1.0, 0.0, 45);
    for isa in Isa::ALL.into_iter().filter(|&isa| supported(isa)) {
        for case in [&case, &case_t, &split, &split_beta0] {
            let runs: Vec<Vec<u32>> = [1, 2, 8]
                .iter()
                .map(|&threads| {
                    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
                    pool.install(|| case.run(isa)).iter().map(|x| x.to_bits()).collect()
                })
                .collect();
            assert!(
                runs[0] == runs[1] && runs[1] == runs[2],
                "{}: results differ between thread counts",
                isa.name()
            );
        }
    }
}

/// A B packed once gives every product the bits of `sgemm` with that B, on
/// every kernel and thread count: the blocked path on one thread reads the
/// packed blocks where they lie, on several the pipeline and the split
/// depth copy them; narrow products (n <= 16) take B as it was.
#[test]
fn packed_b_gives_the_bits_of_sgemm() {
    let shapes = [
        (1, 1, 1),
        (11, 33, 257),
        (196, 32, 108),
        (49, 48, 288),
        (196, 108, 32),
        (61, 515, 513),
        (7, 16, 32),
        (300, 1030, 520),
        (147, 32, 6000),
    ];
    for isa in Isa::ALL.into_iter().filter(|&isa| supported(isa)) {
        for &(m, n, k) in &shapes {
            for (ta, tb) in [
                (Transpose::No, Transpose::No),
                (Transpose::Yes, Transpose::No),
                (Transpose::No, Transpose::Yes),
            ] {
                let case = Case::new(ta, tb, m, n, k, [1, 2, 3], 0.5, 0.75, (m + n + k) as u64);
                let want: Vec<u32> = case.run(isa).iter().map(|x| x.to_bits()).collect();
                for threads in [1, 2] {
                    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
                    let got: Vec<u32> = pool
                        .install(|| case.run_packed(isa))
                        .iter()
                        .map(|x| x.to_bits())
                        .collect();
                    assert!(got == want, "{}: {case:?} on {threads} threads", isa.name());
                }
            }
        }
    }
}

#[test]
fn beta_zero_ignores_nan_in_c() {
    for isa in Isa::ALL.into_iter().filter(|&isa| supported(isa)) {
        let a = vec![1.0; 40 * 7];
        let b = vec![2.0; 7 * 50];
        let mut c = vec![f32::NAN; 40 * 50];
        let (a, b) = (MatRef::new(&a, 40, 7), MatRef::new(&b, 7, 50));
        sgemm_with(isa, 1.0, a, b, 0.0, MatMut::new(&mut c, 40, 50));
        assert!(c.iter().all(|&x| x == 14.0), "{}", isa.name());
    }
}

#[test]
fn k_zero_only_scales_c() {
    let mut c = [2.0, 4.0];
    let (a, b) = (MatRef::new(&[], 1, 0), MatRef::new(&[], 0, 2));
    sgemm_with(Isa::Portable, 1.0, a, b, 0.5, MatMut::new(&mut c, 1, 2));
    assert_eq!(c, [1.0, 2.0]);
}

#[test]
#[should_panic(expected = "A (3 x 4) times B (5 x 2) cannot be written to C (3 x 2)")]
fn views_of_shapes_that_do_not_multiply_are_refused() {
    let (a, b, mut c) = ([0.0; 12], [0.0; 10], [0.0; 6]);
    mnist_kernels::sgemm(
        1.0,
        MatRef::new(&a, 3, 4),
        MatRef::new(&b, 5, 2),
        0.0,
        MatMut::new(&mut c, 3, 2),
    );
}

#[test]
fn kernel_names_and_errors() {
    assert_eq!(Isa::from_name("portable"), Ok(Isa::Portable));
    assert!(Isa::from_name("sse9").unwrap_err().to_string().contains("not a kernel"));
    assert!(Isa::detect().is_supported());
}
