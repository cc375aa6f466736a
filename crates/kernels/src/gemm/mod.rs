//! General matrix multiply on row-major `f32` matrices:
//! `C = alpha * A * B + beta * C`, with `A` `m x k`, `B` `k x n` and `C`
//! `m x n`, each a [`MatRef`] or [`MatMut`] view (transposed, or a block of
//! a wider matrix, without copying).
//!
//! The structure is BLIS's: the operands are packed block by block into the
//! order a register-blocked micro-kernel reads them (transposes are absorbed
//! while packing), and the micro-kernel for this CPU's instruction set is
//! chosen once at run time.
//!
//! - `driver.rs`: the loop nest and its split over threads;
//! - `pack.rs`: packing; `params.rs`: the blocking constants and why;
//! - `kernel.rs`: the micro-kernel contract and the choice of kernel;
//! - `avx512.rs`, `avx2.rs`, `portable.rs`: one micro-kernel each;
//! - `narrow/`: products with at most 16 columns, as dot products, one
//!   implementation per instruction set of one fixed order;
//! - `reference.rs`: the naive product the tests compare against.

#[cfg(target_arch = "x86_64")]
mod avx2;
#[cfg(target_arch = "x86_64")]
mod avx512;
mod driver;
mod kernel;
mod narrow;
mod pack;
pub mod params;
mod pipeline;
mod portable;
mod reference;
#[cfg(target_arch = "x86_64")]
mod transpose;

pub(crate) use portable::has_fma;
pub use reference::sgemm_naive;

use crate::isa::Isa;
use crate::matrix::{MatMut, MatRef};
use pack::Operand;

/// `C = alpha * A * B + beta * C`, with the kernel chosen for this CPU (see
/// [`Isa::selected`]). A transposed operand is a transposed view
/// ([`MatRef::t`]): `sgemm(1.0, x.t(), dy, 0.0, dw)` is `dW = xᵀ dy`.
///
/// When `beta == 0`, `C` is overwritten without being read (NaNs in it do
/// not propagate), as BLAS defines it. Large products run on rayon's
/// threads; the result is bit-for-bit the same whatever the number of
/// threads.
///
/// # Panics
/// If `A`'s columns differ from `B`'s rows, or `C` is not `A`'s rows by
/// `B`'s columns: programming errors, checked up front (the views checked
/// their slices' lengths when they were made) so that no out-of-bounds
/// access can happen inside the loops.
pub fn sgemm(alpha: f32, a: MatRef, b: MatRef, beta: f32, c: MatMut) {
    sgemm_with(Isa::selected(), alpha, a, b, beta, c)
}

/// [`sgemm`] on the calling thread only, with the same bits: for callers
/// that already share their work out over rayon's threads, a product at a
/// time, so that each product does not split itself again (a
/// convolution's weight gradient, a depth block per task).
///
/// # Panics
/// As [`sgemm`].
pub fn sgemm_on_this_thread(alpha: f32, a: MatRef, b: MatRef, beta: f32, c: MatMut) {
    /// Puts the flag back as it was, even if the product panics.
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            ON_THIS_THREAD.set(self.0);
        }
    }
    let _restore = Restore(ON_THIS_THREAD.replace(true));
    sgemm(alpha, a, b, beta, c);
}

thread_local! {
    // Set while `sgemm_on_this_thread` runs: no product then splits.
    static ON_THIS_THREAD: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// True when a product may split itself over rayon's threads: there are
/// several, and the caller did not ask for this thread only. The split
/// never changes a sum, so neither does this.
pub(crate) fn may_split() -> bool {
    rayon::current_num_threads() > 1 && !ON_THIS_THREAD.get()
}

/// [`sgemm`] with the given kernel, for tests and benchmarks that compare
/// kernels.
///
/// # Panics
/// As [`sgemm`]; also when this CPU cannot run `isa`.
pub fn sgemm_with(isa: Isa, alpha: f32, a: MatRef, b: MatRef, beta: f32, c: MatMut) {
    assert!(isa.is_supported(), "this CPU cannot run the {} kernel", isa.name());
    check_shapes(&a, &b, &c);
    let (m, k, n) = (a.rows(), a.cols(), b.cols());
    let (c, _, _, ldc) = c.into_parts();
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 || alpha == 0.0 {
        scale_c(c, m, n, ldc, beta);
        return;
    }
    let (a, b) = (operand(&a), operand(&b));
    let c = &mut c[..(m - 1) * ldc + n];
    // Which path a product takes depends on its shape only, never on the
    // instruction set: the dot products for narrow products, the blocked
    // loop nest for the rest, each computing every element in one order on
    // every ISA (see the crate's reproducibility docs).
    let fused = portable::has_fma();
    if narrow::applies(n, &a) {
        use narrow::portable::PortableDots;
        // SAFETY: each arm's instruction set is supported (asserted above,
        // and `fused` only where the CPU has FMA); `c` spans rows 0..m and
        // the views were checked against their sizes.
        unsafe {
            match isa {
                Isa::Portable if fused => narrow::gemm::<PortableDots<true>>(m, n, k, alpha, a, b, beta, c, ldc),
                Isa::Portable => narrow::gemm::<PortableDots<false>>(m, n, k, alpha, a, b, beta, c, ldc),
                #[cfg(target_arch = "x86_64")]
                Isa::Avx2 => narrow::gemm::<narrow::avx2::Avx2Dots>(m, n, k, alpha, a, b, beta, c, ldc),
                #[cfg(target_arch = "x86_64")]
                Isa::Avx512 => narrow::gemm::<narrow::avx512::Avx512Dots>(m, n, k, alpha, a, b, beta, c, ldc),
                #[cfg(not(target_arch = "x86_64"))]
                _ => unreachable!("unsupported kernels are refused above"),
            }
        }
        return;
    }
    let nc = params::nc();
    match isa {
        Isa::Portable if fused => driver::gemm::<portable::Portable<true>>(nc, m, n, k, alpha, a, b, beta, c, ldc),
        Isa::Portable => driver::gemm::<portable::Portable<false>>(nc, m, n, k, alpha, a, b, beta, c, ldc),
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => driver::gemm::<avx2::Avx2>(nc, m, n, k, alpha, a, b, beta, c, ldc),
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512 => driver::gemm::<avx512::Avx512>(nc, m, n, k, alpha, a, b, beta, c, ldc),
        #[cfg(not(target_arch = "x86_64"))]
        _ => unreachable!("unsupported kernels are refused above"),
    }
}

/// A `k x n` B laid out once for many products with it: a layer's
/// weights, which every image of a batch multiplies (each image's product
/// packed the same weights again, 2-3% of the fast recipe's run). Made by
/// [`PackedB::pack`], used by [`sgemm_packed`], which gives the bits of
/// [`sgemm`] with the B it was packed from.
#[derive(Default, Clone)]
pub struct PackedB {
    /// The instruction set and block width it was packed for.
    isa: Option<Isa>,
    nc: usize,
    k: usize,
    n: usize,
    /// B row-major, for the dot products of narrow products.
    plain: Vec<f32>,
    /// The driver's blocks (`driver::pack_all`), `blocks_len` floats.
    blocks: driver::AlignedBuf,
    blocks_len: usize,
}

impl std::fmt::Debug for PackedB {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PackedB")
            .field("isa", &self.isa)
            .field("k", &self.k)
            .field("n", &self.n)
            .finish_non_exhaustive()
    }
}

impl PackedB {
    /// An empty one, to [`pack`](Self::pack) into.
    pub fn new() -> Self {
        Self::default()
    }

    /// Lays out `b` for the kernel of this CPU ([`Isa::selected`]),
    /// reusing this one's memory.
    pub fn pack(&mut self, b: MatRef) {
        self.pack_with(Isa::selected(), b)
    }

    /// [`pack`](Self::pack) for the given kernel.
    ///
    /// # Panics
    /// When this CPU cannot run `isa`.
    pub fn pack_with(&mut self, isa: Isa, b: MatRef) {
        assert!(isa.is_supported(), "this CPU cannot run the {} kernel", isa.name());
        let (k, n, nc) = (b.rows(), b.cols(), params::nc());
        let ob = operand(&b);
        self.plain.clear();
        self.plain
            .extend((0..k * n).map(|i| ob.data[(i / n) * ob.row_stride + (i % n) * ob.col_stride]));
        let plain = Operand {
            data: &self.plain,
            row_stride: n,
            col_stride: 1,
        };
        let dst = &mut self.blocks;
        self.blocks_len = match isa {
            Isa::Portable if portable::has_fma() => driver::pack_all::<portable::Portable<true>>(nc, k, n, plain, dst),
            Isa::Portable => driver::pack_all::<portable::Portable<false>>(nc, k, n, plain, dst),
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => driver::pack_all::<avx2::Avx2>(nc, k, n, plain, dst),
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => driver::pack_all::<avx512::Avx512>(nc, k, n, plain, dst),
            #[cfg(not(target_arch = "x86_64"))]
            _ => unreachable!("unsupported kernels are refused above"),
        };
        (self.isa, self.nc, self.k, self.n) = (Some(isa), nc, k, n);
    }

    /// B as it was packed, row-major.
    fn as_ref(&self) -> MatRef<'_> {
        MatRef::new(&self.plain, self.k, self.n)
    }
}

/// `C = alpha * A * B + beta * C` with B laid out beforehand, on the
/// kernel it was packed for: the bits of [`sgemm_with`] on that kernel
/// with the B that `b` was packed from.
///
/// # Panics
/// As [`sgemm`]; also when `b` was never packed.
pub fn sgemm_packed(alpha: f32, a: MatRef, b: &PackedB, beta: f32, c: MatMut) {
    let isa = b.isa.expect("sgemm_packed: B was never packed");
    let plain = b.as_ref();
    check_shapes(&a, &plain, &c);
    let (m, k, n) = (a.rows(), a.cols(), plain.cols());
    let oa = operand(&a);
    if m == 0 || n == 0 || k == 0 || alpha == 0.0 || narrow::applies(n, &oa) {
        // Nothing packed is read on these paths.
        return sgemm_with(isa, alpha, a, plain, beta, c);
    }
    let (c, _, _, ldc) = c.into_parts();
    let c = &mut c[..(m - 1) * ldc + n];
    let from = driver::B::Packed(b.blocks.get_ref(b.blocks_len));
    let nc = b.nc;
    match isa {
        Isa::Portable if portable::has_fma() => {
            driver::gemm_from::<portable::Portable<true>>(nc, m, n, k, alpha, oa, from, beta, c, ldc)
        }
        Isa::Portable => driver::gemm_from::<portable::Portable<false>>(nc, m, n, k, alpha, oa, from, beta, c, ldc),
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => driver::gemm_from::<avx2::Avx2>(nc, m, n, k, alpha, oa, from, beta, c, ldc),
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512 => driver::gemm_from::<avx512::Avx512>(nc, m, n, k, alpha, oa, from, beta, c, ldc),
        #[cfg(not(target_arch = "x86_64"))]
        _ => unreachable!("unsupported kernels are refused above"),
    }
}

/// The packing code's view of an operand.
fn operand<'a>(m: &MatRef<'a>) -> Operand<'a> {
    let (row_stride, col_stride) = m.strides();
    Operand {
        data: m.data(),
        row_stride,
        col_stride,
    }
}

/// Panics unless `C = A B` is a product of the views' shapes.
pub(crate) fn check_shapes(a: &MatRef, b: &MatRef, c: &MatMut) {
    assert!(
        a.cols() == b.rows() && c.rows() == a.rows() && c.cols() == b.cols(),
        "sgemm: A ({} x {}) times B ({} x {}) cannot be written to C ({} x {})",
        a.rows(),
        a.cols(),
        b.rows(),
        b.cols(),
        c.rows(),
        c.cols()
    );
}

fn scale_c(c: &mut [f32], m: usize, n: usize, ldc: usize, beta: f32) {
    if beta == 1.0 {
        return;
    }
    for row in c.chunks_mut(ldc).take(m) {
        let row = &mut row[..n];
        if beta == 0.0 {
            row.fill(0.0);
        } else {
            row.iter_mut().for_each(|x| *x *= beta);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The copies that only CPUs without FMA run (`Portable<false>`, and its
    /// dot products): checked here against the naive product, since no test
    /// machine of ours takes them through `sgemm`.
    #[test]
    fn unfused_portable_kernels_multiply_correctly() {
        let values = |len: usize, seed: usize| -> Vec<f32> {
            (0..len)
                .map(|i| ((i * 7919 + seed * 104_729) % 2001) as f32 / 1000.0 - 1.0)
                .collect()
        };
        for &(m, n, k) in &[(7, 5, 33), (20, 16, 300), (13, 40, 260), (61, 515, 30)] {
            let (a, b) = (values(m * k, 1), values(k * n, 2));
            let c0 = values(m * n, 3);
            let mut want = c0.clone();
            sgemm_naive(
                1.5,
                MatRef::new(&a, m, k),
                MatRef::new(&b, k, n),
                0.5,
                MatMut::new(&mut want, m, n),
            );
            let mut got = c0.clone();
            let (oa, ob) = (operand(&MatRef::new(&a, m, k)), operand(&MatRef::new(&b, k, n)));
            if narrow::applies(n, &oa) {
                // SAFETY: the portable dot products need no CPU feature;
                // the operands and C hold their sizes.
                unsafe {
                    narrow::gemm::<narrow::portable::PortableDots<false>>(m, n, k, 1.5, oa, ob, 0.5, &mut got, n)
                };
            } else {
                driver::gemm::<portable::Portable<false>>(params::nc(), m, n, k, 1.5, oa, ob, 0.5, &mut got, n);
            }
            for (i, (g, w)) in got.iter().zip(&want).enumerate() {
                assert!(
                    (g - w).abs() <= 1e-4 * (k as f32),
                    "({m}, {n}, {k}) C[{i}] = {g}, want {w}"
                );
            }
        }
    }

    /// The width of a block of B, which this CPU's L2 decides, changes
    /// which tiles are computed when but no sum: every width gives the same
    /// bits, on every kernel, with A and B as stored or transposed and on
    /// one or two threads.
    #[test]
    fn block_width_does_not_change_the_bits() {
        fn run<K: kernel::MicroKernel>(nc: usize, m: usize, n: usize, k: usize, transposed: bool) -> Vec<f32> {
            let values = |len: usize, salt: usize| -> Vec<f32> {
                (0..len).map(|i| ((i * 37 + salt) % 101) as f32 / 50.0 - 1.0).collect()
            };
            let (a, b) = (values(m * k, 1), values(k * n, 2));
            let (a, b) = if transposed {
                (MatRef::new(&a, k, m).t(), MatRef::new(&b, n, k).t())
            } else {
                (MatRef::new(&a, m, k), MatRef::new(&b, k, n))
            };
            let (oa, ob) = (operand(&a), operand(&b));
            let mut c = values(m * n, 3);
            driver::gemm::<K>(nc, m, n, k, 0.75, oa, ob, 0.5, &mut c, n);
            c
        }
        fn compare<K: kernel::MicroKernel>(name: &str) {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(2).build().unwrap();
            for (m, n, k) in [(300, 700, 300), (60, 1000, 530), (7, 333, 20)] {
                for transposed in [false, true] {
                    let want = run::<K>(params::nc(), m, n, k, transposed);
                    for nc in [64, 128, 256, 512, 1024] {
                        let one = run::<K>(nc, m, n, k, transposed);
                        let two = pool.install(|| run::<K>(nc, m, n, k, transposed));
                        for got in [one, two] {
                            let same = got.iter().zip(&want).all(|(g, w)| g.to_bits() == w.to_bits());
                            assert!(
                                same,
                                "{name}: ({m}, {n}, {k}, transposed {transposed}) differs at NC = {nc}"
                            );
                        }
                    }
                }
            }
        }
        if portable::has_fma() {
            compare::<portable::Portable<true>>("portable");
        } else {
            compare::<portable::Portable<false>>("portable, unfused");
        }
        #[cfg(target_arch = "x86_64")]
        {
            if Isa::Avx2.supported_or_skip() {
                compare::<avx2::Avx2>("avx2");
            }
            if Isa::Avx512.supported_or_skip() {
                compare::<avx512::Avx512>("avx512");
            }
        }
    }
}
