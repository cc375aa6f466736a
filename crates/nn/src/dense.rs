//! The affine layer `y = x W + b`.
//!
//! Shapes: x `[batch, inputs]`, W `[inputs, outputs]` (TensorFlow's layout,
//! so a row of x multiplies W directly), b `[outputs]`, y `[batch, outputs]`.
//!
//! Backward, with dy `[batch, outputs]`:
//! - dW = xᵀ dy   `[inputs, outputs]`
//! - db = Σ_batch dy
//! - dx = dy Wᵀ   `[batch, inputs]`
//!
//! The transposes are the GEMM's job: nothing is copied or transposed here.

use kernels::{MatMut, MatRef, sgemm, vector};
use rand::Rng;
use tensor::{Shape, Tensor};

use crate::{Init, Layer, Mode, ParamMut};

/// A fully connected layer.
#[derive(Clone, Debug)]
pub struct Dense {
    inputs: usize,
    outputs: usize,
    weight: Tensor,
    bias: Tensor,
    weight_grad: Tensor,
    bias_grad: Tensor,
}

impl Dense {
    /// A layer from `inputs` to `outputs` features, its weights and biases
    /// drawn from `weight_init` and `bias_init` (weights first).
    pub fn new<R: Rng + ?Sized>(
        inputs: usize,
        outputs: usize,
        weight_init: &Init,
        bias_init: &Init,
        rng: &mut R,
    ) -> Self {
        let mut weight = Tensor::zeros(Shape::matrix(inputs, outputs));
        let mut bias = Tensor::zeros(Shape::new(&[outputs]));
        weight_init.fill(weight.data_mut(), inputs, outputs, rng);
        bias_init.fill(bias.data_mut(), inputs, outputs, rng);
        Self::from_parts(weight, bias)
    }

    /// A layer with the given weights `[inputs, outputs]` and bias `[outputs]`.
    ///
    /// # Panics
    /// If the shapes do not fit together.
    pub fn from_parts(weight: Tensor, bias: Tensor) -> Self {
        let &[inputs, outputs] = weight.shape().dims() else {
            panic!("Dense weight must be [inputs, outputs], got {}", weight.shape());
        };
        assert_eq!(bias.shape().dims(), &[outputs], "Dense bias must be [{outputs}]");
        Self {
            inputs,
            outputs,
            weight_grad: Tensor::zeros(weight.shape().clone()),
            bias_grad: Tensor::zeros(bias.shape().clone()),
            weight,
            bias,
        }
    }

    /// The weights, `[inputs, outputs]`.
    pub fn weight(&self) -> &Tensor {
        &self.weight
    }

    /// The bias, `[outputs]`.
    pub fn bias(&self) -> &Tensor {
        &self.bias
    }
}

impl Layer for Dense {
    fn kind(&self) -> &'static str {
        "Dense"
    }

    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>, String> {
        if input == [self.inputs] {
            Ok(vec![self.outputs])
        } else {
            Err(format!("takes [{}] features per example", self.inputs))
        }
    }

    fn forward(&mut self, input: &Tensor, output: &mut Tensor, _mode: Mode) {
        let batch = input.rows();
        output.set_dims(&[batch, self.outputs]);
        // y = b, then y += x W: the bias costs one pass and no extra buffer.
        vector::broadcast_rows(output.data_mut(), self.bias.data());
        let x = MatRef::new(input.data(), batch, self.inputs);
        let w = MatRef::new(self.weight.data(), self.inputs, self.outputs);
        sgemm(1.0, x, w, 1.0, MatMut::new(output.data_mut(), batch, self.outputs));
    }

    fn backward(&mut self, input: &Tensor, _output: &Tensor, grad_output: &Tensor, grad_input: Option<&mut Tensor>) {
        let batch = input.rows();
        let x = MatRef::new(input.data(), batch, self.inputs);
        let dy = MatRef::new(grad_output.data(), batch, self.outputs);
        let w = MatRef::new(self.weight.data(), self.inputs, self.outputs);
        // dW = xᵀ dy
        let dw = MatMut::new(self.weight_grad.data_mut(), self.inputs, self.outputs);
        sgemm(1.0, x.t(), dy, 0.0, dw);
        // db = Σ dy over the batch
        vector::sum_rows(dy.data(), self.bias_grad.data_mut());
        if let Some(dx) = grad_input {
            dx.set_dims(&[batch, self.inputs]);
            // dx = dy Wᵀ
            sgemm(1.0, dy, w.t(), 0.0, MatMut::new(dx.data_mut(), batch, self.inputs));
        }
    }

    fn visit_params(&mut self, f: &mut dyn FnMut(ParamMut<'_>)) {
        ParamMut::weight_and_bias(
            f,
            &mut self.weight,
            &mut self.weight_grad,
            &mut self.bias,
            &mut self.bias_grad,
        );
    }

    fn param_count(&self) -> usize {
        self.weight.len() + self.bias.len()
    }
}
