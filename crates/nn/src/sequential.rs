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
        for i in 0..self.layers.len() {
            let (done, rest) = self.outputs.split_at_mut(i);
            let input = done.last().unwrap_or(x);
            self.layers[i].forward(input, &mut rest[0], mode);
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
            let input = if i == 0 { x } else { &self.outputs[i - 1] };
            let (before, after) = self.grads.split_at_mut(i + 1);
            let dy = after.first().unwrap_or(grad_output);
            // The first layer's input is the data: no gradient is needed there.
            let dx = if i == 0 { None } else { Some(&mut before[i]) };
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
