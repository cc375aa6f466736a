//! Numerical gradient checks: the backward pass of a layer against central
//! differences of its forward pass.
//!
//! The scalar checked is `L = Σ output ⊙ R` for a fixed random `R`, so
//! `dL/doutput = R` and every output element takes part.

use tensor::Tensor;

use crate::{Layer, Mode};

/// How far an analytic gradient may be from the numerical one:
/// `|a - n| <= abs + rel * max(|a|, |n|)`.
#[derive(Clone, Copy, Debug)]
pub struct Tolerance {
    /// Absolute part.
    pub abs: f64,
    /// Relative part.
    pub rel: f64,
}

/// Where a check failed.
#[derive(Debug)]
pub struct Mismatch {
    /// `input` or the parameter's name.
    pub what: String,
    /// Element index.
    pub index: usize,
    /// Gradient from `backward`.
    pub analytic: f64,
    /// Central difference.
    pub numerical: f64,
}

fn weighted_sum(layer: &mut dyn Layer, x: &Tensor, r: &[f32], out: &mut Tensor) -> f64 {
    layer.forward(x, out, Mode::Train);
    out.data().iter().zip(r).map(|(&y, &w)| y as f64 * w as f64).sum()
}

/// Checks `layer`'s input gradient and every parameter gradient at input `x`
/// against central differences with step `eps`. `r` weighs the outputs (its
/// length must be the output's). The layer must be deterministic in
/// `Mode::Train` from call to call.
pub fn check_layer(layer: &mut dyn Layer, x: &Tensor, r: &[f32], eps: f32, tol: Tolerance) -> Result<(), Mismatch> {
    let mut out = Tensor::default();
    layer.forward(x, &mut out, Mode::Train);
    assert_eq!(out.len(), r.len(), "r must weigh every output");
    let dy = Tensor::from_vec(out.shape().clone(), r.to_vec());
    let mut dx = Tensor::default();
    layer.backward(x, &out, &dy, Some(&mut dx));

    let mut analytic: Vec<(String, Vec<f32>)> = vec![("input".into(), dx.data().to_vec())];
    layer.visit_params(&mut |p| analytic.push((p.name.to_string(), p.grad.to_vec())));

    let close = |what: &str, index: usize, a: f64, n: f64| {
        if (a - n).abs() <= tol.abs + tol.rel * a.abs().max(n.abs()) {
            Ok(())
        } else {
            Err(Mismatch {
                what: what.into(),
                index,
                analytic: a,
                numerical: n,
            })
        }
    };

    let mut xp = x.clone();
    for i in 0..x.len() {
        let orig = xp.data()[i];
        xp.data_mut()[i] = orig + eps;
        let plus = weighted_sum(layer, &xp, r, &mut out);
        xp.data_mut()[i] = orig - eps;
        let minus = weighted_sum(layer, &xp, r, &mut out);
        xp.data_mut()[i] = orig;
        close("input", i, analytic[0].1[i] as f64, (plus - minus) / (2.0 * eps as f64))?;
    }

    for (slot, (name, grad)) in analytic.iter().enumerate().skip(1) {
        for (i, &g) in grad.iter().enumerate() {
            let diff = |layer: &mut dyn Layer, delta: f32, out: &mut Tensor| {
                let orig = set_param(layer, slot - 1, i, None);
                set_param(layer, slot - 1, i, Some(orig + delta));
                let v = weighted_sum(layer, x, r, out);
                set_param(layer, slot - 1, i, Some(orig));
                v
            };
            let plus = diff(layer, eps, &mut out);
            let minus = diff(layer, -eps, &mut out);
            close(name, i, g as f64, (plus - minus) / (2.0 * eps as f64))?;
        }
    }
    Ok(())
}

/// Returns element `index` of parameter `slot`, after setting it to `value`
/// when given.
fn set_param(layer: &mut dyn Layer, slot: usize, index: usize, value: Option<f32>) -> f32 {
    let (mut k, mut old) = (0, 0.0);
    layer.visit_params(&mut |p| {
        if k == slot {
            old = p.value[index];
            if let Some(v) = value {
                p.value[index] = v;
            }
        }
        k += 1;
    });
    old
}
