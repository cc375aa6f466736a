//! Batch normalisation's loops over a row-major `[samples, features]`
//! matrix, per feature: the statistics (summed in `f64`, sample after
//! sample), the normalised values, and the backward pass's sums and input
//! gradient. Compiled for AVX2 where the kernel in use has it
//! ([`crate::wide_fn!`]): the vectors run across features, so every
//! feature's sums keep their one order, and the bits are those of the
//! plain loops.

crate::wide_fn! {
    /// `sums[j] += x[i][j]` over every row `i` (in `f64`).
    pub fn add_columns(x: &[f32], sums: &mut [f64]) {
        for row in x.chunks_exact(sums.len()) {
            sums.iter_mut().zip(row).for_each(|(s, &x)| *s += x as f64);
        }
    }
}

crate::wide_fn! {
    /// `sums[j] += (x[i][j] - mean[j])²` over every row `i` (in `f64`).
    pub fn add_squared_deviations(x: &[f32], mean: &[f64], sums: &mut [f64]) {
        for row in x.chunks_exact(sums.len()) {
            sums.iter_mut().zip(row).zip(mean).for_each(|((s, &x), &m)| {
                let d = x as f64 - m;
                *s += d * d;
            });
        }
    }
}

crate::wide_fn! {
    /// `xhat = (x - mean) inv_std` (the difference in `f64`, rounded to
    /// `f32` before the scaling) and `y = gamma xhat + beta`, row by row.
    pub fn normalize(
        x: &[f32],
        mean: &[f64],
        inv_std: &[f32],
        gamma: &[f32],
        beta: &[f32],
        xhat: &mut [f32],
        y: &mut [f32],
    ) {
        let d = mean.len();
        for ((x, xh), y) in x.chunks_exact(d).zip(xhat.chunks_exact_mut(d)).zip(y.chunks_exact_mut(d)) {
            let per_feature = mean.iter().zip(inv_std).zip(gamma.iter().zip(beta));
            for (((xh, y), &x), ((&m, &inv), (&g, &b))) in xh.iter_mut().zip(y.iter_mut()).zip(x).zip(per_feature) {
                *xh = ((x as f64 - m) as f32) * inv;
                *y = g * *xh + b;
            }
        }
    }
}

crate::wide_fn! {
    /// Evaluation with the running statistics: `y = gamma (x - mean) / sqrt(var
    /// + epsilon) + beta`, row by row (the reciprocal taken first).
    pub fn normalize_with(x: &[f32], mean: &[f32], var: &[f32], epsilon: f32, gamma: &[f32], beta: &[f32], y: &mut [f32]) {
        let d = mean.len();
        for (y, x) in y.chunks_exact_mut(d).zip(x.chunks_exact(d)) {
            let per_feature = mean.iter().zip(var).zip(gamma.iter().zip(beta));
            for ((y, &x), ((&m, &v), (&g, &b))) in y.iter_mut().zip(x).zip(per_feature) {
                let inv = 1.0 / (v + epsilon).sqrt();
                *y = g * (x - m) * inv + b;
            }
        }
    }
}

crate::wide_fn! {
    /// The backward pass's sums over the rows, per feature: `dgamma += dy
    /// xhat`, `dbeta += dy` (in `f32`), and with `dxhat = dy gamma`,
    /// `sum_dxhat += dxhat`, `sum_dxhat_xhat += dxhat xhat` (in `f64`).
    pub fn backward_sums(
        dy: &[f32],
        xhat: &[f32],
        gamma: &[f32],
        dgamma: &mut [f32],
        dbeta: &mut [f32],
        sum_dxhat: &mut [f64],
        sum_dxhat_xhat: &mut [f64],
    ) {
        let d = gamma.len();
        for (dy, xh) in dy.chunks_exact(d).zip(xhat.chunks_exact(d)) {
            let sums = dgamma.iter_mut().zip(dbeta.iter_mut()).zip(sum_dxhat.iter_mut().zip(sum_dxhat_xhat.iter_mut()));
            for (((&dy, &xh), &g), ((dg, db), (sd, sdx))) in dy.iter().zip(xh).zip(gamma).zip(sums) {
                *dg += dy * xh;
                *db += dy;
                let dxh = (dy * g) as f64;
                *sd += dxh;
                *sdx += dxh * xh as f64;
            }
        }
    }
}

crate::wide_fn! {
    /// The input gradient: `dx = (n dxhat - sum_dxhat - xhat
    /// sum_dxhat_xhat) / n inv_std` (in `f64`, rounded to `f32`), row by row.
    pub fn backward_input(
        dy: &[f32],
        xhat: &[f32],
        gamma: &[f32],
        sum_dxhat: &[f64],
        sum_dxhat_xhat: &[f64],
        inv_std: &[f32],
        n: f64,
        dx: &mut [f32],
    ) {
        let d = gamma.len();
        for ((dx, dy), xh) in dx.chunks_exact_mut(d).zip(dy.chunks_exact(d)).zip(xhat.chunks_exact(d)) {
            let per_feature = gamma.iter().zip(inv_std).zip(sum_dxhat.iter().zip(sum_dxhat_xhat));
            for (((dx, &dy), &xh), ((&g, &inv), (&sd, &sdx))) in dx.iter_mut().zip(dy).zip(xh).zip(per_feature) {
                let dxh = (dy * g) as f64;
                let v = (n * dxh - sd - xh as f64 * sdx) / n;
                *dx = (v * inv as f64) as f32;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    /// Every function against the plain scalar loops it stands for, bit
    /// for bit, on widths that are and are not multiples of a vector, on
    /// whichever copy this CPU runs (the AVX2 one where it can).
    #[test]
    fn the_vector_copies_give_the_bits_of_the_plain_loops() {
        for (rows, d) in [(7, 1), (50, 3), (33, 16), (20, 37)] {
            let x = values(rows * d, 1);
            let dy = values(rows * d, 2);
            let gamma = values(d, 3);
            let beta = values(d, 4);
            let n = rows as f64;

            let (mut mean, mut var) = (vec![0.0f64; d], vec![0.0f64; d]);
            add_columns(&x, &mut mean);
            mean.iter_mut().for_each(|m| *m /= n);
            add_squared_deviations(&x, &mean, &mut var);
            let (mut want_mean, mut want_var) = (vec![0.0f64; d], vec![0.0f64; d]);
            for i in 0..rows {
                for j in 0..d {
                    want_mean[j] += x[i * d + j] as f64;
                }
            }
            want_mean.iter_mut().for_each(|m| *m /= n);
            for i in 0..rows {
                for j in 0..d {
                    let e = x[i * d + j] as f64 - want_mean[j];
                    want_var[j] += e * e;
                }
            }
            assert_eq!((&mean, &var), (&want_mean, &want_var), "{rows} x {d}");

            let inv: Vec<f32> = var.iter().map(|v| (1.0 / (v / n + 1e-5).sqrt()) as f32).collect();
            let (mut xhat, mut y) = (vec![0.0; rows * d], vec![0.0; rows * d]);
            normalize(&x, &mean, &inv, &gamma, &beta, &mut xhat, &mut y);
            let mut y_eval = vec![0.0; rows * d];
            let mean32: Vec<f32> = mean.iter().map(|&m| m as f32).collect();
            let var32: Vec<f32> = var.iter().map(|&v| (v / n) as f32).collect();
            normalize_with(&x, &mean32, &var32, 1e-5, &gamma, &beta, &mut y_eval);
            let (mut dg, mut db) = (vec![0.0f32; d], vec![0.0f32; d]);
            let (mut sd, mut sdx) = (vec![0.0f64; d], vec![0.0f64; d]);
            backward_sums(&dy, &xhat, &gamma, &mut dg, &mut db, &mut sd, &mut sdx);
            let mut dx = vec![0.0; rows * d];
            backward_input(&dy, &xhat, &gamma, &sd, &sdx, &inv, n, &mut dx);

            let (mut wdg, mut wdb) = (vec![0.0f32; d], vec![0.0f32; d]);
            let (mut wsd, mut wsdx) = (vec![0.0f64; d], vec![0.0f64; d]);
            for i in 0..rows {
                for j in 0..d {
                    let k = i * d + j;
                    let xh = ((x[k] as f64 - mean[j]) as f32) * inv[j];
                    assert_eq!(xhat[k].to_bits(), xh.to_bits());
                    assert_eq!(y[k].to_bits(), (gamma[j] * xh + beta[j]).to_bits());
                    let inv_eval = 1.0 / (var32[j] + 1e-5).sqrt();
                    let e = gamma[j] * (x[k] - mean32[j]) * inv_eval + beta[j];
                    assert_eq!(y_eval[k].to_bits(), e.to_bits());
                    wdg[j] += dy[k] * xh;
                    wdb[j] += dy[k];
                    let dxh = (dy[k] * gamma[j]) as f64;
                    wsd[j] += dxh;
                    wsdx[j] += dxh * xh as f64;
                }
            }
            assert_eq!((&dg, &db, &sd, &sdx), (&wdg, &wdb, &wsd, &wsdx), "{rows} x {d}");
            for i in 0..rows {
                for j in 0..d {
                    let k = i * d + j;
                    let dxh = (dy[k] * gamma[j]) as f64;
                    let v = (n * dxh - wsd[j] - xhat[k] as f64 * wsdx[j]) / n;
                    assert_eq!(dx[k].to_bits(), ((v * inv[j] as f64) as f32).to_bits());
                }
            }
        }
    }
}
