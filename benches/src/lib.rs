//! Shared pieces of the benchmarks: the matrix shapes that training uses,
//! and one calling convention for the three GEMMs compared (this project's,
//! `matrixmultiply` and `gemm`); the training benchmarks' networks
//! ([`nets`]).

pub mod nets;

use kernels::{MatMut, MatRef, Transpose};

/// A product `C (m x n) = op(A) (m x k) * op(B) (k x n)` to measure.
#[derive(Clone, Copy, Debug)]
pub struct Product {
    /// What it is in training.
    pub role: &'static str,
    /// Rows of C.
    pub m: usize,
    /// Depth.
    pub k: usize,
    /// Columns of C.
    pub n: usize,
    /// Whether A is used transposed.
    pub ta: Transpose,
    /// Whether B is used transposed.
    pub tb: Transpose,
}

impl Product {
    const fn new(role: &'static str, m: usize, k: usize, n: usize, ta: Transpose, tb: Transpose) -> Self {
        Self { role, m, k, n, ta, tb }
    }

    /// Floating-point operations: a multiply and an add per term.
    pub fn flops(&self) -> f64 {
        2.0 * self.m as f64 * self.n as f64 * self.k as f64
    }

    /// `m x k x n` with `T` marking a transposed operand, e.g. `784x100x512 (AᵀB)`.
    pub fn label(&self) -> String {
        let t = |t: Transpose, name: &str| {
            if t == Transpose::Yes {
                format!("{name}ᵀ")
            } else {
                name.to_string()
            }
        };
        format!(
            "{}x{}x{} ({}{})",
            self.m,
            self.k,
            self.n,
            t(self.ta, "A"),
            t(self.tb, "B")
        )
    }
}

const N: Transpose = Transpose::No;
const T: Transpose = Transpose::Yes;

/// The shapes `(M, K, N)` of training: the MLPs' forward and backward at
/// batch 100 and 50, square products, and a 5x5 convolution's im2col
/// products at batch 50 (32 and 64 filters, 28x28 and 14x14 images).
pub const PRODUCTS: &[Product] = &[
    Product::new("dense 784->512 forward, x W", 100, 784, 512, N, N),
    Product::new("dense 512->512 forward", 100, 512, 512, N, N),
    Product::new("square", 512, 512, 512, N, N),
    Product::new("square", 1024, 1024, 1024, N, N),
    Product::new("CNN dense 3136->1024 forward, batch 50", 50, 3136, 1024, N, N),
    Product::new("dense 784->10 forward", 100, 784, 10, N, N),
    Product::new("dense 512->10 forward", 100, 512, 10, N, N),
    Product::new("dense 784->512 weight gradient, xᵀ dy", 784, 100, 512, T, N),
    Product::new("dense 512->512 weight gradient", 512, 100, 512, T, N),
    Product::new("dense 512->512 input gradient, dy Wᵀ", 100, 512, 512, N, T),
    Product::new("dense 512->10 input gradient", 100, 10, 512, N, T),
    Product::new("conv1 5x5x1->32 forward, im2col", 39_200, 25, 32, N, N),
    Product::new("conv2 5x5x32->64 forward, im2col", 9_800, 800, 64, N, N),
    Product::new("conv2 weight gradient, colsᵀ dy", 800, 9_800, 64, T, N),
    Product::new("conv2 input gradient, dy Wᵀ", 9_800, 64, 800, N, T),
];

/// Operands of a product, filled with small deterministic values.
pub struct Operands {
    /// The product.
    pub p: Product,
    /// A as stored (`m x k`, or `k x m` when transposed).
    pub a: Vec<f32>,
    /// B as stored.
    pub b: Vec<f32>,
    /// C, `m x n`.
    pub c: Vec<f32>,
}

impl Operands {
    /// Operands for `p`.
    pub fn new(p: Product) -> Self {
        let fill = |len: usize, salt: usize| (0..len).map(|i| ((i * 7 + salt) % 13) as f32 / 13.0 - 0.5).collect();
        Self {
            p,
            a: fill(p.m * p.k, 1),
            b: fill(p.k * p.n, 2),
            c: vec![0.0; p.m * p.n],
        }
    }

    fn strides(&self, t: Transpose, rows: usize, cols: usize) -> (isize, isize) {
        // Row and column strides of the logical operand, as stored densely.
        match t {
            Transpose::No => (cols as isize, 1),
            Transpose::Yes => (1, rows as isize),
        }
    }

    /// This project's `sgemm`, on rayon's current pool.
    pub fn ours(&mut self) {
        let p = self.p;
        let a = dense_view(p.ta, &self.a, p.m, p.k);
        let b = dense_view(p.tb, &self.b, p.k, p.n);
        kernels::sgemm(1.0, a, b, 0.0, MatMut::new(&mut self.c, p.m, p.n));
    }

    /// `matrixmultiply::sgemm` (its threads come from `MATMUL_NUM_THREADS`).
    pub fn matrixmultiply(&mut self) {
        let p = self.p;
        let (rsa, csa) = self.strides(p.ta, p.m, p.k);
        let (rsb, csb) = self.strides(p.tb, p.k, p.n);
        // SAFETY: the buffers hold the operands with these strides.
        unsafe {
            matrixmultiply::sgemm(
                p.m,
                p.k,
                p.n,
                1.0,
                self.a.as_ptr(),
                rsa,
                csa,
                self.b.as_ptr(),
                rsb,
                csb,
                0.0,
                self.c.as_mut_ptr(),
                p.n as isize,
                1,
            )
        }
    }

    /// `gemm::gemm` on `threads` rayon threads (none when 1).
    pub fn gemm(&mut self, threads: usize) {
        let p = self.p;
        let (rsa, csa) = self.strides(p.ta, p.m, p.k);
        let (rsb, csb) = self.strides(p.tb, p.k, p.n);
        let parallelism = if threads > 1 {
            gemm::Parallelism::Rayon(threads)
        } else {
            gemm::Parallelism::None
        };
        // SAFETY: the buffers hold the operands with these strides; `gemm`
        // computes dst = alpha dst + beta lhs rhs, and alpha = 0 with
        // read_dst = false overwrites dst.
        unsafe {
            gemm::gemm(
                p.m,
                p.n,
                p.k,
                self.c.as_mut_ptr(),
                1,
                p.n as isize,
                false,
                self.a.as_ptr(),
                csa,
                rsa,
                self.b.as_ptr(),
                csb,
                rsb,
                0.0,
                1.0,
                false,
                false,
                false,
                parallelism,
            )
        }
    }
}

/// The time per shape of the GEMM benches, from `GEMM_TABLE_MS_PER_SHAPE`
/// (1500 ms by default), and the text a shape's label must contain, from
/// `GEMM_TABLE_FILTER` (none by default).
pub fn table_settings() -> (std::time::Duration, String) {
    let ms = std::env::var("GEMM_TABLE_MS_PER_SHAPE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1500);
    (
        std::time::Duration::from_millis(ms),
        std::env::var("GEMM_TABLE_FILTER").unwrap_or_default(),
    )
}

/// The FMA unit whose peak a kernel's speed is measured against: the
/// kernel's own, or for the portable kernel the fastest this CPU has (what
/// the compiler makes of it is not known).
pub fn peak_unit(isa: kernels::Isa) -> Option<kernels::Isa> {
    use kernels::Isa;
    match isa {
        Isa::Portable => [Isa::Avx512, Isa::Avx2].into_iter().find(|i| i.is_supported()),
        _ => Some(isa),
    }
}

/// One thread's FMA peak, in GFLOP/s, of the unit [`peak_unit`] gives for
/// the kernel in use, measured over about `seconds`, with the unit.
pub fn selected_peak(seconds: f64) -> Option<(kernels::Isa, f64)> {
    let unit = peak_unit(kernels::Isa::selected())?;
    Some((unit, kernels::peak::fma_gflops(unit, seconds)?))
}

/// A logical `rows x cols` operand stored densely, as is or transposed.
pub fn dense_view(t: Transpose, data: &[f32], rows: usize, cols: usize) -> MatRef<'_> {
    match t {
        Transpose::No => MatRef::new(data, rows, cols),
        Transpose::Yes => MatRef::new(data, cols, rows).t(),
    }
}
