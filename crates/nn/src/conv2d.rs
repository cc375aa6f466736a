//! 2-D convolution, lowered to a matrix product.
//!
//! Shapes (NHWC): x `[batch, h, w, c]`, W `[kh, kw, c, filters]`
//! (TensorFlow's HWIO), b `[filters]`, y `[batch, oh, ow, filters]`.
//!
//! Forward: cols = im2col(x) `[batch·oh·ow, kh·kw·c]`, y = cols W + b.
//! Backward, with dy `[batch·oh·ow, filters]`:
//! - dW = colsᵀ dy, db = Σ dy over positions,
//! - dx = col2im(dy Wᵀ).

use kernels::conv::{ConvGeometry, Padding, col2im, im2col};
use kernels::{Transpose, sgemm, vector};
use rand::Rng;
use tensor::{Shape, Tensor};

use crate::{Init, Layer, Mode, ParamMut};

/// A convolution layer.
#[derive(Clone, Debug)]
pub struct Conv2d {
    in_channels: usize,
    filters: usize,
    kernel: usize,
    stride: usize,
    padding: Padding,
    weight: Tensor,
    bias: Tensor,
    weight_grad: Tensor,
    bias_grad: Tensor,
    /// im2col of the last training input, kept for the weight gradient.
    cols: Vec<f32>,
    dcols: Vec<f32>,
}

impl Conv2d {
    /// `filters` square `kernel x kernel` filters over `in_channels`
    /// channels, with `stride` and `padding`; weights and biases drawn from
    /// `weight_init` and `bias_init` (fan in `k·k·c`, fan out `k·k·filters`,
    /// as Keras counts them).
    #[allow(clippy::too_many_arguments)]
    pub fn new<R: Rng + ?Sized>(
        in_channels: usize,
        filters: usize,
        kernel: usize,
        stride: usize,
        padding: Padding,
        weight_init: &Init,
        bias_init: &Init,
        rng: &mut R,
    ) -> Self {
        let mut weight = Tensor::zeros(Shape::new(&[kernel, kernel, in_channels, filters]));
        let mut bias = Tensor::zeros(Shape::new(&[filters]));
        let (fan_in, fan_out) = (kernel * kernel * in_channels, kernel * kernel * filters);
        weight_init.fill(weight.data_mut(), fan_in, fan_out, rng);
        bias_init.fill(bias.data_mut(), fan_in, fan_out, rng);
        Self {
            in_channels,
            filters,
            kernel,
            stride: stride.max(1),
            padding,
            weight_grad: Tensor::zeros(weight.shape().clone()),
            bias_grad: Tensor::zeros(bias.shape().clone()),
            weight,
            bias,
            cols: Vec::new(),
            dcols: Vec::new(),
        }
    }

    fn geometry(&self, input: &[usize]) -> Result<ConvGeometry, String> {
        let &[h, w, c] = input else {
            return Err("takes images [height, width, channels]".into());
        };
        if c != self.in_channels {
            return Err(format!("takes {} channels", self.in_channels));
        }
        ConvGeometry::new(h, w, c, self.kernel, self.kernel, self.stride, self.padding)
            .ok_or_else(|| format!("has a {0}x{0} kernel that does not fit", self.kernel))
    }

    fn geometry_of(&self, x: &Tensor) -> ConvGeometry {
        self.geometry(&x.shape().dims()[1..])
            .expect("Sequential checked the input shape")
    }
}

impl Layer for Conv2d {
    fn kind(&self) -> &'static str {
        "Conv2D"
    }

    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>, String> {
        let g = self.geometry(input)?;
        Ok(vec![g.out_h, g.out_w, self.filters])
    }

    fn forward(&mut self, input: &Tensor, output: &mut Tensor, _mode: Mode) {
        let g = self.geometry_of(input);
        let batch = input.rows();
        let rows = batch * g.positions();
        self.cols.resize(rows * g.patch_len(), 0.0);
        im2col(&g, batch, input.data(), &mut self.cols);
        output.set_dims(&[batch, g.out_h, g.out_w, self.filters]);
        vector::broadcast_rows(output.data_mut(), self.bias.data());
        sgemm(
            Transpose::No,
            Transpose::No,
            rows,
            self.filters,
            g.patch_len(),
            1.0,
            &self.cols,
            g.patch_len(),
            self.weight.data(),
            self.filters,
            1.0,
            output.data_mut(),
            self.filters,
        );
    }

    fn backward(&mut self, input: &Tensor, _output: &Tensor, grad_output: &Tensor, grad_input: Option<&mut Tensor>) {
        let g = self.geometry_of(input);
        let batch = input.rows();
        let (rows, patch) = (batch * g.positions(), g.patch_len());
        let dy = grad_output.data();
        sgemm(
            Transpose::Yes,
            Transpose::No,
            patch,
            self.filters,
            rows,
            1.0,
            &self.cols,
            patch,
            dy,
            self.filters,
            0.0,
            self.weight_grad.data_mut(),
            self.filters,
        );
        vector::sum_rows(dy, self.bias_grad.data_mut());
        if let Some(dx) = grad_input {
            self.dcols.resize(rows * patch, 0.0);
            sgemm(
                Transpose::No,
                Transpose::Yes,
                rows,
                patch,
                self.filters,
                1.0,
                dy,
                self.filters,
                self.weight.data(),
                self.filters,
                0.0,
                &mut self.dcols,
                patch,
            );
            dx.set_dims(input.shape().dims());
            col2im(&g, batch, &self.dcols, dx.data_mut());
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
