use rand_xoshiro::Xoshiro256PlusPlus;
use tensor::Tensor;

/// Whether a pass is for training (dropout active, batch statistics) or for
/// inference.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Training.
    Train,
    /// Evaluation and prediction.
    Eval,
}

/// A parameter tensor and its gradient, lent to an optimiser or a check.
pub struct ParamMut<'a> {
    /// The parameter's name within its layer (`weight`, `bias`).
    pub name: &'static str,
    /// Its dimensions (e.g. `[inputs, outputs]` for a Dense weight).
    pub dims: &'a [usize],
    /// The values.
    pub value: &'a mut [f32],
    /// The gradient of the loss, as the last `backward` left it.
    pub grad: &'a mut [f32],
    /// Whether L2 weight decay applies to it: the layer says so, true for
    /// weight matrices and kernels, false for biases and batch norm's scale
    /// and shift (as Keras' kernel_regularizer and the NumPy course do).
    pub decays: bool,
}

impl ParamMut<'_> {
    /// Lends a layer's `weight` and `bias` (with their gradients) to `f`,
    /// in that order: the parameters of Dense and Conv2d.
    pub fn weight_and_bias(
        f: &mut dyn FnMut(ParamMut<'_>),
        weight: &mut Tensor,
        weight_grad: &mut Tensor,
        bias: &mut Tensor,
        bias_grad: &mut Tensor,
    ) {
        let (dims, value) = weight.dims_and_data_mut();
        f(ParamMut {
            name: "weight",
            dims,
            value,
            grad: weight_grad.data_mut(),
            decays: true,
        });
        let (dims, value) = bias.dims_and_data_mut();
        f(ParamMut {
            name: "bias",
            dims,
            value,
            grad: bias_grad.data_mut(),
            decays: false,
        });
    }
}

/// A layer: a forward pass and its backward pass.
///
/// Tensors are batches: the first dimension is the example, the rest is the
/// per-example shape that [`Layer::output_shape`] speaks of.
pub trait Layer: Send {
    /// The layer's type, e.g. `"Dense"`.
    fn kind(&self) -> &'static str;

    /// The per-example output shape for a per-example input shape, or why
    /// the layer cannot take that input.
    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>, String>;

    /// Computes `output` from `input`. `output` is reshaped as needed; its
    /// buffer is reused from call to call.
    fn forward(&mut self, input: &Tensor, output: &mut Tensor, mode: Mode);

    /// Given the `input` and `output` of the last forward pass and the
    /// gradient of the loss with respect to `output`, *overwrites* every
    /// parameter gradient and, when asked for, `grad_input`.
    fn backward(&mut self, input: &Tensor, output: &Tensor, grad_output: &Tensor, grad_input: Option<&mut Tensor>);

    /// Lends each parameter and its gradient to `f`, always in the same order.
    fn visit_params(&mut self, _f: &mut dyn FnMut(ParamMut<'_>)) {}

    /// Number of scalar parameters the optimiser trains.
    fn param_count(&self) -> usize {
        0
    }

    /// Number of scalars of state that are not trained but kept with the
    /// model (batch norm's running statistics).
    fn non_trainable_count(&self) -> usize {
        0
    }

    /// Lends each piece of that untrained state, by name, to `f` (to save and
    /// load it with the parameters).
    fn visit_state(&mut self, _f: &mut dyn FnMut(&'static str, &mut [f32])) {}

    /// Lends the layer's random generator, if it draws in training
    /// (dropout's masks), so that a checkpoint can save it and a resumed
    /// run draw the same masks as one never interrupted.
    fn visit_rng(&mut self, _f: &mut dyn FnMut(&mut Xoshiro256PlusPlus)) {}

    /// This layer as `Any`, for a model to find out its type where it runs
    /// two layers as one (a first convolution and the pooling after it, or
    /// a batch norm and the ReLU after it, in
    /// [`Sequential`](crate::Sequential)); `None` for layers never fused.
    fn as_any_mut(&mut self) -> Option<&mut dyn std::any::Any> {
        None
    }
}
