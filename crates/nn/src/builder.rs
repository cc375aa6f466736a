//! Models described the Keras way: a list of layers, each with its
//! options, built once the list is complete. The same list comes from
//! Rust (`Builder`) or from a line of text ([`parse`](crate::layer_spec::parse)).

use rand::{Rng, RngExt};
use tensor::Shape;

use crate::layer_spec::LayerSpec;
use crate::{
    BatchNorm, Conv2d, Dense, Dropout, DropoutKind, Flatten, Init, LeakyRelu, MaxPool2d, NnError, Padding, Relu,
    Sequential, Sigmoid, Tanh,
};

/// Builds a [`Sequential`] from a list of layers, Keras-style:
///
/// ```
/// use mnist_nn::{Builder, Init, Padding};
/// use tensor::Shape;
///
/// let mut rng = <rand_xoshiro::Xoshiro256PlusPlus as rand::SeedableRng>::seed_from_u64(1);
/// let model = Builder::new(Shape::image(1, 28, 28))
///     .conv2d(32, 5, Padding::Same).relu().max_pool(2)
///     .conv2d(64, 5, Padding::Same).relu().max_pool(2)
///     .flatten()
///     .dense(1024).init(Init::TruncatedNormal { mean: 0.0, std: 1.0 }, Init::Constant(0.1)).relu()
///     .dropout(0.5)
///     .dense(10)
///     .build(&mut rng)?;
/// assert_eq!(model.param_count(), 3_274_634);
/// # Ok::<(), mnist_nn::NnError>(())
/// ```
#[derive(Clone, Debug)]
pub struct Builder {
    input: Shape,
    layers: Vec<LayerSpec>,
    weight_init: Init,
    bias_init: Init,
}

impl Builder {
    /// An empty model taking examples of `input` (e.g. `Shape::new(&[784])`
    /// or `Shape::image(1, 28, 28)`). Weights default to Glorot uniform and
    /// biases to zeros, as in Keras.
    pub fn new(input: Shape) -> Self {
        Self {
            input,
            layers: Vec::new(),
            weight_init: Init::XavierUniform,
            bias_init: Init::Zeros,
        }
    }

    /// Starts from layers already described (e.g. parsed).
    pub fn with_layers(input: Shape, layers: Vec<LayerSpec>) -> Self {
        Self {
            layers,
            ..Self::new(input)
        }
    }

    /// The layers so far.
    pub fn layers(&self) -> &[LayerSpec] {
        &self.layers
    }

    /// Appends any layer.
    pub fn layer(mut self, layer: LayerSpec) -> Self {
        self.layers.push(layer);
        self
    }

    /// A dense layer of `units`, with the current default initialisers.
    pub fn dense(self, units: usize) -> Self {
        let (weight_init, bias_init) = (self.weight_init, self.bias_init);
        self.layer(LayerSpec::Dense {
            units,
            weight_init,
            bias_init,
        })
    }

    /// A convolution of `filters` `kernel x kernel` filters, stride 1.
    pub fn conv2d(self, filters: usize, kernel: usize, padding: Padding) -> Self {
        let (weight_init, bias_init) = (self.weight_init, self.bias_init);
        self.layer(LayerSpec::Conv2d {
            filters,
            kernel,
            stride: 1,
            padding,
            weight_init,
            bias_init,
        })
    }

    /// Max pooling over `size x size` windows, stride `size`.
    pub fn max_pool(self, size: usize) -> Self {
        self.layer(LayerSpec::MaxPool { size, stride: size })
    }

    /// Flattens an image into a vector.
    pub fn flatten(self) -> Self {
        self.layer(LayerSpec::Flatten)
    }

    /// ReLU.
    pub fn relu(self) -> Self {
        self.layer(LayerSpec::Relu)
    }

    /// Sigmoid.
    pub fn sigmoid(self) -> Self {
        self.layer(LayerSpec::Sigmoid)
    }

    /// Tanh.
    pub fn tanh(self) -> Self {
        self.layer(LayerSpec::Tanh)
    }

    /// Inverted dropout of `rate` (Keras' `Dropout(rate)`).
    pub fn dropout(self, rate: f32) -> Self {
        self.layer(LayerSpec::Dropout {
            rate,
            kind: DropoutKind::Inverted,
        })
    }

    /// Batch normalisation.
    pub fn batch_norm(self) -> Self {
        self.layer(LayerSpec::BatchNorm)
    }

    /// Sets the initialisers of the last layer (which must have weights),
    /// as Keras' `kernel_initializer` and `bias_initializer`.
    pub fn init(mut self, weight: Init, bias: Init) -> Self {
        if let Some(
            LayerSpec::Dense {
                weight_init, bias_init, ..
            }
            | LayerSpec::Conv2d {
                weight_init, bias_init, ..
            },
        ) = self.layers.last_mut()
        {
            *weight_init = weight;
            *bias_init = bias;
        }
        self
    }

    /// Sets the initialisers of every weighted layer added from now on.
    pub fn default_init(mut self, weight: Init, bias: Init) -> Self {
        self.weight_init = weight;
        self.bias_init = bias;
        self
    }

    /// Draws the weights from `rng` (and the dropout layers' seeds) and
    /// builds the model, checking that each layer takes what the one before
    /// it gives.
    pub fn build<R: Rng + ?Sized>(&self, rng: &mut R) -> Result<Sequential, NnError> {
        // The plan checks every layer against its input (the same errors,
        // naming the layer) before any weight is allocated.
        let plans = crate::plan::plan(self.input.dims(), &self.layers)?;
        let mut model = Sequential::new(self.input.clone());
        for (index, layer) in self.layers.iter().enumerate() {
            let dims = match index {
                0 => self.input.dims(),
                _ => &plans[index - 1].output[..],
            };
            match layer {
                LayerSpec::Dense {
                    units,
                    weight_init,
                    bias_init,
                } => model.push(Dense::new(dims[0], *units, weight_init, bias_init, rng))?,
                LayerSpec::Conv2d {
                    filters,
                    kernel,
                    stride,
                    padding,
                    weight_init,
                    bias_init,
                } => model.push(Conv2d::new(
                    dims[2],
                    *filters,
                    *kernel,
                    *stride,
                    *padding,
                    weight_init,
                    bias_init,
                    rng,
                ))?,
                LayerSpec::MaxPool { size, stride } => model.push(MaxPool2d::new(*size, *stride, Padding::Same))?,
                LayerSpec::Flatten => model.push(Flatten)?,
                LayerSpec::Relu => model.push(Relu)?,
                LayerSpec::LeakyRelu(slope) => model.push(LeakyRelu { slope: *slope })?,
                LayerSpec::Sigmoid => model.push(Sigmoid)?,
                LayerSpec::Tanh => model.push(Tanh)?,
                LayerSpec::Dropout { rate, kind } => model.push(Dropout::new(1.0 - rate, *kind, rng.random()))?,
                LayerSpec::BatchNorm => {
                    let features = dims.last().copied().unwrap_or(0);
                    model.push(BatchNorm::new(features, 0.9, 1e-7))?
                }
            };
        }
        Ok(model)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layer_spec::parse;
    use rand::SeedableRng;

    fn rng() -> rand_xoshiro::Xoshiro256PlusPlus {
        rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(1)
    }

    #[test]
    fn the_keras_chapter_mlp_has_its_parameter_count() {
        let mut b = Builder::new(Shape::new(&[784]));
        for _ in 0..4 {
            b = b.dense(512).relu().dropout(0.3);
        }
        let model = b.dense(10).build(&mut rng()).unwrap();
        assert_eq!(model.param_count(), 1_195_018);
    }

    #[test]
    fn text_and_builder_describe_the_same_cnn() {
        let text = "conv2d(32,5,same) relu maxpool(2) conv2d(64,5,same) relu maxpool(2) flatten dense(1024) relu dropout(0.5) dense(10)";
        let parsed = parse(text, &Init::XavierUniform, &Init::Zeros).unwrap();
        let built = Builder::new(Shape::image(1, 28, 28))
            .conv2d(32, 5, Padding::Same)
            .relu()
            .max_pool(2)
            .conv2d(64, 5, Padding::Same)
            .relu()
            .max_pool(2)
            .flatten()
            .dense(1024)
            .relu()
            .dropout(0.5)
            .dense(10);
        assert_eq!(parsed, built.layers());
        let model = Builder::with_layers(Shape::image(1, 28, 28), parsed)
            .build(&mut rng())
            .unwrap();
        assert_eq!(model.param_count(), 3_274_634);
        let printed: Vec<String> = built.layers().iter().map(|l| l.to_string()).collect();
        let reparsed = parse(&printed.join(" "), &Init::XavierUniform, &Init::Zeros).unwrap();
        assert_eq!(reparsed, built.layers(), "Display writes what parse reads");
    }

    #[test]
    fn init_sets_the_last_layers_initialisers() {
        let b = Builder::new(Shape::new(&[4]))
            .dense(3)
            .init(Init::Constant(0.5), Init::Constant(0.1));
        let mut model = b.build(&mut rng()).unwrap();
        let mut values = Vec::new();
        model.visit_params(&mut |p| values.push(p.value.to_vec()));
        assert!(values[0].iter().all(|&w| w == 0.5) && values[1].iter().all(|&b| b == 0.1));
    }

    #[test]
    fn mistakes_are_errors_that_say_which_layer() {
        for (text, expected) in [
            ("dense(10) conv2d(3,3)", "layer 1 (conv2d(3,3,same,1)): takes images"),
            ("conv2d(3,3) dense(10)", "flatten first"),
            ("dense(x)", "\"x\" is not a whole number"),
            ("dense(10", "'(' without ')'"),
            ("dens(10)", "\"dens\" is not a layer"),
            ("conv2d(3,3,full)", "padding \"full\" is not same or valid"),
            ("dropout(1.5)", "rate is the fraction dropped"),
            ("dense(0)", "at least one unit"),
            ("", "no layers"),
        ] {
            let result = parse(text, &Init::XavierUniform, &Init::Zeros).and_then(|layers| {
                let input = if text.starts_with("conv") {
                    Shape::image(1, 28, 28)
                } else {
                    Shape::new(&[784])
                };
                Builder::with_layers(input, layers).build(&mut rng())
            });
            let message = result.err().map(|e| e.to_string()).unwrap_or_default();
            assert!(message.contains(expected), "{text:?}: {message:?}");
        }
    }

    /// The plan says what the builder builds: kinds, shapes and counts,
    /// layer by layer, for every kind of layer.
    #[test]
    fn the_plan_matches_the_built_model() {
        let init = Init::XavierUniform;
        for (input, text) in [
            (
                &[28, 28, 1][..],
                "conv2d(8,5,same) batchnorm relu maxpool(2) conv2d(4,3,valid,2) leakyrelu(0.1) maxpool(3,2) flatten dense(16) tanh dropout(0.3) dense(10) sigmoid",
            ),
            (&[784][..], "dense(32) batchnorm relu dropout(0.5) dense(10)"),
            (&[28, 28, 1][..], "conv2d(3,28,valid) flatten dense(10)"),
        ] {
            let layers = parse(text, &init, &Init::Zeros).unwrap();
            let planned = crate::plan::plan(input, &layers).unwrap();
            let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(0);
            let model = Builder::with_layers(Shape::new(input), layers).build(&mut rng).unwrap();
            let built = model.layer_plans();
            assert_eq!(planned, built, "{text}");
        }
    }
}
