//! Batch normalisation's loops over a row-major `[samples, features]`
//! matrix, per feature: the statistics (summed in `f64`, sample after
//! sample), the normalised values, and the backward pass's sums and input
//! gradient. Compiled for AVX2 where the kernel in use has it
//! ([`crate::wide_fn!`]): the vectors run across features, so every
//! feature's sums keep their one order, and the bits are those of the
//! plain loops.

use rayon::prelude::*;

use crate::vector::whole_rows;

/// Below this many values a pass runs on one thread: the hand-off would
/// cost more than it saves.
const PARALLEL_FROM: usize = 1 << 15;

/// Rows per task of the passes that go value by value.
const ROWS_PER_TASK: usize = 256;

/// Features per task of the sums: each task sums whole columns in their one
/// order, so the bits are those of one thread. A multiple of 8 (an AVX2
/// vector of `f32`), and all of them for a small matrix.
fn features_per_task(len: usize, d: usize, narrow_on_one: bool) -> usize {
    // With few features, a pass of the statistics' sums costs as much for
    // half of them as for all (a row's cost is the loop's), so they run on
    // one thread; the backward pass's four sums a feature do gain from the
    // split (`narrow_on_one` false).
    if len < PARALLEL_FROM || (narrow_on_one && d <= NARROW_FEATURES) {
        return d.max(1);
    }
    d.div_ceil(rayon::current_num_threads())
        .next_multiple_of(8)
        .clamp(1, d.max(1))
}

/// At most this many features: the statistics' sums run on one thread.
const NARROW_FEATURES: usize = W;

/// Features summed at once in registers: a row's are read as `W` floats
/// from the group's first, running on into the next row where the row is
/// shorter (those lanes sum other values and are dropped), so that every
/// load is a whole vector; each feature still adds its rows in order.
const W: usize = 16;

/// `N` floats of `src` from `at`.
#[inline(always)]
fn lanes<const N: usize>(src: &[f32], at: usize) -> &[f32; N] {
    src[at..at + N].try_into().expect("N floats")
}

/// `v` padded to `N` lanes with zeros.
#[inline(always)]
fn padded<T: Copy + Default, const N: usize>(v: &[T]) -> [T; N] {
    let mut out = [T::default(); N];
    out[..v.len()].copy_from_slice(v);
    out
}

/// The features the backward pass's sums take at once: four sums each
/// (two in `f64`) stay in AVX2's 16 registers at 8, not at 16.
const W_BACKWARD: usize = 8;

/// The most features a task sums at once where they are more than one
/// register group, in its own stack: sums kept in the caller's slice would
/// share cache lines with the next task's, and the two cores would pass
/// them back and forth every row.
const GROUP: usize = 64;

/// What follows batch norm in the same passes.
///
/// A ReLU after it costs a pass of its own each way, reading and writing
/// the whole batch (the fast recipe's three, 0.38 ms of a 13 ms step). Run
/// inside batch norm's passes instead, the forward pass writes `max(y, 0)`
/// for `y = gamma xhat + beta`, and the backward passes take the ReLU's
/// output gradient, keeping `dy` where `y > 0` and 0 elsewhere, with `y`
/// computed again from `xhat` in the same operations (the same bits), so
/// that neither batch norm's output nor the gradient between the two is
/// stored. The results are those of the two layers one after the other.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Then {
    /// Batch norm alone.
    Nothing,
    /// Batch norm, then a ReLU.
    Relu,
}

/// `y` through what follows batch norm.
#[inline(always)]
fn out<const RELU: bool>(y: f32) -> f32 {
    if RELU { y.max(0.0) } else { y }
}

/// The gradient at batch norm's output from `dy`, the gradient after what
/// follows it: `dy` where `gamma xh + beta > 0` after a ReLU.
#[inline(always)]
fn gate<const RELU: bool>(dy: f32, xh: f32, gamma: f32, beta: f32) -> f32 {
    if !RELU || gamma * xh + beta > 0.0 { dy } else { 0.0 }
}

/// `f::<true>(args)` after a ReLU, else `f::<false>(args)`: each pass is
/// compiled once with the ReLU and once without, so that neither copy
/// tests for it value by value.
macro_rules! then_relu {
    ($relu:expr, $f:ident($($arg:expr),* $(,)?)) => {
        if $relu { $f::<true>($($arg),*) } else { $f::<false>($($arg),*) }
    };
}

/// `sums[j] += x[i][j]` over every row `i` (in `f64`).
pub fn add_columns(x: &[f32], sums: &mut [f64]) {
    let d = sums.len();
    let part = features_per_task(x.len(), d, true);
    sums.par_chunks_mut(part)
        .enumerate()
        .for_each(|(t, sums)| add_columns_part(x, d, t * part, sums));
}

crate::wide_fn! {
    /// [`add_columns`] for the features `first..first + sums.len()` of rows of `d`.
    fn add_columns_part(x: &[f32], d: usize, first: usize, sums: &mut [f64]) {
        if sums.len() <= W {
            // One register group: one pass with whole vectors.
            let n = sums.len();
            let mut acc: [f64; W] = padded(sums);
            let whole = whole_rows(x.len(), d, first, W);
            for r in 0..whole {
                let v = lanes::<W>(x, r * d + first);
                acc.iter_mut().zip(v).for_each(|(s, &x)| *s += x as f64);
            }
            for row in x.chunks_exact(d).skip(whole) {
                acc[..n].iter_mut().zip(&row[first..]).for_each(|(s, &x)| *s += x as f64);
            }
            sums.copy_from_slice(&acc[..n]);
            return;
        }
        for (g, sums) in sums.chunks_mut(GROUP).enumerate() {
            let mut acc = [0.0f64; GROUP];
            let acc = &mut acc[..sums.len()];
            acc.copy_from_slice(sums);
            for row in x.chunks_exact(d) {
                acc.iter_mut().zip(&row[first + g * GROUP..]).for_each(|(s, &x)| *s += x as f64);
            }
            sums.copy_from_slice(acc);
        }
    }
}

/// `sums[j] += (x[i][j] - mean[j])²` over every row `i` (in `f64`).
pub fn add_squared_deviations(x: &[f32], mean: &[f64], sums: &mut [f64]) {
    let d = sums.len();
    let part = features_per_task(x.len(), d, true);
    sums.par_chunks_mut(part)
        .zip(mean.par_chunks(part))
        .enumerate()
        .for_each(|(t, (sums, mean))| add_squared_deviations_part(x, d, t * part, mean, sums));
}

crate::wide_fn! {
    /// [`add_squared_deviations`] for the features `first..first + sums.len()`.
    fn add_squared_deviations_part(x: &[f32], d: usize, first: usize, mean: &[f64], sums: &mut [f64]) {
        if sums.len() <= W {
            let n = sums.len();
            let (mut acc, mean): ([f64; W], [f64; W]) = (padded(sums), padded(mean));
            let whole = whole_rows(x.len(), d, first, W);
            let add = |acc: &mut [f64], x: &[f32]| {
                acc.iter_mut().zip(x).zip(&mean).for_each(|((s, &x), &m)| {
                    let d = x as f64 - m;
                    *s += d * d;
                })
            };
            for r in 0..whole {
                add(&mut acc, lanes::<W>(x, r * d + first));
            }
            for row in x.chunks_exact(d).skip(whole) {
                add(&mut acc[..n], &row[first..]);
            }
            sums.copy_from_slice(&acc[..n]);
            return;
        }
        for (g, (sums, mean)) in sums.chunks_mut(GROUP).zip(mean.chunks(GROUP)).enumerate() {
            let mut acc = [0.0f64; GROUP];
            let acc = &mut acc[..sums.len()];
            acc.copy_from_slice(sums);
            for row in x.chunks_exact(d) {
                acc.iter_mut().zip(&row[first + g * GROUP..]).zip(mean).for_each(|((s, &x), &m)| {
                    let d = x as f64 - m;
                    *s += d * d;
                });
            }
            sums.copy_from_slice(acc);
        }
    }
}

/// Rows of `d` values per task of a value-by-value pass over `len`.
fn rows_per_task(len: usize, d: usize) -> usize {
    let rows = len / d.max(1);
    if len < PARALLEL_FROM {
        rows.max(1)
    } else {
        ROWS_PER_TASK
    }
}

/// `xhat = (x - mean) inv_std` (the difference in `f64`, rounded to
/// `f32` before the scaling) and `y = gamma xhat + beta` through `then`,
/// row by row.
#[allow(clippy::too_many_arguments)]
pub fn normalize(
    x: &[f32],
    mean: &[f64],
    inv_std: &[f32],
    gamma: &[f32],
    beta: &[f32],
    then: Then,
    xhat: &mut [f32],
    y: &mut [f32],
) {
    let task = rows_per_task(x.len(), mean.len()) * mean.len();
    x.par_chunks(task)
        .zip(xhat.par_chunks_mut(task))
        .zip(y.par_chunks_mut(task))
        .for_each(|((x, xhat), y)| normalize_rows(x, mean, inv_std, gamma, beta, then == Then::Relu, xhat, y));
}

crate::wide_fn! {
    /// [`normalize`] on one task's rows.
    fn normalize_rows(
        x: &[f32],
        mean: &[f64],
        inv_std: &[f32],
        gamma: &[f32],
        beta: &[f32],
        relu: bool,
        xhat: &mut [f32],
        y: &mut [f32],
    ) {
        then_relu!(relu, normalize_rows_then(x, mean, inv_std, gamma, beta, xhat, y))
    }
}

#[inline(always)]
fn normalize_rows_then<const RELU: bool>(
    x: &[f32],
    mean: &[f64],
    inv_std: &[f32],
    gamma: &[f32],
    beta: &[f32],
    xhat: &mut [f32],
    y: &mut [f32],
) {
    let d = mean.len();
    for ((x, xh), y) in x
        .chunks_exact(d)
        .zip(xhat.chunks_exact_mut(d))
        .zip(y.chunks_exact_mut(d))
    {
        let per_feature = mean.iter().zip(inv_std).zip(gamma.iter().zip(beta));
        for (((xh, y), &x), ((&m, &inv), (&g, &b))) in xh.iter_mut().zip(y.iter_mut()).zip(x).zip(per_feature) {
            *xh = ((x as f64 - m) as f32) * inv;
            *y = out::<RELU>(g * *xh + b);
        }
    }
}

/// Evaluation with the running statistics: `y = gamma (x - mean) /
/// sqrt(var + epsilon) + beta` through `then`, row by row (the reciprocal
/// taken first).
#[allow(clippy::too_many_arguments)]
pub fn normalize_with(
    x: &[f32],
    mean: &[f32],
    var: &[f32],
    epsilon: f32,
    gamma: &[f32],
    beta: &[f32],
    then: Then,
    y: &mut [f32],
) {
    let task = rows_per_task(x.len(), mean.len()) * mean.len();
    x.par_chunks(task)
        .zip(y.par_chunks_mut(task))
        .for_each(|(x, y)| normalize_with_rows(x, mean, var, epsilon, gamma, beta, then == Then::Relu, y));
}

crate::wide_fn! {
    /// [`normalize_with`] on one task's rows.
    fn normalize_with_rows(x: &[f32], mean: &[f32], var: &[f32], epsilon: f32, gamma: &[f32], beta: &[f32], relu: bool, y: &mut [f32]) {
        then_relu!(relu, normalize_with_rows_then(x, mean, var, epsilon, gamma, beta, y))
    }
}

#[inline(always)]
fn normalize_with_rows_then<const RELU: bool>(
    x: &[f32],
    mean: &[f32],
    var: &[f32],
    epsilon: f32,
    gamma: &[f32],
    beta: &[f32],
    y: &mut [f32],
) {
    let d = mean.len();
    for (y, x) in y.chunks_exact_mut(d).zip(x.chunks_exact(d)) {
        let per_feature = mean.iter().zip(var).zip(gamma.iter().zip(beta));
        for ((y, &x), ((&m, &v), (&g, &b))) in y.iter_mut().zip(x).zip(per_feature) {
            let inv = 1.0 / (v + epsilon).sqrt();
            *y = out::<RELU>(g * (x - m) * inv + b);
        }
    }
}

/// The backward pass's sums over the rows, per feature: `dgamma += dy
/// xhat`, `dbeta += dy` (in `f32`), and with `dxhat = dy gamma`,
/// `sum_dxhat += dxhat`, `sum_dxhat_xhat += dxhat xhat` (in `f64`). `dy`
/// is the gradient after `then` (`beta` is read only for a ReLU).
#[allow(clippy::too_many_arguments)]
pub fn backward_sums(
    dy: &[f32],
    xhat: &[f32],
    gamma: &[f32],
    beta: &[f32],
    then: Then,
    dgamma: &mut [f32],
    dbeta: &mut [f32],
    sum_dxhat: &mut [f64],
    sum_dxhat_xhat: &mut [f64],
) {
    let d = gamma.len();
    let part = features_per_task(dy.len(), d, false);
    dgamma
        .par_chunks_mut(part)
        .zip(dbeta.par_chunks_mut(part))
        .zip(sum_dxhat.par_chunks_mut(part).zip(sum_dxhat_xhat.par_chunks_mut(part)))
        .enumerate()
        .for_each(|(t, ((dgamma, dbeta), (sd, sdx)))| {
            let first = t * part;
            let features = first..first + dgamma.len();
            let (gamma, beta) = (&gamma[features.clone()], &beta[features]);
            let relu = then == Then::Relu;
            backward_sums_part(dy, xhat, d, first, gamma, beta, relu, dgamma, dbeta, sd, sdx)
        });
}

crate::wide_fn! {
    /// [`backward_sums`] for the features `first..first + gamma.len()` of
    /// rows of `d`, after a ReLU if `relu`.
    fn backward_sums_part(
        dy: &[f32],
        xhat: &[f32],
        d: usize,
        first: usize,
        gamma: &[f32],
        beta: &[f32],
        relu: bool,
        dgamma: &mut [f32],
        dbeta: &mut [f32],
        sum_dxhat: &mut [f64],
        sum_dxhat_xhat: &mut [f64],
    ) {
        then_relu!(relu, backward_sums_then(dy, xhat, d, first, gamma, beta, dgamma, dbeta, sum_dxhat, sum_dxhat_xhat))
    }
}

#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn backward_sums_then<const RELU: bool>(
    dy: &[f32],
    xhat: &[f32],
    d: usize,
    first: usize,
    gamma: &[f32],
    beta: &[f32],
    dgamma: &mut [f32],
    dbeta: &mut [f32],
    sum_dxhat: &mut [f64],
    sum_dxhat_xhat: &mut [f64],
) {
    if gamma.len() <= W_BACKWARD {
        // One register group: one pass with whole vectors.
        let n = gamma.len();
        let (mut dg, mut db): ([f32; W_BACKWARD], [f32; W_BACKWARD]) = (padded(dgamma), padded(dbeta));
        let (mut sd, mut sdx): ([f64; W_BACKWARD], [f64; W_BACKWARD]) = (padded(sum_dxhat), padded(sum_dxhat_xhat));
        let (gamma, beta): ([f32; W_BACKWARD], [f32; W_BACKWARD]) = (padded(gamma), padded(beta));
        // One feature's four sums, one row's step.
        let step = |j: usize,
                    dy: f32,
                    xh: f32,
                    dg: &mut [f32; W_BACKWARD],
                    db: &mut [f32; W_BACKWARD],
                    sd: &mut [f64; W_BACKWARD],
                    sdx: &mut [f64; W_BACKWARD]| {
            let dy = gate::<RELU>(dy, xh, gamma[j], beta[j]);
            dg[j] += dy * xh;
            db[j] += dy;
            let dxh = (dy * gamma[j]) as f64;
            sd[j] += dxh;
            sdx[j] += dxh * xh as f64;
        };
        let whole = whole_rows(dy.len(), d, first, W_BACKWARD);
        for r in 0..whole {
            let (dy, xh) = (
                lanes::<W_BACKWARD>(dy, r * d + first),
                lanes::<W_BACKWARD>(xhat, r * d + first),
            );
            for j in 0..W_BACKWARD {
                step(j, dy[j], xh[j], &mut dg, &mut db, &mut sd, &mut sdx);
            }
        }
        for (dy, xh) in dy.chunks_exact(d).zip(xhat.chunks_exact(d)).skip(whole) {
            for j in 0..n {
                step(j, dy[first + j], xh[first + j], &mut dg, &mut db, &mut sd, &mut sdx);
            }
        }
        dgamma.copy_from_slice(&dg[..n]);
        dbeta.copy_from_slice(&db[..n]);
        sum_dxhat.copy_from_slice(&sd[..n]);
        sum_dxhat_xhat.copy_from_slice(&sdx[..n]);
        return;
    }
    for f0 in (0..gamma.len()).step_by(GROUP) {
        let n = GROUP.min(gamma.len() - f0);
        let (mut dg, mut db, mut sd, mut sdx) = ([0.0f32; GROUP], [0.0f32; GROUP], [0.0f64; GROUP], [0.0f64; GROUP]);
        let (dg, db, sd, sdx) = (&mut dg[..n], &mut db[..n], &mut sd[..n], &mut sdx[..n]);
        dg.copy_from_slice(&dgamma[f0..f0 + n]);
        db.copy_from_slice(&dbeta[f0..f0 + n]);
        sd.copy_from_slice(&sum_dxhat[f0..f0 + n]);
        sdx.copy_from_slice(&sum_dxhat_xhat[f0..f0 + n]);
        let (gamma, beta) = (&gamma[f0..f0 + n], &beta[f0..f0 + n]);
        for (dy, xh) in dy.chunks_exact(d).zip(xhat.chunks_exact(d)) {
            let (dy, xh) = (&dy[first + f0..], &xh[first + f0..]);
            let sums = dg.iter_mut().zip(db.iter_mut()).zip(sd.iter_mut().zip(sdx.iter_mut()));
            let per_feature = gamma.iter().zip(beta);
            for (((&dy, &xh), (&g, &b)), ((dg, db), (sd, sdx))) in dy.iter().zip(xh).zip(per_feature).zip(sums) {
                let dy = gate::<RELU>(dy, xh, g, b);
                *dg += dy * xh;
                *db += dy;
                let dxh = (dy * g) as f64;
                *sd += dxh;
                *sdx += dxh * xh as f64;
            }
        }
        dgamma[f0..f0 + n].copy_from_slice(dg);
        dbeta[f0..f0 + n].copy_from_slice(db);
        sum_dxhat[f0..f0 + n].copy_from_slice(sd);
        sum_dxhat_xhat[f0..f0 + n].copy_from_slice(sdx);
    }
}

/// The input gradient: `dx = (n dxhat - sum_dxhat - xhat sum_dxhat_xhat) /
/// n inv_std` (in `f64`, rounded to `f32`), row by row, `dy` the gradient
/// after `then`, as in [`backward_sums`].
#[allow(clippy::too_many_arguments)]
pub fn backward_input(
    dy: &[f32],
    xhat: &[f32],
    gamma: &[f32],
    beta: &[f32],
    then: Then,
    sum_dxhat: &[f64],
    sum_dxhat_xhat: &[f64],
    inv_std: &[f32],
    n: f64,
    dx: &mut [f32],
) {
    let task = rows_per_task(dy.len(), gamma.len()) * gamma.len();
    let relu = then == Then::Relu;
    dx.par_chunks_mut(task)
        .zip(dy.par_chunks(task))
        .zip(xhat.par_chunks(task))
        .for_each(|((dx, dy), xhat)| {
            backward_input_rows(dy, xhat, gamma, beta, relu, sum_dxhat, sum_dxhat_xhat, inv_std, n, dx)
        });
}

crate::wide_fn! {
    /// [`backward_input`] on one task's rows.
    fn backward_input_rows(
        dy: &[f32],
        xhat: &[f32],
        gamma: &[f32],
        beta: &[f32],
        relu: bool,
        sum_dxhat: &[f64],
        sum_dxhat_xhat: &[f64],
        inv_std: &[f32],
        n: f64,
        dx: &mut [f32],
    ) {
        then_relu!(relu, backward_input_then(dy, xhat, gamma, beta, sum_dxhat, sum_dxhat_xhat, inv_std, n, dx))
    }
}

#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn backward_input_then<const RELU: bool>(
    dy: &[f32],
    xhat: &[f32],
    gamma: &[f32],
    beta: &[f32],
    sum_dxhat: &[f64],
    sum_dxhat_xhat: &[f64],
    inv_std: &[f32],
    n: f64,
    dx: &mut [f32],
) {
    let d = gamma.len();
    for ((dx, dy), xh) in dx.chunks_exact_mut(d).zip(dy.chunks_exact(d)).zip(xhat.chunks_exact(d)) {
        let per_feature = gamma
            .iter()
            .zip(beta)
            .zip(inv_std)
            .zip(sum_dxhat.iter().zip(sum_dxhat_xhat));
        for (((dx, &dy), &xh), (((&g, &b), &inv), (&sd, &sdx))) in dx.iter_mut().zip(dy).zip(xh).zip(per_feature) {
            let dy = gate::<RELU>(dy, xh, g, b);
            let dxh = (dy * g) as f64;
            let v = (n * dxh - sd - xh as f64 * sdx) / n;
            *dx = (v * inv as f64) as f32;
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
        for (rows, d) in [
            (7, 1),
            (50, 3),
            (500, 12),
            (33, 16),
            (20, 37),
            (200, 32),
            (64, 48),
            (3000, 16),
            (700, 70),
            (300, 150),
        ] {
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
            let mean32: Vec<f32> = mean.iter().map(|&m| m as f32).collect();
            let var32: Vec<f32> = var.iter().map(|&v| (v / n) as f32).collect();
            for then in [Then::Nothing, Then::Relu] {
                // The plain loops: batch norm, then a ReLU if `then` says so.
                let relu = |y: f32| if then == Then::Relu { y.max(0.0) } else { y };
                let relu_grad = |y: f32, dy: f32| match then {
                    Then::Relu if y > 0.0 => dy,
                    Then::Relu => 0.0,
                    Then::Nothing => dy,
                };
                let (mut xhat, mut y) = (vec![0.0; rows * d], vec![0.0; rows * d]);
                normalize(&x, &mean, &inv, &gamma, &beta, then, &mut xhat, &mut y);
                let mut y_eval = vec![0.0; rows * d];
                normalize_with(&x, &mean32, &var32, 1e-5, &gamma, &beta, then, &mut y_eval);
                let (mut dg, mut db) = (vec![0.0f32; d], vec![0.0f32; d]);
                let (mut sd, mut sdx) = (vec![0.0f64; d], vec![0.0f64; d]);
                backward_sums(&dy, &xhat, &gamma, &beta, then, &mut dg, &mut db, &mut sd, &mut sdx);
                let mut dx = vec![0.0; rows * d];
                backward_input(&dy, &xhat, &gamma, &beta, then, &sd, &sdx, &inv, n, &mut dx);

                let (mut wdg, mut wdb) = (vec![0.0f32; d], vec![0.0f32; d]);
                let (mut wsd, mut wsdx) = (vec![0.0f64; d], vec![0.0f64; d]);
                let mut kept = 0;
                for i in 0..rows {
                    for j in 0..d {
                        let k = i * d + j;
                        let xh = ((x[k] as f64 - mean[j]) as f32) * inv[j];
                        assert_eq!(xhat[k].to_bits(), xh.to_bits());
                        let bn = gamma[j] * xh + beta[j];
                        assert_eq!(y[k].to_bits(), relu(bn).to_bits());
                        let inv_eval = 1.0 / (var32[j] + 1e-5).sqrt();
                        let e = gamma[j] * (x[k] - mean32[j]) * inv_eval + beta[j];
                        assert_eq!(y_eval[k].to_bits(), relu(e).to_bits());
                        let g = relu_grad(bn, dy[k]);
                        kept += usize::from(g != 0.0);
                        wdg[j] += g * xh;
                        wdb[j] += g;
                        let dxh = (g * gamma[j]) as f64;
                        wsd[j] += dxh;
                        wsdx[j] += dxh * xh as f64;
                    }
                }
                // A ReLU that kept every gradient or none would test nothing.
                assert!(
                    then == Then::Nothing || (kept > 0 && kept < rows * d) || rows * d < 8,
                    "{rows} x {d}"
                );
                assert_eq!(
                    (&dg, &db, &sd, &sdx),
                    (&wdg, &wdb, &wsd, &wsdx),
                    "{rows} x {d} {then:?}"
                );
                for i in 0..rows {
                    for j in 0..d {
                        let k = i * d + j;
                        let g = relu_grad(gamma[j] * xhat[k] + beta[j], dy[k]);
                        let dxh = (g * gamma[j]) as f64;
                        let v = (n * dxh - wsd[j] - xhat[k] as f64 * wsdx[j]) / n;
                        assert_eq!(dx[k].to_bits(), ((v * inv[j] as f64) as f32).to_bits(), "{then:?}");
                    }
                }
            }
        }
    }
}
