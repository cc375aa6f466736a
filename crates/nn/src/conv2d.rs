//! 2-D convolution, lowered to a matrix product.
//!
//! Shapes (NHWC): x `[batch, h, w, c]`, W `[kh, kw, c, filters]`
//! (TensorFlow's HWIO), b `[filters]`, y `[batch, oh, ow, filters]`.
//!
//! Forward: cols = im2col(x) `[batch·oh·ow, kh·kw·c]`, y = cols W + b.
//! Backward, with dy `[batch·oh·ow, filters]`:
//! - dW = colsᵀ dy, db = Σ dy over positions,
//! - dx = col2im(dy Wᵀ).

use kernels::conv::{self, ConvGeometry, Padding, col2im, im2col};
use kernels::gemm::{PackedB, sgemm_packed};
use kernels::{MatMut, MatRef, conv_direct, pool, vector};
use rand::Rng;
use rayon::prelude::*;
use tensor::{Shape, Tensor};

use crate::{Init, Layer, MaxPool2d, Mode, ParamMut};

thread_local! {
    // One image's cols, kept per thread from call to call.
    static IMAGE_COLS: std::cell::RefCell<Vec<f32>> = const { std::cell::RefCell::new(Vec::new()) };
    // One image's outputs, where they are pooled straight away.
    static IMAGE_OUT: std::cell::RefCell<Vec<f32>> = const { std::cell::RefCell::new(Vec::new()) };
    // One image's dcols, put back into dx by col2im straight away.
    static IMAGE_DCOLS: std::cell::RefCell<Vec<f32>> = const { std::cell::RefCell::new(Vec::new()) };
}

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
    /// The weights laid out for the per-image products of the forward
    /// pass, and transposed for the input gradient's, once a pass.
    packed_w: PackedB,
    packed_wt: PackedB,
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
            packed_w: PackedB::new(),
            packed_wt: PackedB::new(),
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

    /// True when this convolution, on `input` (per example), takes the
    /// direct path and its outputs tile in 2x2 windows, so that
    /// [`forward_pooled`](Self::forward_pooled) can pool them.
    pub fn pools_directly(&self, input: &[usize]) -> bool {
        self.geometry(input)
            .is_ok_and(|g| conv_direct::applies(&g) && conv_direct::pools_in_twos(&g))
    }

    /// This convolution followed by `pool` (2x2 windows of stride 2 that
    /// tile its outputs; [`pools_directly`](Self::pools_directly) and
    /// [`MaxPool2d::tiles_in_twos`] hold), into `output`, the pooling's
    /// output: the same bits as the two forward passes, without the
    /// outputs in between ([`conv_direct::forward_pooled`]). `pool` keeps
    /// the indices of the maxima, as its own forward pass would.
    pub fn forward_pooled(&mut self, input: &Tensor, pool: &mut MaxPool2d, output: &mut Tensor) {
        let g = self.geometry_of(input);
        let batch = input.rows();
        output.set_dims(&[batch, g.out_h / 2, g.out_w / 2, self.filters]);
        let argmax = pool.argmax_for(output.len());
        conv_direct::forward_pooled(
            &g,
            batch,
            input.data(),
            self.weight.data(),
            self.bias.data(),
            output.data_mut(),
            argmax,
        );
    }

    /// The backward pass of [`forward_pooled`](Self::forward_pooled), from
    /// the gradient at the pooling's output, when this convolution is the
    /// first layer (no input gradient): the same parameter gradients as
    /// the two backward passes, without the output gradient in between
    /// ([`conv_direct::weight_grad_pooled`]).
    pub fn backward_pooled(&mut self, input: &Tensor, pool: &MaxPool2d, grad_output: &Tensor) {
        let g = self.geometry_of(input);
        conv_direct::weight_grad_pooled(
            &g,
            input.rows(),
            input.data(),
            grad_output.data(),
            pool.argmax(),
            self.weight_grad.data_mut(),
            self.bias_grad.data_mut(),
        );
    }

    /// True when this convolution, on `input` (per example), is lowered to
    /// a product (im2col), so that
    /// [`forward_then_pool`](Self::forward_then_pool) can pool each image
    /// as soon as its product is done.
    pub fn lowers(&self, input: &[usize]) -> bool {
        self.geometry(input).is_ok_and(|g| !conv_direct::applies(&g))
    }

    /// This convolution ([`lowers`](Self::lowers) holds) followed by
    /// `pool`, which takes its output, into `output`, the pooling's output:
    /// each image's outputs are pooled from a thread's scratch while they
    /// are in cache, instead of the batch's (3.2 MB for the fast recipe's
    /// second convolution) going out to memory and back. The same bits as
    /// the two forward passes; `pool` keeps the indices of the maxima as
    /// its own forward pass would, so its backward pass runs as it is.
    /// `conv_output` gets only the shape of the convolution's output (its
    /// values are never written), which the pooling's backward pass needs.
    pub fn forward_then_pool(
        &mut self,
        input: &Tensor,
        pool: &mut MaxPool2d,
        conv_output: &mut Tensor,
        output: &mut Tensor,
    ) {
        let g = self.geometry_of(input);
        let batch = input.rows();
        let image_out = g.positions() * self.filters;
        conv_output.set_dims(&[batch, g.out_h, g.out_w, self.filters]);
        let pg = pool.geometry_after(&[g.out_h, g.out_w, self.filters]);
        let pooled = pg.positions() * self.filters;
        output.set_dims(&[batch, pg.out_h, pg.out_w, self.filters]);
        let argmax = pool.argmax_for(output.len());
        self.packed_w
            .pack(MatRef::new(self.weight.data(), g.patch_len(), self.filters));
        let (weight, bias) = (&self.packed_w, self.bias.data());
        let outputs = output
            .data_mut()
            .par_chunks_mut(pooled)
            .zip(argmax.par_chunks_mut(pooled))
            .enumerate();
        lowered(&g, input, outputs, |cols, x, (n, (y, argmax))| {
            kernels::scratch::with_scratch(&IMAGE_OUT, |out| {
                out.resize(image_out, 0.0);
                product(&g, weight, bias, cols, x, out);
                pool::max_pool_image(&pg, out, n * image_out, y, argmax);
            })
        });
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
        let (positions, filters) = (g.positions(), self.filters);
        output.set_dims(&[batch, g.out_h, g.out_w, filters]);
        let (weight, bias) = (self.weight.data(), self.bias.data());
        if conv_direct::applies(&g) {
            // Short windows (a first layer's): straight from the image, the
            // same bits as the product below, without cols.
            conv_direct::forward(&g, batch, input.data(), weight, bias, output.data_mut());
            return;
        }
        self.packed_w.pack(MatRef::new(weight, g.patch_len(), filters));
        let weight = &self.packed_w;
        let outputs = output.data_mut().par_chunks_mut(positions * filters);
        lowered(&g, input, outputs, |cols, x, y| product(&g, weight, bias, cols, x, y));
    }

    fn backward(&mut self, input: &Tensor, _output: &Tensor, grad_output: &Tensor, grad_input: Option<&mut Tensor>) {
        let g = self.geometry_of(input);
        let batch = input.rows();
        let patch = g.patch_len();
        let dy = grad_output.data();
        if conv_direct::applies(&g) {
            conv_direct::weight_grad(&g, batch, input.data(), dy, self.weight_grad.data_mut());
        } else {
            // dW = colsᵀ dy, cols made again block by block from the input
            conv::weight_grad(&g, batch, input.data(), dy, self.weight_grad.data_mut());
        }
        vector::sum_rows(dy, self.bias_grad.data_mut());
        if let Some(dx) = grad_input {
            // Image by image, as forward: each image's dcols = dy Wᵀ is a
            // thread's scratch (85 KB for the fast recipe's second
            // convolution), put back into dx by col2im while it is still
            // in L2; the batch's (10.8 MB) never goes out to memory. Wᵀ is
            // packed once for all the images' products.
            let filters = self.filters;
            self.packed_wt.pack(MatRef::new(self.weight.data(), patch, filters).t());
            let positions = g.positions();
            dx.set_dims(input.shape().dims());
            let weight_t = &self.packed_wt;
            dy.par_chunks(positions * filters)
                .zip(dx.data_mut().par_chunks_mut(g.image_len()))
                .for_each(|(dy, dx)| {
                    kernels::scratch::with_scratch(&IMAGE_DCOLS, |dcols| {
                        dcols.resize(positions * patch, 0.0);
                        // dcols = dy Wᵀ
                        let dy = MatRef::new(dy, positions, filters);
                        sgemm_packed(1.0, dy, weight_t, 0.0, MatMut::new(dcols, positions, patch));
                        col2im(&g, 1, dcols, dx);
                    })
                });
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

    fn as_any_mut(&mut self) -> Option<&mut dyn std::any::Any> {
        Some(self)
    }
}

/// The lowered forward pass over the batch `input`, image by image in
/// parallel: `each(cols, x, out)` gets a thread's scratch for an image's
/// cols (im2col is its to do), the image and its part of `outputs`. Each
/// image's cols (85 KB for the fast recipe's second convolution, 627 KB
/// for the tutorial's) stays in L2 while it is multiplied, instead of the
/// batch's (10.8 and 31 MB) going out to memory and back; the weight
/// gradient makes its own again ([`conv::weight_grad`]).
fn lowered<O: Send>(
    g: &ConvGeometry,
    input: &Tensor,
    outputs: impl IndexedParallelIterator<Item = O>,
    each: impl Fn(&mut [f32], &[f32], O) + Sync + Send,
) {
    let image_cols = g.positions() * g.patch_len();
    input
        .data()
        .par_chunks(g.image_len())
        .zip(outputs)
        .for_each(|(x, out)| {
            kernels::scratch::with_scratch(&IMAGE_COLS, |cols| {
                cols.resize(image_cols, 0.0);
                each(cols, x, out)
            })
        });
}

/// One image's `y = b + im2col(x) W`, its cols written into `cols`.
fn product(g: &ConvGeometry, weight: &PackedB, bias: &[f32], cols: &mut [f32], x: &[f32], y: &mut [f32]) {
    let (positions, patch, filters) = (g.positions(), g.patch_len(), bias.len());
    im2col(g, 1, x, cols);
    vector::broadcast_rows(y, bias);
    let cols = MatRef::new(cols, positions, patch);
    sgemm_packed(1.0, cols, weight, 1.0, MatMut::new(y, positions, filters));
}
