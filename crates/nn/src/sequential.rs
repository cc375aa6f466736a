//! A stack of layers applied in order.

use rand_xoshiro::Xoshiro256PlusPlus;
use tensor::{Shape, Tensor};

use crate::{Layer, Mode, NnError, ParamMut};

/// What [`Sequential::visit_named`] lends each tensor to: (name, dimensions, values).
pub type NamedTensorVisitor<'a> = dyn FnMut(&str, &[usize], &mut [f32]) + 'a;

/// Layers applied one after the other. The model owns the output of every
/// layer and the gradient at every layer's input, reused from batch to batch.
pub struct Sequential {
    input_shape: Shape,
    layers: Vec<Box<dyn Layer>>,
    /// Per-example output shape of each layer.
    shapes: Vec<Shape>,
    outputs: Vec<Tensor>,
    /// `grads[i]`: gradient at the input of layer `i` (unused for `i = 0`).
    grads: Vec<Tensor>,
    /// The first two layers are a convolution and a 2x2 pooling that run
    /// as one ([`Conv2d::forward_pooled`](crate::Conv2d::forward_pooled)):
    /// the same bits, without the convolution's output (4.8 MB for the fast
    /// recipe's batch) written and read back; `outputs[0]` and `grads[1]`
    /// stay unused.
    pooled_head: bool,
    /// `relu_after[i]`: layer `i` is a batch norm and layer `i + 1` a ReLU,
    /// run as one ([`BatchNorm::forward_relu`](crate::BatchNorm::forward_relu)):
    /// the same bits, with one pass each way instead of two; `outputs[i]`
    /// and `grads[i + 1]` stay unused.
    relu_after: Vec<bool>,
    /// `pool_after[i]`: layer `i` is a lowered convolution and layer `i + 1`
    /// a max pooling, whose forward passes run as one
    /// ([`Conv2d::forward_then_pool`](crate::Conv2d::forward_then_pool)):
    /// the same bits, the convolution's output never written to memory;
    /// `outputs[i]` holds its shape only, for the pooling's backward pass.
    pool_after: Vec<bool>,
}

impl Sequential {
    /// An empty model taking examples of `input_shape` (without the batch
    /// dimension, e.g. `[784]`).
    pub fn new(input_shape: Shape) -> Self {
        Self {
            input_shape,
            layers: Vec::new(),
            shapes: Vec::new(),
            outputs: Vec::new(),
            grads: Vec::new(),
            pooled_head: false,
            relu_after: Vec::new(),
            pool_after: Vec::new(),
        }
    }

    /// Appends a layer, checking that it takes the previous layer's output.
    pub fn push(&mut self, layer: impl Layer + 'static) -> Result<&mut Self, NnError> {
        self.push_boxed(Box::new(layer))
    }

    /// [`push`](Self::push) for a layer already boxed (a list of layers
    /// built at run time).
    pub fn push_boxed(&mut self, layer: Box<dyn Layer>) -> Result<&mut Self, NnError> {
        let input = self.output_shape().clone();
        let output = layer
            .output_shape(input.dims())
            .map_err(|reason| NnError::Incompatible {
                index: self.layers.len(),
                kind: layer.kind(),
                input: input.clone(),
                reason,
            })?;
        self.layers.push(layer);
        self.shapes.push(Shape::new(&output));
        self.outputs.push(Tensor::default());
        self.grads.push(Tensor::default());
        self.relu_after.push(false);
        self.pool_after.push(false);
        let n = self.layers.len();
        if n >= 2 {
            let conv_input = if n == 2 { &self.input_shape } else { &self.shapes[n - 3] };
            let conv_input = conv_input.dims().to_vec();
            if let [.., before, last] = &mut self.layers[..] {
                self.relu_after[n - 2] =
                    batch_norm(before).is_some() && last.as_any_mut().is_some_and(|l| l.is::<crate::Relu>());
                self.pool_after[n - 2] = conv_then_pool(before, last).is_some_and(|(conv, _)| conv.lowers(&conv_input));
            }
        }
        if self.layers.len() == 2 {
            let first = self.input_shape.dims().to_vec();
            let between = self.shapes[0].dims().to_vec();
            self.pooled_head = matches!(head(&mut self.layers),
                Some((conv, pool)) if conv.pools_directly(&first) && pool.tiles_in_twos(&between));
        }
        Ok(self)
    }

    /// The layers, taken out (e.g. to time each one alone).
    pub fn into_layers(self) -> Vec<Box<dyn Layer>> {
        self.layers
    }

    /// Per-example input shape.
    pub fn input_shape(&self) -> &Shape {
        &self.input_shape
    }

    /// Per-example output shape of the whole model.
    pub fn output_shape(&self) -> &Shape {
        self.shapes.last().unwrap_or(&self.input_shape)
    }

    /// The layers, in order.
    pub fn layers(&self) -> impl Iterator<Item = &dyn Layer> {
        self.layers.iter().map(|l| l.as_ref())
    }

    /// Per-example output shape of each layer, in order.
    pub fn layer_output_shapes(&self) -> impl Iterator<Item = &Shape> {
        self.shapes.iter()
    }

    /// Number of trainable scalar parameters.
    pub fn param_count(&self) -> usize {
        self.layers.iter().map(|l| l.param_count()).sum()
    }

    /// Runs every layer on the batch `x` and returns the last output.
    /// Fails, naming the shapes, when `x` is not a batch of the model's input.
    pub fn forward<'a>(&'a mut self, x: &'a Tensor, mode: Mode) -> Result<&'a Tensor, NnError> {
        let per_example = &x.shape().dims()[1.min(x.shape().rank())..];
        if x.shape().rank() == 0 || per_example != self.input_shape.dims() {
            return Err(NnError::Shape {
                layer: "model input".into(),
                expected: self.input_shape.clone(),
                found: Shape::new(per_example),
            });
        }
        let mut first = 0;
        if self.pooled_head {
            let (conv, pool) = head(&mut self.layers).expect("pooled_head is set for a convolution and a pooling");
            conv.forward_pooled(x, pool, &mut self.outputs[1]);
            first = 2;
        }
        let mut i = first;
        while i < self.layers.len() {
            let (done, rest) = self.outputs.split_at_mut(i);
            let input = done.last().unwrap_or(x);
            if self.relu_after[i] {
                // Into the ReLU's output; the batch norm's stays unused.
                let bn = batch_norm(&mut self.layers[i]).expect("relu_after is set for a batch norm");
                bn.forward_relu(input, &mut rest[1], mode);
                i += 2;
            } else if self.pool_after[i] {
                let [conv, pool, ..] = &mut self.layers[i..] else {
                    unreachable!("pool_after is set for a pair")
                };
                let (conv, pool) =
                    conv_then_pool(conv, pool).expect("pool_after is set for a convolution and a pooling");
                let (conv_output, pooled) = rest.split_at_mut(1);
                conv.forward_then_pool(input, pool, &mut conv_output[0], &mut pooled[0]);
                i += 2;
            } else {
                self.layers[i].forward(input, &mut rest[0], mode);
                i += 1;
            }
        }
        Ok(self.outputs.last().unwrap_or(x))
    }

    /// Back-propagates `grad_output` (the gradient of the loss with respect
    /// to the last forward output) and fills every parameter gradient. `x`
    /// must be the batch of the last forward pass.
    ///
    /// # Panics
    /// If `grad_output` does not have the shape of the last output.
    pub fn backward(&mut self, x: &Tensor, grad_output: &Tensor) {
        let Some(last) = self.outputs.last() else { return };
        assert_eq!(last.shape(), grad_output.shape(), "grad_output must match the output");
        for i in (0..self.layers.len()).rev() {
            if self.pooled_head && i == 1 {
                // The gradient at the pooling's output: the next layer's
                // input gradient, or the model's output gradient.
                let dy = self.grads.get(2).unwrap_or(grad_output);
                let (conv, pool) = head(&mut self.layers).expect("pooled_head is set for a convolution and a pooling");
                conv.backward_pooled(x, pool, dy);
                break;
            }
            if i > 0 && self.relu_after[i - 1] {
                // The ReLU of a pair: its batch norm runs both, next.
                continue;
            }
            let input = if i == 0 { x } else { &self.outputs[i - 1] };
            let (before, after) = self.grads.split_at_mut(i + 1);
            // The first layer's input is the data: no gradient is needed there.
            let dx = if i == 0 { None } else { Some(&mut before[i]) };
            if self.relu_after[i] {
                // The gradient at the ReLU's output.
                let dy = after.get(1).unwrap_or(grad_output);
                let bn = batch_norm(&mut self.layers[i]).expect("relu_after is set for a batch norm");
                bn.backward_relu(input, dy, dx);
                continue;
            }
            let dy = after.first().unwrap_or(grad_output);
            self.layers[i].backward(input, &self.outputs[i], dy, dx);
        }
    }

    /// Lends every parameter and its gradient to `f`, in a fixed order.
    pub fn visit_params(&mut self, f: &mut dyn FnMut(ParamMut<'_>)) {
        for layer in &mut self.layers {
            layer.visit_params(f);
        }
    }

    /// Lends every tensor that defines the trained model, parameters and
    /// untrained state alike, to `f` as (name, dimensions, values), named
    /// `layer.tensor` with Keras' layer names (`dense_1.weight`,
    /// `batch_norm.running_mean`), in a fixed order.
    pub fn visit_named(&mut self, f: &mut NamedTensorVisitor<'_>) {
        let names = self.layer_names();
        for (layer, layer_name) in self.layers.iter_mut().zip(&names) {
            layer.visit_params(&mut |p| f(&format!("{layer_name}.{}", p.name), p.dims, p.value));
            layer.visit_state(&mut |name, values| {
                let dims = [values.len()];
                f(&format!("{layer_name}.{name}"), &dims, values)
            });
        }
    }

    /// Lends the random generator of every layer that has one (dropout) to
    /// `f`, with the layer's name, in layer order.
    pub fn visit_rngs(&mut self, f: &mut dyn FnMut(&str, &mut Xoshiro256PlusPlus)) {
        let names = self.layer_names();
        for (layer, name) in self.layers.iter_mut().zip(&names) {
            layer.visit_rng(&mut |rng| f(name, rng));
        }
    }
}

impl std::fmt::Debug for Sequential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kinds: Vec<_> = self.layers.iter().map(|l| l.kind()).collect();
        f.debug_struct("Sequential")
            .field("input_shape", &self.input_shape)
            .field("layers", &kinds)
            .finish()
    }
}

/// `layer` as a batch norm, where it is one.
fn batch_norm(layer: &mut Box<dyn Layer>) -> Option<&mut crate::BatchNorm> {
    layer.as_any_mut()?.downcast_mut()
}

/// The first two of `layers` as a convolution and a pooling, where they
/// are.
fn head(layers: &mut [Box<dyn Layer>]) -> Option<(&mut crate::Conv2d, &mut crate::MaxPool2d)> {
    let [conv, pool, ..] = layers else { return None };
    conv_then_pool(conv, pool)
}

/// `conv` and `pool` as a convolution and a pooling, where they are.
fn conv_then_pool<'a>(
    conv: &'a mut Box<dyn Layer>,
    pool: &'a mut Box<dyn Layer>,
) -> Option<(&'a mut crate::Conv2d, &'a mut crate::MaxPool2d)> {
    Some((conv.as_any_mut()?.downcast_mut()?, pool.as_any_mut()?.downcast_mut()?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Dense, Init, Relu};
    use rand::SeedableRng;

    #[test]
    fn wrong_input_shape_is_an_error_naming_both_shapes() {
        let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(0);
        let mut model = Sequential::new(Shape::new(&[784]));
        model
            .push(Dense::new(784, 10, &Init::Zeros, &Init::Zeros, &mut rng))
            .unwrap();
        model.push(Relu).unwrap();
        let x = Tensor::zeros(Shape::new(&[2, 1, 32, 32]));
        let e = model.forward(&x, Mode::Eval).unwrap_err();
        assert_eq!(
            e.to_string(),
            "model input: expected shape [784] (per example), found [1, 32, 32]"
        );
        assert_eq!(model.output_shape().dims(), &[10]);
        assert_eq!(model.param_count(), 7850);
    }

    #[test]
    fn a_layer_that_does_not_fit_is_refused() {
        let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(0);
        let mut model = Sequential::new(Shape::new(&[784]));
        let e = model
            .push(Dense::new(100, 10, &Init::Zeros, &Init::Zeros, &mut rng))
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "layer 0 (Dense) cannot take input of shape [784]: it takes [100] features per example"
        );
    }
}

#[cfg(test)]
mod conv_tests {
    use super::*;
    use crate::{Conv2d, Init, Padding};
    use rand::SeedableRng;

    /// A first convolution and the 2x2 pooling after it run as one, with
    /// the bits of the layers run one after the other: output, every
    /// parameter gradient, in training and in evaluation; as the whole
    /// model, and followed by more layers.
    #[test]
    fn a_pooled_first_convolution_has_the_layers_bits() {
        use crate::{Dense, Flatten, MaxPool2d};
        for (filters, kernel, dense) in [(12, 3, true), (32, 5, true), (6, 3, false)] {
            let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(filters as u64);
            let conv = Conv2d::new(
                1,
                filters,
                kernel,
                1,
                Padding::Same,
                &Init::XavierUniform,
                &Init::XavierUniform,
                &mut rng,
            );
            let pool = MaxPool2d::new(2, 2, Padding::Valid);
            let head = Dense::new(14 * 14 * filters, 10, &Init::XavierUniform, &Init::Zeros, &mut rng);
            let mut model = Sequential::new(Shape::new(&[28, 28, 1]));
            model.push(conv.clone()).unwrap().push(pool.clone()).unwrap();
            if dense {
                model.push(Flatten).unwrap().push(head.clone()).unwrap();
            }
            assert!(model.pooled_head, "{filters} filters of {kernel}x{kernel}");
            let mut layers: Vec<Box<dyn Layer>> = vec![Box::new(conv), Box::new(pool)];
            if dense {
                layers.push(Box::new(Flatten));
                layers.push(Box::new(head));
            }
            let batch = 5;
            let mut x = Tensor::zeros(Shape::new(&[batch, 28, 28, 1]));
            x.data_mut()
                .iter_mut()
                .enumerate()
                .for_each(|(i, v)| *v = ((i * 7919) % 255) as f32 / 255.0);
            // A blank image: each window's outputs tie.
            x.data_mut()[..784].fill(0.0);
            has_the_layers_bits(&mut model, &mut layers, &x, &format!("{filters} filters"));
        }
    }

    /// A batch norm and the ReLU after it, and a lowered convolution and
    /// the pooling after it, run as one with the bits of the layers one
    /// after the other: a batch norm after a dense layer and after a
    /// convolution, as the last layers or followed by more, and after a
    /// pooled first convolution; a lowered convolution followed by 2x2
    /// pooling (then batch norm and ReLU) and by 3x3 pooling of stride 2,
    /// as the first layer and after another.
    #[test]
    fn fused_pairs_have_the_layers_bits() {
        for which in 0..7 {
            // The same layers twice, from the same seed: one set for the
            // model, one to run alone.
            let (input, layers) = fused_stack(which);
            let (_, mut alone) = fused_stack(which);
            let mut model = Sequential::new(Shape::new(&input));
            for layer in layers {
                model.push_boxed(layer).unwrap();
            }
            let fused = if which < 4 {
                &model.relu_after
            } else {
                &model.pool_after
            };
            assert!(fused.iter().any(|&r| r), "{input:?}");
            let mut dims = vec![6];
            dims.extend(&input);
            let mut x = Tensor::zeros(Shape::new(&dims));
            x.data_mut()
                .iter_mut()
                .enumerate()
                .for_each(|(i, v)| *v = ((i * 7919) % 255) as f32 / 255.0 - 0.4);
            has_the_layers_bits(&mut model, &mut alone, &x, &format!("{input:?}"));
        }
    }

    /// Stack `which` of the test above: its input shape and layers.
    fn fused_stack(which: usize) -> (Vec<usize>, Vec<Box<dyn Layer>>) {
        use crate::{BatchNorm, Dense, Flatten, MaxPool2d, Relu};
        let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(7);
        let mut conv = |c: usize, f: usize| -> Box<dyn Layer> {
            Box::new(Conv2d::new(
                c,
                f,
                3,
                1,
                Padding::Same,
                &Init::XavierUniform,
                &Init::XavierUniform,
                &mut rng,
            ))
        };
        let bn = |f: usize| -> Box<dyn Layer> { Box::new(BatchNorm::new(f, 0.9, 1e-3)) };
        let relu = || -> Box<dyn Layer> { Box::new(Relu) };
        match which {
            0 | 1 => {
                let mut dense = |i: usize, o: usize| -> Box<dyn Layer> {
                    Box::new(Dense::new(i, o, &Init::XavierUniform, &Init::XavierUniform, &mut rng))
                };
                let mut layers = vec![dense(20, 12), bn(12), relu()];
                if which == 1 {
                    layers.push(dense(12, 5));
                }
                (vec![20], layers)
            }
            2 => {
                let layers = vec![conv(2, 6), bn(6), relu(), conv(6, 4), bn(4), relu(), Box::new(Flatten)];
                (vec![8, 8, 2], layers)
            }
            3 => {
                let layers = vec![
                    conv(1, 12),
                    Box::new(MaxPool2d::new(2, 2, Padding::Valid)),
                    bn(12),
                    relu(),
                    conv(12, 8),
                ];
                (vec![28, 28, 1], layers)
            }
            4 => {
                // Four channels: a 3x3 window of 36 floats, lowered.
                let pool = || -> Box<dyn Layer> { Box::new(MaxPool2d::new(2, 2, Padding::Valid)) };
                let layers = vec![conv(4, 6), pool(), bn(6), relu(), conv(6, 5), pool(), Box::new(Flatten)];
                (vec![8, 8, 4], layers)
            }
            5 => {
                let layers = vec![conv(4, 6), Box::new(MaxPool2d::new(3, 2, Padding::Same))];
                (vec![7, 7, 4], layers)
            }
            _ => {
                // Overlapping windows after a lowered convolution whose input
                // gradient counts: 6 images of 144 positions are four depth
                // blocks of 216 rows for its weight gradient, each across
                // two images.
                let layers = vec![
                    conv(4, 6),
                    relu(),
                    conv(6, 5),
                    Box::new(MaxPool2d::new(3, 2, Padding::Same)),
                ];
                (vec![12, 12, 4], layers)
            }
        }
    }

    /// `model`'s forward and backward passes give the bits of `layers` run
    /// one after the other: its output in training and evaluation, and
    /// every parameter gradient.
    fn has_the_layers_bits(model: &mut Sequential, layers: &mut [Box<dyn Layer>], x: &Tensor, what: &str) {
        for mode in [Mode::Train, Mode::Eval] {
            // The layers one by one.
            let mut outs: Vec<Tensor> = vec![Tensor::default(); layers.len()];
            for (i, layer) in layers.iter_mut().enumerate() {
                let (done, rest) = outs.split_at_mut(i);
                layer.forward(done.last().unwrap_or(x), &mut rest[0], mode);
            }
            let want = outs.last().unwrap().clone();
            let got = model.forward(x, mode).unwrap().clone();
            let bits = |t: &Tensor| t.data().iter().map(|v| v.to_bits()).collect::<Vec<_>>();
            assert_eq!(got.shape(), want.shape());
            assert_eq!(bits(&got), bits(&want), "{mode:?} output, {what}");
            if mode == Mode::Eval {
                continue;
            }
            let mut dy = Tensor::zeros(want.shape().clone());
            dy.data_mut()
                .iter_mut()
                .enumerate()
                .for_each(|(i, v)| *v = ((i % 13) as f32 - 6.0) / 7.0);
            model.backward(x, &dy);
            let mut grad = dy.clone();
            for i in (0..layers.len()).rev() {
                let mut dx = Tensor::default();
                let input = if i == 0 { x.clone() } else { outs[i - 1].clone() };
                layers[i].backward(&input, &outs[i], &grad, (i > 0).then_some(&mut dx));
                grad = dx;
            }
            let mut want_grads = Vec::new();
            layers
                .iter_mut()
                .for_each(|l| l.visit_params(&mut |p| want_grads.push(p.grad.to_vec())));
            let mut got_grads = Vec::new();
            model.visit_params(&mut |p| got_grads.push(p.grad.to_vec()));
            let bits = |v: &Vec<Vec<f32>>| v.iter().flatten().map(|v| v.to_bits()).collect::<Vec<_>>();
            assert_eq!(got_grads.len(), want_grads.len());
            assert_eq!(bits(&got_grads), bits(&want_grads), "gradients, {what}");
        }
    }

    /// An image of the wrong size or channel count is an error naming the
    /// shapes, not a panic.
    #[test]
    fn wrong_images_are_refused() {
        let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(0);
        let mut model = Sequential::new(Shape::new(&[28, 28, 1]));
        model
            .push(Conv2d::new(
                1,
                4,
                5,
                1,
                Padding::Same,
                &Init::Zeros,
                &Init::Zeros,
                &mut rng,
            ))
            .unwrap();
        for dims in [&[2, 28, 28, 3][..], &[2, 32, 32, 1], &[2, 784]] {
            let e = model.forward(&Tensor::zeros(Shape::new(dims)), Mode::Eval).unwrap_err();
            assert!(
                e.to_string().starts_with("model input: expected shape [28, 28, 1]"),
                "{e}"
            );
        }
        let e = Sequential::new(Shape::new(&[28, 28, 3]))
            .push(Conv2d::new(
                1,
                4,
                5,
                1,
                Padding::Same,
                &Init::Zeros,
                &Init::Zeros,
                &mut rng,
            ))
            .map(|_| ())
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "layer 0 (Conv2D) cannot take input of shape [28, 28, 3]: it takes 1 channels"
        );
    }
}
