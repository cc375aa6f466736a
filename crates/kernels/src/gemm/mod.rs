//! General matrix multiply on row-major `f32` matrices:
//! `C = alpha * op(A) * op(B) + beta * C`.
//!
//! `op(A)` is `m x k`, `op(B)` is `k x n`, `C` is `m x n`. Each operand has a
//! leading dimension: the distance between the starts of two consecutive
//! rows *as stored* (so a transposed `A` is stored `k x m` with `lda >= m`).
//!
//! This is the first, portable implementation: loop orders chosen so the
//! innermost loop runs over contiguous memory and the compiler vectorises it.
//! The blocked SIMD kernels will replace the body and keep this signature.

mod reference;

pub use reference::sgemm_naive;

/// Whether an operand is used as stored or transposed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transpose {
    /// Use the matrix as stored.
    No,
    /// Use the transpose of the stored matrix.
    Yes,
}

/// `C = alpha * op(A) * op(B) + beta * C` on row-major matrices.
///
/// When `beta == 0`, `C` is overwritten without being read (NaNs in it do
/// not propagate), as BLAS defines it.
///
/// # Panics
/// If a leading dimension is smaller than its row width, or a slice is too
/// short for the sizes given: these are programming errors, checked up front
/// so that no out-of-bounds access can happen inside the loops.
#[allow(clippy::too_many_arguments)]
pub fn sgemm(
    transa: Transpose,
    transb: Transpose,
    m: usize,
    n: usize,
    k: usize,
    alpha: f32,
    a: &[f32],
    lda: usize,
    b: &[f32],
    ldb: usize,
    beta: f32,
    c: &mut [f32],
    ldc: usize,
) {
    let (a_rows, a_cols) = stored_dims(transa, m, k);
    let (b_rows, b_cols) = stored_dims(transb, k, n);
    check_operand("A", a, a_rows, a_cols, lda);
    check_operand("B", b, b_rows, b_cols, ldb);
    check_operand("C", c, m, n, ldc);
    if m == 0 || n == 0 {
        return;
    }
    scale_c(c, m, n, ldc, beta);
    if k == 0 || alpha == 0.0 {
        return;
    }
    match (transa, transb) {
        (Transpose::No, Transpose::No) => {
            for i in 0..m {
                let c_row = &mut c[i * ldc..i * ldc + n];
                for p in 0..k {
                    let s = alpha * a[i * lda + p];
                    axpy(s, &b[p * ldb..p * ldb + n], c_row);
                }
            }
        }
        (Transpose::Yes, Transpose::No) => {
            for p in 0..k {
                let b_row = &b[p * ldb..p * ldb + n];
                for i in 0..m {
                    let s = alpha * a[p * lda + i];
                    axpy(s, b_row, &mut c[i * ldc..i * ldc + n]);
                }
            }
        }
        (Transpose::No, Transpose::Yes) => {
            for i in 0..m {
                let a_row = &a[i * lda..i * lda + k];
                for j in 0..n {
                    c[i * ldc + j] += alpha * dot(a_row, &b[j * ldb..j * ldb + k]);
                }
            }
        }
        (Transpose::Yes, Transpose::Yes) => {
            for i in 0..m {
                for j in 0..n {
                    let mut sum = 0.0;
                    for p in 0..k {
                        sum += a[p * lda + i] * b[j * ldb + p];
                    }
                    c[i * ldc + j] += alpha * sum;
                }
            }
        }
    }
}

/// Rows and columns of an operand as stored, given its logical `rows x cols`.
fn stored_dims(t: Transpose, rows: usize, cols: usize) -> (usize, usize) {
    match t {
        Transpose::No => (rows, cols),
        Transpose::Yes => (cols, rows),
    }
}

fn check_operand(name: &str, x: &[f32], rows: usize, cols: usize, ld: usize) {
    assert!(
        ld >= cols.max(1),
        "sgemm: ld{name} = {ld} is less than its row width {cols}"
    );
    let needed = if rows == 0 || cols == 0 {
        0
    } else {
        (rows - 1) * ld + cols
    };
    assert!(
        x.len() >= needed,
        "sgemm: {name} ({rows} x {cols}, ld {ld}) needs {needed} elements, got {}",
        x.len()
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

#[inline]
fn axpy(s: f32, x: &[f32], y: &mut [f32]) {
    for (yi, &xi) in y.iter_mut().zip(x) {
        *yi += s * xi;
    }
}

#[inline]
fn dot(x: &[f32], y: &[f32]) -> f32 {
    // Eight partial sums let the compiler vectorise without reassociating.
    let mut acc = [0.0f32; 8];
    let (xc, xr) = x.split_at(x.len() / 8 * 8);
    let (yc, yr) = y.split_at(xc.len());
    for (xs, ys) in xc.chunks_exact(8).zip(yc.chunks_exact(8)) {
        for l in 0..8 {
            acc[l] += xs[l] * ys[l];
        }
    }
    let tail: f32 = xr.iter().zip(yr).map(|(a, b)| a * b).sum();
    acc.iter().sum::<f32>() + tail
}
