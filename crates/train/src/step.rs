//! One training step: the model's gradients (`nn`), then the optimiser's
//! update of each parameter from them (`optim`). Here, so that `nn` knows
//! layers and `optim` knows slices and neither knows the other.

use nn::{Classifier, NnError, Sequential};
use optim::Optimizer;
use tensor::Tensor;

/// One step of training on the batch `x` with `labels`: forward, loss,
/// backward ([`Classifier::compute_gradients`]), the gradients clipped to
/// the global norm `clip_norm` if one is given ([`clip_gradients`]), then
/// [`update`]. Returns the batch's mean loss before the update.
pub fn train_step(
    net: &mut Classifier,
    x: &Tensor,
    labels: &[u8],
    optimizer: &mut dyn Optimizer,
    clip_norm: Option<f32>,
) -> Result<f32, NnError> {
    let loss = net.compute_gradients(x, labels)?;
    if let Some(max_norm) = clip_norm {
        clip_gradients(&mut net.model, max_norm);
    }
    update(&mut net.model, optimizer);
    Ok(loss)
}

/// Applies one optimiser step to every parameter of `model` from its
/// gradient. Parameters are the optimiser's slots in layer order, so its
/// state lines up with the same model however often it is rebuilt.
pub fn update(model: &mut Sequential, optimizer: &mut dyn Optimizer) {
    optimizer.begin_step();
    let mut slot = 0;
    model.visit_params(&mut |p| {
        optimizer.update(slot, p.value, p.grad);
        slot += 1;
    });
}

/// Scales every gradient of `model` by `max_norm / norm` when `norm`, the
/// L2 norm of all its gradients together, exceeds `max_norm`, and returns
/// `norm`. The squares are summed in f64, in parameter order, on one
/// thread: the same bits on any number of threads and any CPU.
pub fn clip_gradients(model: &mut Sequential, max_norm: f32) -> f64 {
    let mut sum = 0.0f64;
    model.visit_params(&mut |p| {
        for &g in p.grad.iter() {
            sum += g as f64 * g as f64;
        }
    });
    let norm = sum.sqrt();
    if norm > max_norm as f64 {
        let scale = (max_norm as f64 / norm) as f32;
        model.visit_params(&mut |p| {
            for g in p.grad.iter_mut() {
                *g *= scale;
            }
        });
    }
    norm
}

#[cfg(test)]
mod tests {
    use super::*;
    use nn::{Dense, Init};
    use optim::GradientDescent;
    use rand::SeedableRng;
    use tensor::Shape;

    /// A step moves every parameter by -lr times its gradient, weight
    /// decay's share included: with a zero input the weights' data
    /// gradient is zero, so W <- W - lr λ W and the biases move by the
    /// data gradient only.
    #[test]
    fn a_step_applies_the_gradients_weight_decay_included() {
        let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(1);
        let mut model = Sequential::new(Shape::new(&[3]));
        model
            .push(Dense::new(3, 2, &Init::Constant(0.5), &Init::Zeros, &mut rng))
            .unwrap();
        let mut net = Classifier::new(model);
        net.weight_decay = 0.1;
        let x = Tensor::zeros(Shape::new(&[1, 3]));
        train_step(&mut net, &x, &[1], &mut GradientDescent::new(1.0), None).unwrap();
        let mut values = Vec::new();
        net.model.visit_params(&mut |p| values.push(p.value.to_vec()));
        assert!(values[0].iter().all(|&w| (w - 0.45).abs() < 1e-7), "{:?}", values[0]);
        assert_eq!(values[1], vec![-0.5, 0.5]);
    }

    /// The global norm by hand: gradients (3, 4) and (12) have norm 13;
    /// clipped to 6.5 they halve; a norm under the bound leaves them alone.
    #[test]
    fn clipping_scales_all_gradients_to_the_bound() {
        let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(1);
        let mut model = Sequential::new(Shape::new(&[2]));
        model
            .push(Dense::new(2, 1, &Init::Zeros, &Init::Zeros, &mut rng))
            .unwrap();
        let set = |model: &mut Sequential| {
            let mut grads = [vec![3.0, 4.0], vec![12.0]].into_iter();
            model.visit_params(&mut |p| p.grad.copy_from_slice(&grads.next().unwrap()));
        };
        let grads = |model: &mut Sequential| {
            let mut out = Vec::new();
            model.visit_params(&mut |p| out.extend_from_slice(p.grad));
            out
        };
        set(&mut model);
        assert_eq!(clip_gradients(&mut model, 6.5), 13.0);
        assert_eq!(grads(&mut model), vec![1.5, 2.0, 6.0]);
        set(&mut model);
        assert_eq!(clip_gradients(&mut model, 13.5), 13.0);
        assert_eq!(grads(&mut model), vec![3.0, 4.0, 12.0]);
    }
}
