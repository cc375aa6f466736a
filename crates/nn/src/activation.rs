//! Elementwise activations. Each keeps nothing between passes: backward
//! needs only the forward output, which the model hands back.

use kernels::activation as k;
use tensor::Tensor;

use crate::{Layer, Mode};

/// `y = max(x, 0)`; `dx = dy` where `y > 0`. Any shape.
#[derive(Clone, Copy, Debug, Default)]
pub struct Relu;

impl Layer for Relu {
    fn kind(&self) -> &'static str {
        "ReLU"
    }

    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>, String> {
        Ok(input.to_vec())
    }

    fn forward(&mut self, input: &Tensor, output: &mut Tensor, _mode: Mode) {
        output.set_dims(input.shape().dims());
        k::relu_forward(input.data(), output.data_mut());
    }

    fn backward(&mut self, _input: &Tensor, output: &Tensor, grad_output: &Tensor, grad_input: Option<&mut Tensor>) {
        if let Some(dx) = grad_input {
            dx.set_dims(output.shape().dims());
            k::relu_backward(output.data(), grad_output.data(), dx.data_mut());
        }
    }

    fn as_any_mut(&mut self) -> Option<&mut dyn std::any::Any> {
        Some(self)
    }
}

/// `y = 1 / (1 + e^-x)`; `dx = dy y (1 - y)`. Any shape.
#[derive(Clone, Copy, Debug, Default)]
pub struct Sigmoid;

impl Layer for Sigmoid {
    fn kind(&self) -> &'static str {
        "Sigmoid"
    }

    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>, String> {
        Ok(input.to_vec())
    }

    fn forward(&mut self, input: &Tensor, output: &mut Tensor, _mode: Mode) {
        output.set_dims(input.shape().dims());
        k::sigmoid_forward(input.data(), output.data_mut());
    }

    fn backward(&mut self, _input: &Tensor, output: &Tensor, grad_output: &Tensor, grad_input: Option<&mut Tensor>) {
        if let Some(dx) = grad_input {
            dx.set_dims(output.shape().dims());
            k::sigmoid_backward(output.data(), grad_output.data(), dx.data_mut());
        }
    }
}

/// `y = tanh(x)`; `dx = dy (1 - y²)`. Any shape.
#[derive(Clone, Copy, Debug, Default)]
pub struct Tanh;

impl Layer for Tanh {
    fn kind(&self) -> &'static str {
        "Tanh"
    }

    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>, String> {
        Ok(input.to_vec())
    }

    fn forward(&mut self, input: &Tensor, output: &mut Tensor, _mode: Mode) {
        output.set_dims(input.shape().dims());
        k::tanh_forward(input.data(), output.data_mut());
    }

    fn backward(&mut self, _input: &Tensor, output: &Tensor, grad_output: &Tensor, grad_input: Option<&mut Tensor>) {
        if let Some(dx) = grad_input {
            dx.set_dims(output.shape().dims());
            k::tanh_backward(output.data(), grad_output.data(), dx.data_mut());
        }
    }
}

/// `y = x` for `x > 0`, else `slope x`; `dx = dy` or `slope dy`. Any shape.
#[derive(Clone, Copy, Debug)]
pub struct LeakyRelu {
    /// The slope for negative inputs (Keras' default is 0.3, PyTorch's 0.01).
    pub slope: f32,
}

impl Layer for LeakyRelu {
    fn kind(&self) -> &'static str {
        "LeakyReLU"
    }

    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>, String> {
        Ok(input.to_vec())
    }

    fn forward(&mut self, input: &Tensor, output: &mut Tensor, _mode: Mode) {
        output.set_dims(input.shape().dims());
        k::leaky_relu_forward(input.data(), output.data_mut(), self.slope);
    }

    fn backward(&mut self, input: &Tensor, _output: &Tensor, grad_output: &Tensor, grad_input: Option<&mut Tensor>) {
        if let Some(dx) = grad_input {
            dx.set_dims(input.shape().dims());
            k::leaky_relu_backward(input.data(), grad_output.data(), dx.data_mut(), self.slope);
        }
    }
}
