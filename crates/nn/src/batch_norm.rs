//! Batch normalisation (Ioffe & Szegedy 2015): each feature is normalised
//! over the batch, then scaled and shifted by learned `gamma` and `beta`.
//!
//! Shapes: x `[batch, features]` after a dense layer, or `[batch, h, w,
//! channels]` after a convolution, where the features are the channels and
//! every position of every image counts in the batch statistics (as
//! TensorFlow's and Keras' batch norm over the last axis); y has x's
//! shape; gamma, beta `[features]`.
//!
//! Forward (training), per feature over the batch of N:
//!   mu = mean(x), var = mean((x - mu)²), xhat = (x - mu) / sqrt(var + eps),
//!   y = gamma xhat + beta;
//!   running_mean <- m running_mean + (1 - m) mu, likewise running_var.
//! Forward (evaluation): the running statistics stand in for mu and var.
//!
//! Backward, with dxhat = dy gamma:
//!   dgamma = Σ dy xhat, dbeta = Σ dy,
//!   dx = (N dxhat - Σ dxhat - xhat Σ (dxhat xhat)) / (N sqrt(var + eps)).

use kernels::normalize::{self, Then};
use tensor::{Shape, Tensor};

use crate::{Layer, Mode, ParamMut};

/// Batch normalisation over the features of dense activations.
#[derive(Clone, Debug)]
pub struct BatchNorm {
    features: usize,
    momentum: f32,
    epsilon: f32,
    gamma: Tensor,
    beta: Tensor,
    gamma_grad: Tensor,
    beta_grad: Tensor,
    running_mean: Vec<f32>,
    running_var: Vec<f32>,
    /// From the last training forward pass: the normalised input and
    /// 1 / sqrt(var + eps) per feature.
    xhat: Tensor,
    inv_std: Vec<f32>,
}

impl BatchNorm {
    /// Batch norm over `features`, with running averages updated as
    /// `m * old + (1 - m) * new` (`momentum` m: the NumPy course uses 0.9,
    /// Keras 0.99) and `epsilon` added to the variance (the course: 1e-7;
    /// Keras 1e-3). Gamma starts at 1, beta at 0, the running statistics at
    /// 0 and 1.
    pub fn new(features: usize, momentum: f32, epsilon: f32) -> Self {
        Self {
            features,
            momentum,
            epsilon,
            gamma: Tensor::full(Shape::new(&[features]), 1.0),
            beta: Tensor::zeros(Shape::new(&[features])),
            gamma_grad: Tensor::zeros(Shape::new(&[features])),
            beta_grad: Tensor::zeros(Shape::new(&[features])),
            running_mean: vec![0.0; features],
            running_var: vec![1.0; features],
            xhat: Tensor::default(),
            inv_std: vec![0.0; features],
        }
    }

    /// The running means and variances used in evaluation.
    pub fn running_stats(&self) -> (&[f32], &[f32]) {
        (&self.running_mean, &self.running_var)
    }

    /// This layer and a ReLU after it in one pass: `output` is the ReLU's
    /// output, with the bits of the two layers one after the other, and
    /// this layer's own output is never written (`normalize::Then`).
    pub fn forward_relu(&mut self, input: &Tensor, output: &mut Tensor, mode: Mode) {
        self.run_forward(input, output, mode, Then::Relu);
    }

    /// The backward pass of [`forward_relu`](Self::forward_relu):
    /// `grad_output` is the gradient at the ReLU's output, and
    /// `grad_input` gets the one at this layer's input, as the two layers'
    /// backward passes would give it.
    pub fn backward_relu(&mut self, input: &Tensor, grad_output: &Tensor, grad_input: Option<&mut Tensor>) {
        self.run_backward(input, grad_output, grad_input, Then::Relu);
    }

    fn run_forward(&mut self, input: &Tensor, output: &mut Tensor, mode: Mode, then: Then) {
        // Every position of every example is a sample of the features.
        let (n, d) = (input.len() / self.features, self.features);
        output.set_dims(input.shape().dims());
        let (gamma, beta) = (self.gamma.data(), self.beta.data());
        match mode {
            Mode::Train => {
                // Statistics in f64: a batch of 100 summed in f32 loses digits
                // that the gradient check (and long training) would notice.
                let mut mean = vec![0.0f64; d];
                let mut var = vec![0.0f64; d];
                normalize::add_columns(input.data(), &mut mean);
                mean.iter_mut().for_each(|m| *m /= n as f64);
                normalize::add_squared_deviations(input.data(), &mean, &mut var);
                var.iter_mut().for_each(|v| *v /= n as f64);
                for j in 0..d {
                    self.inv_std[j] = (1.0 / (var[j] + self.epsilon as f64).sqrt()) as f32;
                    let m = self.momentum;
                    self.running_mean[j] = m * self.running_mean[j] + (1.0 - m) * mean[j] as f32;
                    self.running_var[j] = m * self.running_var[j] + (1.0 - m) * var[j] as f32;
                }
                self.xhat.set_dims(input.shape().dims());
                normalize::normalize(
                    input.data(),
                    &mean,
                    &self.inv_std,
                    gamma,
                    beta,
                    then,
                    self.xhat.data_mut(),
                    output.data_mut(),
                );
            }
            Mode::Eval => {
                normalize::normalize_with(
                    input.data(),
                    &self.running_mean,
                    &self.running_var,
                    self.epsilon,
                    gamma,
                    beta,
                    then,
                    output.data_mut(),
                );
            }
        }
    }

    fn run_backward(&mut self, input: &Tensor, grad_output: &Tensor, grad_input: Option<&mut Tensor>, then: Then) {
        let (n, d) = (input.len() / self.features, self.features);
        let (gamma, beta) = (self.gamma.data(), self.beta.data());
        let mut sum_dxhat = vec![0.0f64; d];
        let mut sum_dxhat_xhat = vec![0.0f64; d];
        let (dgamma, dbeta) = (self.gamma_grad.data_mut(), self.beta_grad.data_mut());
        dgamma.fill(0.0);
        dbeta.fill(0.0);
        let (dy, xhat) = (grad_output.data(), self.xhat.data());
        normalize::backward_sums(
            dy,
            xhat,
            gamma,
            beta,
            then,
            dgamma,
            dbeta,
            &mut sum_dxhat,
            &mut sum_dxhat_xhat,
        );
        if let Some(dx) = grad_input {
            dx.set_dims(input.shape().dims());
            normalize::backward_input(
                dy,
                xhat,
                gamma,
                beta,
                then,
                &sum_dxhat,
                &sum_dxhat_xhat,
                &self.inv_std,
                n as f64,
                dx.data_mut(),
            );
        }
    }
}

impl Layer for BatchNorm {
    fn kind(&self) -> &'static str {
        "BatchNorm"
    }

    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>, String> {
        if input.last() == Some(&self.features) {
            Ok(input.to_vec())
        } else {
            Err(format!("normalises {} features (the last axis)", self.features))
        }
    }

    fn forward(&mut self, input: &Tensor, output: &mut Tensor, mode: Mode) {
        self.run_forward(input, output, mode, Then::Nothing);
    }

    fn backward(&mut self, input: &Tensor, _output: &Tensor, grad_output: &Tensor, grad_input: Option<&mut Tensor>) {
        self.run_backward(input, grad_output, grad_input, Then::Nothing);
    }

    fn visit_params(&mut self, f: &mut dyn FnMut(ParamMut<'_>)) {
        let (dims, value) = self.gamma.dims_and_data_mut();
        f(ParamMut {
            name: "gamma",
            dims,
            value,
            grad: self.gamma_grad.data_mut(),
            decays: false,
        });
        let (dims, value) = self.beta.dims_and_data_mut();
        f(ParamMut {
            name: "beta",
            dims,
            value,
            grad: self.beta_grad.data_mut(),
            decays: false,
        });
    }

    fn visit_state(&mut self, f: &mut dyn FnMut(&'static str, &mut [f32])) {
        f("running_mean", &mut self.running_mean);
        f("running_var", &mut self.running_var);
    }

    fn param_count(&self) -> usize {
        2 * self.features
    }

    fn as_any_mut(&mut self) -> Option<&mut dyn std::any::Any> {
        Some(self)
    }

    fn non_trainable_count(&self) -> usize {
        2 * self.features
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_in_training_and_uses_running_stats_in_evaluation() {
        let mut bn = BatchNorm::new(2, 0.0, 1e-7);
        let x = Tensor::from_vec(Shape::new(&[4, 2]), vec![1.0, 10.0, 2.0, 20.0, 3.0, 30.0, 4.0, 40.0]);
        let mut y = Tensor::default();
        bn.forward(&x, &mut y, Mode::Train);
        for j in 0..2 {
            let col: Vec<f32> = (0..4).map(|i| y.data()[2 * i + j]).collect();
            let mean = col.iter().sum::<f32>() / 4.0;
            let var = col.iter().map(|v| (v - mean).powi(2)).sum::<f32>() / 4.0;
            assert!(
                mean.abs() < 1e-6 && (var - 1.0).abs() < 1e-5,
                "feature {j}: {mean} {var}"
            );
        }
        // Momentum 0: the running statistics are this batch's, so evaluation
        // on the same batch gives the same output.
        let mut z = Tensor::default();
        bn.forward(&x, &mut z, Mode::Eval);
        for (a, b) in y.data().iter().zip(z.data()) {
            assert!((a - b).abs() < 1e-5);
        }
    }
}
