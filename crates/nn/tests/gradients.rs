//! Every layer's backward pass against central differences of its forward
//! pass, on random shapes and inputs.

use mnist_nn::gradcheck::{Tolerance, check_layer};
use mnist_nn::{
    BatchNorm, Conv2d, Dense, Dropout, DropoutKind, Flatten, Init, Layer, LeakyRelu, MaxPool2d, Padding, Relu, Sigmoid,
    SigmoidBinaryCrossEntropy, SoftmaxCrossEntropy, Tanh,
};
use proptest::prelude::*;
use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;
use tensor::{Shape, Tensor};

/// f32 forward passes and a step of 1e-2 give central differences good to
/// about 1e-3 relative on these magnitudes; a wrong gradient is off by O(1).
const TOL: Tolerance = Tolerance { abs: 2e-3, rel: 2e-2 };
const EPS: f32 = 1e-2;

fn values(len: usize, seed: u64, lo: f32, hi: f32) -> Vec<f32> {
    use rand::RngExt;
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    (0..len).map(|_| rng.random_range(lo..hi)).collect()
}

/// Values away from 0 by more than the finite-difference step, so that no
/// difference straddles ReLU's kink.
fn away_from_zero(len: usize, seed: u64) -> Vec<f32> {
    values(len, seed, 0.05, 2.0)
        .into_iter()
        .enumerate()
        .map(|(i, v)| if (i as u64 ^ seed).is_multiple_of(2) { v } else { -v })
        .collect()
}

fn check(layer: &mut dyn Layer, x: Vec<f32>, dims: &[usize], seed: u64) -> Result<(), TestCaseError> {
    let x = Tensor::from_vec(Shape::new(dims), x);
    let mut out = Tensor::default();
    layer.forward(&x, &mut out, mnist_nn::Mode::Train);
    let r = values(out.len(), seed ^ 0xabc, -1.0, 1.0);
    check_layer(layer, &x, &r, EPS, TOL).map_err(|m| TestCaseError::fail(format!("{m:?}")))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn dense(batch in 1usize..6, inputs in 1usize..9, outputs in 1usize..9, seed in any::<u64>()) {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
        let init = Init::Normal { mean: 0.0, std: 0.5 };
        let mut layer = Dense::new(inputs, outputs, &init, &init, &mut rng);
        check(&mut layer, values(batch * inputs, seed, -1.0, 1.0), &[batch, inputs], seed)?;
    }

    #[test]
    fn relu(batch in 1usize..6, width in 1usize..12, seed in any::<u64>()) {
        check(&mut Relu, away_from_zero(batch * width, seed), &[batch, width], seed)?;
    }

    #[test]
    fn sigmoid(batch in 1usize..6, width in 1usize..12, seed in any::<u64>()) {
        check(&mut Sigmoid, values(batch * width, seed, -4.0, 4.0), &[batch, width], seed)?;
    }

    /// Training mode: batch statistics, so every output depends on every
    /// input of its feature. Batches of 3 or more, spread out: with one
    /// example the output is beta whatever the input, and when a feature's
    /// values nearly coincide its normalisation turns too sharply for a
    /// finite difference to follow.
    #[test]
    fn batch_norm(batch in 3usize..7, features in 1usize..6, seed in any::<u64>()) {
        let mut layer = BatchNorm::new(features, 0.9, 1e-5);
        let gamma_beta = values(2 * features, seed ^ 7, 0.5, 1.5);
        let mut k = 0;
        layer.visit_params(&mut |p| {
            p.value.copy_from_slice(&gamma_beta[k * features..(k + 1) * features]);
            k += 1;
        });
        // Each feature's values a unit apart plus noise: a spread batch, where
        // the normalisation is smooth at the scale of the finite difference.
        let noise = values(batch * features, seed, -0.25, 0.25);
        let x = (0..batch * features).map(|i| (i / features) as f32 - batch as f32 / 2.0 + noise[i]).collect();
        check(&mut layer, x, &[batch, features], seed)?;
    }

    #[test]
    fn conv2d(
        batch in 1usize..3, h in 3usize..7, w in 3usize..7, c in 1usize..3, filters in 1usize..4,
        kernel in 1usize..4, stride in 1usize..3, same in any::<bool>(), seed in any::<u64>(),
    ) {
        let padding = if same { Padding::Same } else { Padding::Valid };
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
        let init = Init::Normal { mean: 0.0, std: 0.5 };
        let mut layer = Conv2d::new(c, filters, kernel, stride, padding, &init, &init, &mut rng);
        check(&mut layer, values(batch * h * w * c, seed, -1.0, 1.0), &[batch, h, w, c], seed)?;
    }

    /// Distinct values a step apart, so that no finite difference changes
    /// which input wins a window.
    #[test]
    fn max_pool(batch in 1usize..3, h in 2usize..7, w in 2usize..7, c in 1usize..3, same in any::<bool>(), seed in any::<u64>()) {
        let padding = if same { Padding::Same } else { Padding::Valid };
        let n = batch * h * w * c;
        let mut order: Vec<usize> = (0..n).collect();
        use rand::seq::SliceRandom;
        order.shuffle(&mut Xoshiro256PlusPlus::seed_from_u64(seed));
        let x = order.iter().map(|&i| i as f32 * 0.1 - 1.0).collect();
        check(&mut MaxPool2d::new(2, 2, padding), x, &[batch, h, w, c], seed)?;
    }

    #[test]
    fn flatten(batch in 1usize..3, h in 1usize..4, w in 1usize..4, c in 1usize..3, seed in any::<u64>()) {
        check(&mut Flatten, values(batch * h * w * c, seed, -1.0, 1.0), &[batch, h, w, c], seed)?;
    }

    /// Over the channels of images: statistics over batch, height and width.
    #[test]
    fn batch_norm_over_channels(batch in 1usize..3, h in 1usize..4, w in 2usize..4, channels in 1usize..4, seed in any::<u64>()) {
        let mut layer = BatchNorm::new(channels, 0.9, 1e-5);
        let samples = batch * h * w;
        let noise = values(samples * channels, seed, -0.25, 0.25);
        // Each channel's samples a unit apart plus noise, as for dense batch norm.
        let x = (0..samples * channels).map(|i| (i / channels) as f32 - samples as f32 / 2.0 + noise[i]).collect();
        check(&mut layer, x, &[batch, h, w, channels], seed)?;
    }

    #[test]
    fn tanh(batch in 1usize..6, width in 1usize..12, seed in any::<u64>()) {
        check(&mut Tanh, values(batch * width, seed, -3.0, 3.0), &[batch, width], seed)?;
    }

    #[test]
    fn leaky_relu(batch in 1usize..6, width in 1usize..12, slope in 0.0f32..0.5, seed in any::<u64>()) {
        check(&mut LeakyRelu { slope }, away_from_zero(batch * width, seed), &[batch, width], seed)?;
    }

    /// Train mode with a fixed mask, for both kinds of dropout.
    #[test]
    fn dropout(batch in 1usize..6, width in 1usize..12, keep in 0.2f32..1.0, inverted in any::<bool>(), seed in any::<u64>()) {
        let kind = if inverted { DropoutKind::Inverted } else { DropoutKind::ScaledAtTest };
        let mut layer = Dropout::new(keep, kind, seed);
        let mask: Vec<bool> = values(batch * width, seed ^ 2, 0.0, 1.0).iter().map(|&u| u < keep).collect();
        layer.fix_mask(&mask);
        check(&mut layer, values(batch * width, seed, -2.0, 2.0), &[batch, width], seed)?;
    }

    #[test]
    fn sigmoid_binary_cross_entropy(batch in 1usize..6, outputs in 1usize..4, seed in any::<u64>()) {
        let shape = Shape::new(&[batch, outputs]);
        let targets = Tensor::from_vec(shape.clone(), values(batch * outputs, seed ^ 5, 0.0, 1.0));
        let mut loss = SigmoidBinaryCrossEntropy::new();
        check_loss(values(batch * outputs, seed, -4.0, 4.0), &shape, |z, grad| {
            let value = loss.forward(z, &targets).unwrap();
            if let Some(grad) = grad {
                loss.backward(&targets, grad);
            }
            value
        })?;
    }

    #[test]
    fn softmax_cross_entropy(batch in 1usize..6, classes in 2usize..12, seed in any::<u64>()) {
        let labels: Vec<u8> = values(batch, seed ^ 1, 0.0, classes as f32).iter().map(|&v| v as u8).collect();
        let mut loss = SoftmaxCrossEntropy::new();
        check_loss(values(batch * classes, seed, -3.0, 3.0), &Shape::new(&[batch, classes]), |z, grad| {
            let value = loss.forward(z, &labels).unwrap();
            if let Some(grad) = grad {
                loss.backward(&labels, grad);
            }
            value
        })?;
    }
}

/// A loss's gradient with respect to its logits against central
/// differences. `loss(z, grad)` returns the loss at `z` and, when given a
/// tensor, writes the gradient there.
fn check_loss(
    logits: Vec<f32>,
    shape: &Shape,
    mut loss: impl FnMut(&Tensor, Option<&mut Tensor>) -> f32,
) -> Result<(), TestCaseError> {
    let mut grad = Tensor::default();
    loss(&Tensor::from_vec(shape.clone(), logits.clone()), Some(&mut grad));
    for i in 0..logits.len() {
        let mut at = |delta: f32| {
            let mut z = logits.clone();
            z[i] += delta;
            loss(&Tensor::from_vec(shape.clone(), z), None) as f64
        };
        let numerical = (at(EPS) - at(-EPS)) / (2.0 * EPS as f64);
        let analytic = grad.data()[i] as f64;
        prop_assert!(
            (analytic - numerical).abs() <= TOL.abs + TOL.rel * analytic.abs().max(numerical.abs()),
            "logit {i}: analytic {analytic}, numerical {numerical}"
        );
    }
    Ok(())
}

/// The check itself must catch a wrong backward pass: a Dense layer whose
/// reported weight gradient is doubled has to fail.
#[test]
fn the_check_catches_a_wrong_gradient() {
    struct Doubled(Dense);
    impl Layer for Doubled {
        fn kind(&self) -> &'static str {
            "Doubled"
        }
        fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>, String> {
            self.0.output_shape(input)
        }
        fn forward(&mut self, x: &Tensor, y: &mut Tensor, mode: mnist_nn::Mode) {
            self.0.forward(x, y, mode)
        }
        fn backward(&mut self, x: &Tensor, y: &Tensor, dy: &Tensor, dx: Option<&mut Tensor>) {
            self.0.backward(x, y, dy, dx);
            self.0.visit_params(&mut |p| p.grad.iter_mut().for_each(|g| *g *= 2.0));
        }
        fn visit_params(&mut self, f: &mut dyn FnMut(mnist_nn::ParamMut<'_>)) {
            self.0.visit_params(f)
        }
    }
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(3);
    let init = Init::Normal { mean: 0.0, std: 0.5 };
    let mut layer = Doubled(Dense::new(3, 2, &init, &init, &mut rng));
    let x = Tensor::from_vec(Shape::new(&[2, 3]), values(6, 1, -1.0, 1.0));
    let err = check_layer(&mut layer, &x, &values(4, 2, -1.0, 1.0), EPS, TOL).unwrap_err();
    assert_eq!(err.what, "weight");
}

/// A whole network, as the NumPy course checks it: every parameter gradient
/// of Dense-ReLU-Dense-Sigmoid-Dense with softmax cross-entropy, from one
/// backward pass, against central differences of the mean loss.
#[test]
fn whole_network_against_numerical_gradient() {
    use mnist_nn::{Mode, Sequential};
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(11);
    let init = Init::Normal { mean: 0.0, std: 0.7 };
    let mut model = Sequential::new(Shape::new(&[5]));
    model.push(Dense::new(5, 7, &init, &init, &mut rng)).unwrap();
    model.push(Relu).unwrap();
    model.push(Dense::new(7, 6, &init, &init, &mut rng)).unwrap();
    model.push(Sigmoid).unwrap();
    model.push(Dense::new(6, 4, &init, &init, &mut rng)).unwrap();
    let x = Tensor::from_vec(Shape::new(&[3, 5]), values(15, 5, -1.0, 1.0));
    let labels = [2u8, 0, 3];
    let mut loss = SoftmaxCrossEntropy::new();

    let logits = model.forward(&x, Mode::Train).unwrap();
    loss.forward(logits, &labels).unwrap();
    let mut dz = Tensor::default();
    loss.backward(&labels, &mut dz);
    model.backward(&x, &dz);
    let mut analytic: Vec<Vec<f32>> = Vec::new();
    model.visit_params(&mut |p| analytic.push(p.grad.to_vec()));
    assert_eq!(analytic.len(), 6);

    let mut loss_with = |slot: usize, i: usize, value: Option<f32>| -> (f32, f64) {
        let mut k = 0;
        let mut old = 0.0;
        model.visit_params(&mut |p| {
            if k == slot {
                old = p.value[i];
                if let Some(v) = value {
                    p.value[i] = v;
                }
            }
            k += 1;
        });
        let logits = model.forward(&x, Mode::Train).unwrap();
        (old, loss.forward(logits, &labels).unwrap() as f64)
    };
    let mut checked = 0;
    for (slot, grad) in analytic.iter().enumerate() {
        for (i, &g) in grad.iter().enumerate() {
            let (orig, _) = loss_with(slot, i, None);
            let (_, plus) = loss_with(slot, i, Some(orig + EPS));
            let (_, minus) = loss_with(slot, i, Some(orig - EPS));
            loss_with(slot, i, Some(orig));
            let numerical = (plus - minus) / (2.0 * EPS as f64);
            let g = g as f64;
            assert!(
                (g - numerical).abs() <= TOL.abs + TOL.rel * g.abs().max(numerical.abs()),
                "parameter {slot}[{i}]: analytic {g}, numerical {numerical}"
            );
            checked += 1;
        }
    }
    assert_eq!(checked, model.param_count());
}
