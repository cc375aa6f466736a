//! What a description of layers will build, worked out without building
//! it: each layer's kind, output shape and parameter counts. So that a
//! model too big for the machine is refused before anything is allocated,
//! and a summary of any size can be printed.

use kernels::conv::{ConvGeometry, Padding};

use crate::NnError;
use crate::layer_spec::LayerSpec;

/// One layer as [`plan`] works it out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LayerPlan {
    /// The layer's type, as [`Layer::kind`](crate::Layer::kind) names it.
    pub kind: &'static str,
    /// Its output per example (`[units]`, or `[h, w, c]`).
    pub output: Vec<usize>,
    /// Trainable parameters.
    pub params: usize,
    /// Scalars kept with the model but not trained (batch norm's running
    /// statistics).
    pub non_trainable: usize,
}

/// The plan of `layers` on inputs of shape `input` (per example): every
/// check of a layer against its input ([`Builder::build`](crate::Builder::build)
/// runs it first), with counts that cannot overflow (a count past `usize`
/// is an error), and no allocation beyond the plan itself.
pub fn plan(input: &[usize], layers: &[LayerSpec]) -> Result<Vec<LayerPlan>, NnError> {
    let mut dims = input.to_vec();
    let mut out = Vec::with_capacity(layers.len());
    for (index, layer) in layers.iter().enumerate() {
        let fail = |what: String| NnError::Spec(format!("layer {index} ({layer}): {what}"));
        let too_big = || fail("has more parameters than this machine can count".into());
        let mul = |a: usize, b: usize| a.checked_mul(b).ok_or_else(too_big);
        let (kind, output, params, non_trainable) = match layer {
            LayerSpec::Dense { units, .. } => {
                let [inputs] = dims[..] else {
                    return Err(fail(format!("takes vectors, got shape {dims:?}: flatten first")));
                };
                if *units == 0 {
                    return Err(fail("needs at least one unit".into()));
                }
                let weights = mul(inputs, *units)?;
                (
                    "Dense",
                    vec![*units],
                    weights.checked_add(*units).ok_or_else(too_big)?,
                    0,
                )
            }
            LayerSpec::Conv2d {
                filters,
                kernel,
                stride,
                padding,
                ..
            } => {
                let [h, w, channels] = dims[..] else {
                    return Err(fail(format!("takes images [h, w, c], got shape {dims:?}")));
                };
                if *filters == 0 || *kernel == 0 || *stride == 0 {
                    return Err(fail("filters, kernel and stride must be at least 1".into()));
                }
                let g = ConvGeometry::new(h, w, channels, *kernel, *kernel, *stride, *padding)
                    .ok_or_else(|| fail(format!("has a {kernel}x{kernel} kernel that does not fit")))?;
                let weights = mul(mul(mul(*kernel, *kernel)?, channels)?, *filters)?;
                (
                    "Conv2D",
                    vec![g.out_h, g.out_w, *filters],
                    weights.checked_add(*filters).ok_or_else(too_big)?,
                    0,
                )
            }
            LayerSpec::MaxPool { size, stride } => {
                if *size == 0 || *stride == 0 {
                    return Err(fail("size and stride must be at least 1".into()));
                }
                let [h, w, channels] = dims[..] else {
                    return Err(fail(format!("takes images [h, w, c], got shape {dims:?}")));
                };
                let g = ConvGeometry::new(h, w, channels, *size, *size, *stride, Padding::Same)
                    .ok_or_else(|| fail(format!("has a {size}x{size} window that does not fit")))?;
                ("MaxPooling2D", vec![g.out_h, g.out_w, channels], 0, 0)
            }
            LayerSpec::Flatten => {
                let len = dims
                    .iter()
                    .try_fold(1usize, |n, &d| n.checked_mul(d))
                    .ok_or_else(too_big)?;
                ("Flatten", vec![len], 0, 0)
            }
            LayerSpec::Relu => ("ReLU", dims.clone(), 0, 0),
            LayerSpec::LeakyRelu(_) => ("LeakyReLU", dims.clone(), 0, 0),
            LayerSpec::Sigmoid => ("Sigmoid", dims.clone(), 0, 0),
            LayerSpec::Tanh => ("Tanh", dims.clone(), 0, 0),
            LayerSpec::Dropout { rate, .. } => {
                if !(0.0..1.0).contains(rate) {
                    return Err(fail(format!("rate is the fraction dropped, in [0, 1), got {rate}")));
                }
                ("Dropout", dims.clone(), 0, 0)
            }
            LayerSpec::BatchNorm => {
                let features = dims.last().copied().unwrap_or(0);
                ("BatchNorm", dims.clone(), mul(2, features)?, mul(2, features)?)
            }
        };
        dims.clone_from(&output);
        out.push(LayerPlan {
            kind,
            output,
            params,
            non_trainable,
        });
    }
    Ok(out)
}

/// Trainable parameters of a plan, and the untrained scalars kept with
/// them; `None` past `usize`.
pub fn counts(plan: &[LayerPlan]) -> Option<(usize, usize)> {
    plan.iter().try_fold((0usize, 0usize), |(p, n), l| {
        Some((p.checked_add(l.params)?, n.checked_add(l.non_trainable)?))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Init;
    use crate::layer_spec::parse;

    /// A typo of a few zeros is counted, not allocated: 3.1 million million
    /// parameters, and one count past usize is an error, not a wrap.
    #[test]
    fn huge_models_are_counted_without_allocating() {
        let layers = parse("dense(1000000000) dense(10)", &Init::Zeros, &Init::Zeros).unwrap();
        let planned = plan(&[784], &layers).unwrap();
        assert_eq!(
            counts(&planned),
            Some((784_000_000_000 + 1_000_000_000 + 10_000_000_010, 0))
        );
        let layers = parse("dense(4294967296) dense(4294967296)", &Init::Zeros, &Init::Zeros).unwrap();
        let err = plan(&[784], &layers).unwrap_err().to_string();
        assert!(
            err.contains("layer 1 (dense(4294967296))") && err.contains("more parameters than this machine can count"),
            "{err}"
        );
    }
}
