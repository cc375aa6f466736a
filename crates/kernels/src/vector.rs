//! Row and column operations on row-major matrices (compiled for AVX2
//! where the kernel in use has it: [`crate::wide_fn!`]).

crate::wide_fn! {
    /// Adds `bias` (one value per column) to every row of `x` (`cols` wide).
    pub fn add_row_vector(x: &mut [f32], bias: &[f32]) {
        assert_eq!(x.len() % bias.len().max(1), 0);
        for row in x.chunks_exact_mut(bias.len()) {
            for (xi, &bi) in row.iter_mut().zip(bias) {
                *xi += bi;
            }
        }
    }
}

crate::wide_fn! {
    /// `out[j] = sum over rows of x[row][j]`: the gradient of a bias added to
    /// every row. Overwrites `out`.
    pub fn sum_rows(x: &[f32], out: &mut [f32]) {
        assert_eq!(x.len() % out.len().max(1), 0);
        out.fill(0.0);
        for row in x.chunks_exact(out.len()) {
            for (o, &xi) in out.iter_mut().zip(row) {
                *o += xi;
            }
        }
    }
}

/// Copies `bias` into every row of `x`: the start of `x W + b` when the
/// product is then accumulated with `beta = 1`.
pub fn broadcast_rows(x: &mut [f32], bias: &[f32]) {
    assert_eq!(x.len() % bias.len().max(1), 0);
    for row in x.chunks_exact_mut(bias.len()) {
        row.copy_from_slice(bias);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_and_columns() {
        let mut x = [1.0, 2.0, 3.0, 4.0];
        add_row_vector(&mut x, &[10.0, 20.0]);
        assert_eq!(x, [11.0, 22.0, 13.0, 24.0]);
        let mut s = [0.0; 2];
        sum_rows(&x, &mut s);
        assert_eq!(s, [24.0, 46.0]);
        broadcast_rows(&mut x, &[7.0, 8.0]);
        assert_eq!(x, [7.0, 8.0, 7.0, 8.0]);
    }
}
