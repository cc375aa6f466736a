//! One training step: the model's gradients (`nn`), then the optimiser's
//! update of each parameter from them (`optim`). Here, so that `nn` knows
//! layers and `optim` knows slices and neither knows the other.

use nn::{Classifier, NnError, Sequential};
use optim::Optimizer;
use tensor::Tensor;

/// One step of training on the batch `x` with `labels`: forward, loss,
/// backward ([`Classifier::compute_gradients`]), then [`update`]. Returns
/// the batch's mean loss before the update.
pub fn train_step(
    net: &mut Classifier,
    x: &Tensor,
    labels: &[u8],
    optimizer: &mut dyn Optimizer,
) -> Result<f32, NnError> {
    let loss = net.compute_gradients(x, labels)?;
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
        train_step(&mut net, &x, &[1], &mut GradientDescent::new(1.0)).unwrap();
        let mut values = Vec::new();
        net.model.visit_params(&mut |p| values.push(p.value.to_vec()));
        assert!(values[0].iter().all(|&w| (w - 0.45).abs() < 1e-7), "{:?}", values[0]);
        assert_eq!(values[1], vec![-0.5, 0.5]);
    }
}
