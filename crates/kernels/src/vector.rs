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

/// The widest rows [`sum_rows`] sums in registers.
const NARROW_SUM: usize = 64;

crate::wide_fn! {
    /// `out[j] = sum over rows of x[row][j]`: the gradient of a bias added to
    /// every row. Overwrites `out`.
    pub fn sum_rows(x: &[f32], out: &mut [f32]) {
        assert_eq!(x.len() % out.len().max(1), 0);
        let n = out.len();
        if n <= NARROW_SUM {
            // Few columns (a convolution's filters) and many rows: the sums
            // in registers, each column still in row order.
            match n.div_ceil(16) {
                1 => sum_narrow::<16>(x, out),
                2 => sum_narrow::<32>(x, out),
                3 => sum_narrow::<48>(x, out),
                _ => sum_narrow::<64>(x, out),
            }
            return;
        }
        out.fill(0.0);
        for row in x.chunks_exact(n) {
            for (o, &xi) in out.iter_mut().zip(row) {
                *o += xi;
            }
        }
    }
}

/// [`sum_rows`] for `n = out.len() <= W` columns, `W` a multiple of 16:
/// every row is read as `W` floats from its start, running on into the
/// rows after it, so that the loads and adds are whole registers with no
/// copy a row (a `memcpy` call each took conv1's 100,352 rows of 12 to 1
/// ms). Lanes past `n` sum parts of other rows and are dropped; lane `j <
/// n` adds column `j` row by row, the plain loop's order, so the bits are
/// its own. The last rows, whose `W` floats would run past `x`, are added
/// one column at a time.
#[inline(always)]
fn sum_narrow<const W: usize>(x: &[f32], out: &mut [f32]) {
    let n = out.len();
    if n == 0 {
        return;
    }
    let whole = whole_rows(x.len(), n, 0, W);
    let mut acc = [0.0f32; W];
    for r in 0..whole {
        let v: &[f32; W] = x[r * n..r * n + W].try_into().expect("W floats");
        acc.iter_mut().zip(v).for_each(|(a, &v)| *a += v);
    }
    for row in x[whole * n..].chunks_exact(n) {
        acc.iter_mut().zip(row).for_each(|(a, &v)| *a += v);
    }
    out.copy_from_slice(&acc[..n]);
}

/// Of the rows of `d` values in a matrix of `len`, how many have `width`
/// values from offset `first` of theirs inside it: the rows that a loop
/// reading whole vectors that run on into the next row can take before the
/// last ones, which must be read value by value.
pub(crate) fn whole_rows(len: usize, d: usize, first: usize, width: usize) -> usize {
    let rows = len / d.max(1);
    if len < first + width {
        0
    } else {
        ((len - first - width) / d + 1).min(rows)
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

    /// The column sums in registers have the bits of the plain loop, for
    /// widths on both sides of 16 and of the register path's limit.
    #[test]
    fn column_sums_in_registers_match_the_plain_loop() {
        let mut state = 12345u32;
        for n in [1, 2, 10, 12, 16, 17, 32, 33, 40, 48, 63, 64, 65, 100] {
            let x: Vec<f32> = (0..n * 1000)
                .map(|_| {
                    state = state.wrapping_mul(1664525).wrapping_add(1013904223);
                    (state >> 8) as f32 / (1 << 24) as f32 - 0.5
                })
                .collect();
            let mut want = vec![0.0f32; n];
            for row in x.chunks_exact(n) {
                want.iter_mut().zip(row).for_each(|(o, &v)| *o += v);
            }
            let mut got = vec![f32::NAN; n];
            sum_rows(&x, &mut got);
            assert!(
                got.iter().zip(&want).all(|(a, b)| a.to_bits() == b.to_bits()),
                "{n} columns"
            );
        }
    }
}
