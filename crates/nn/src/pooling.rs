//! Max pooling and flattening.
//!
//! MaxPool2d — x `[batch, h, w, c]` to y `[batch, oh, ow, c]`: each output
//! is the largest input of its window; backward routes each output's
//! gradient to that input (remembered as an index).
//!
//! Flatten — `[batch, h, w, c]` to `[batch, h·w·c]` in NHWC order, which is
//! the order of TensorFlow's `reshape(x, [-1, h*w*c])`.

use kernels::conv::{ConvGeometry, Padding};
use kernels::pool::{max_pool_backward_windows, max_pool_forward};
use tensor::Tensor;

use crate::{Layer, Mode};

/// Max pooling over square windows.
#[derive(Clone, Debug)]
pub struct MaxPool2d {
    window: usize,
    stride: usize,
    padding: Padding,
    argmax: Vec<u32>,
}

impl MaxPool2d {
    /// Pooling over `window x window` windows moved by `stride`.
    pub fn new(window: usize, stride: usize, padding: Padding) -> Self {
        Self {
            window,
            stride: stride.max(1),
            padding,
            argmax: Vec::new(),
        }
    }

    /// True when this pooling takes `input` (per example) in 2x2 windows of
    /// stride 2 that tile it exactly, as
    /// [`conv_direct::forward_pooled`](kernels::conv_direct::forward_pooled)
    /// pools.
    pub fn tiles_in_twos(&self, input: &[usize]) -> bool {
        self.geometry(input)
            .is_ok_and(|g| kernels::pool::tiles_exactly_in_twos(&g))
    }

    /// The geometry of this pooling over `input` (per example), which
    /// the model has checked it takes.
    pub(crate) fn geometry_after(&self, input: &[usize]) -> ConvGeometry {
        self.geometry(input).expect("Sequential checked the input shape")
    }

    /// The indices of the maxima, for a pass that pools in this layer's
    /// stead, sized for `len` outputs.
    pub(crate) fn argmax_for(&mut self, len: usize) -> &mut [u32] {
        self.argmax.resize(len, 0);
        &mut self.argmax
    }

    /// The indices of the last forward pass's maxima.
    pub(crate) fn argmax(&self) -> &[u32] {
        &self.argmax
    }

    fn geometry(&self, input: &[usize]) -> Result<ConvGeometry, String> {
        let &[h, w, c] = input else {
            return Err("takes images [height, width, channels]".into());
        };
        ConvGeometry::new(h, w, c, self.window, self.window, self.stride, self.padding)
            .ok_or_else(|| format!("has a {0}x{0} window that does not fit", self.window))
    }
}

impl Layer for MaxPool2d {
    fn kind(&self) -> &'static str {
        "MaxPooling2D"
    }

    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>, String> {
        let g = self.geometry(input)?;
        Ok(vec![g.out_h, g.out_w, g.channels])
    }

    fn forward(&mut self, input: &Tensor, output: &mut Tensor, _mode: Mode) {
        let g = self
            .geometry(&input.shape().dims()[1..])
            .expect("Sequential checked the input shape");
        let batch = input.rows();
        output.set_dims(&[batch, g.out_h, g.out_w, g.channels]);
        self.argmax.resize(output.len(), 0);
        max_pool_forward(&g, batch, input.data(), output.data_mut(), &mut self.argmax);
    }

    fn backward(&mut self, input: &Tensor, _output: &Tensor, grad_output: &Tensor, grad_input: Option<&mut Tensor>) {
        if let Some(dx) = grad_input {
            let g = self
                .geometry(&input.shape().dims()[1..])
                .expect("Sequential checked the input shape");
            dx.set_dims(input.shape().dims());
            max_pool_backward_windows(&g, input.rows(), grad_output.data(), &self.argmax, dx.data_mut());
        }
    }

    fn as_any_mut(&mut self) -> Option<&mut dyn std::any::Any> {
        Some(self)
    }
}

/// Flattens each example to one row.
#[derive(Clone, Copy, Debug, Default)]
pub struct Flatten;

impl Layer for Flatten {
    fn kind(&self) -> &'static str {
        "Flatten"
    }

    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>, String> {
        Ok(vec![input.iter().product()])
    }

    fn forward(&mut self, input: &Tensor, output: &mut Tensor, _mode: Mode) {
        output.set_dims(&[input.rows(), input.row_len()]);
        output.data_mut().copy_from_slice(input.data());
    }

    fn backward(&mut self, input: &Tensor, _output: &Tensor, grad_output: &Tensor, grad_input: Option<&mut Tensor>) {
        if let Some(dx) = grad_input {
            dx.set_dims(input.shape().dims());
            dx.data_mut().copy_from_slice(grad_output.data());
        }
    }
}
