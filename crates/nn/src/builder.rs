//! Models described the Keras way: a list of layers, each with its
//! options, built once the list is complete. The same list comes from
//! Rust (`Builder`) or from a line of text (`parse`), e.g.
//! `conv2d(32,5,same) relu maxpool(2) flatten dense(1024) relu dropout(0.5) dense(10)`.

use std::fmt;

use rand::{Rng, RngExt};
use tensor::Shape;

use crate::{
    BatchNorm, Conv2d, Dense, Dropout, DropoutKind, Flatten, Init, LeakyRelu, MaxPool2d, NnError, Padding, Relu,
    Sequential, Sigmoid, Tanh,
};

/// One layer of a description, before its weights exist.
#[derive(Clone, Debug, PartialEq)]
pub enum LayerSpec {
    /// Fully connected, `units` outputs.
    Dense {
        /// Outputs.
        units: usize,
        /// Initialiser of the weights.
        weight_init: Init,
        /// Initialiser of the biases.
        bias_init: Init,
    },
    /// Square convolution, channels-last.
    Conv2d {
        /// Output channels.
        filters: usize,
        /// Kernel side.
        kernel: usize,
        /// Step between windows.
        stride: usize,
        /// SAME or VALID, as TensorFlow.
        padding: Padding,
        /// Initialiser of the weights.
        weight_init: Init,
        /// Initialiser of the biases.
        bias_init: Init,
    },
    /// Max pooling over `size x size` windows with stride `stride`, SAME.
    MaxPool {
        /// Window side.
        size: usize,
        /// Step between windows.
        stride: usize,
    },
    /// `[h, w, c]` to `[h·w·c]`.
    Flatten,
    /// max(0, x).
    Relu,
    /// max(slope x, x).
    LeakyRelu(f32),
    /// 1 / (1 + e^-x).
    Sigmoid,
    /// tanh x.
    Tanh,
    /// Drops `rate` of the units in training.
    Dropout {
        /// Fraction dropped (Keras' rate; keep = 1 - rate).
        rate: f32,
        /// Where the scaling goes.
        kind: DropoutKind,
    },
    /// Batch normalisation over the last axis (features, or channels).
    BatchNorm,
}

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

impl fmt::Display for LayerSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let padding = |p: &Padding| match p {
            Padding::Same => "same",
            Padding::Valid => "valid",
        };
        match self {
            LayerSpec::Dense { units, .. } => write!(f, "dense({units})"),
            LayerSpec::Conv2d {
                filters,
                kernel,
                stride,
                padding: p,
                ..
            } => write!(f, "conv2d({filters},{kernel},{},{stride})", padding(p)),
            LayerSpec::MaxPool { size, stride } => write!(f, "maxpool({size},{stride})"),
            LayerSpec::Flatten => write!(f, "flatten"),
            LayerSpec::Relu => write!(f, "relu"),
            LayerSpec::LeakyRelu(slope) => write!(f, "leakyrelu({slope})"),
            LayerSpec::Sigmoid => write!(f, "sigmoid"),
            LayerSpec::Tanh => write!(f, "tanh"),
            LayerSpec::Dropout { rate, .. } => write!(f, "dropout({rate})"),
            LayerSpec::BatchNorm => write!(f, "batchnorm"),
        }
    }
}

/// Parses a line of layers separated by spaces (or commas between layers,
/// or `->`): `dense(N)`, `conv2d(FILTERS,KERNEL[,same|valid[,STRIDE]])`,
/// `maxpool(SIZE[,STRIDE])`, `flatten`, `relu`, `leakyrelu(SLOPE)`,
/// `sigmoid`, `tanh`, `dropout(RATE)`, `batchnorm`. Weighted layers take
/// `weight_init` and `bias_init`.
pub fn parse(text: &str, weight_init: &Init, bias_init: &Init) -> Result<Vec<LayerSpec>, NnError> {
    let mut layers = Vec::new();
    let mut rest = text.trim();
    while !rest.is_empty() {
        rest = rest.trim_start_matches(|c: char| c.is_whitespace() || c == ',' || c == '-' || c == '>');
        if rest.is_empty() {
            break;
        }
        let name_end = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        let name = rest[..name_end].to_ascii_lowercase();
        rest = &rest[name_end..];
        let mut args: Vec<&str> = Vec::new();
        if let Some(inner) = rest.strip_prefix('(') {
            let close = inner
                .find(')')
                .ok_or_else(|| NnError::Spec(format!("{name}: '(' without ')'")))?;
            args = inner[..close]
                .split(',')
                .map(str::trim)
                .filter(|a| !a.is_empty())
                .collect();
            rest = &inner[close + 1..];
        }
        if name.is_empty() {
            return Err(NnError::Spec(format!(
                "unexpected {:?}",
                rest.chars().next().unwrap_or(' ')
            )));
        }
        layers.push(layer(&name, &args, weight_init, bias_init)?);
    }
    if layers.is_empty() {
        return Err(NnError::Spec("no layers".into()));
    }
    Ok(layers)
}

fn layer(name: &str, args: &[&str], weight_init: &Init, bias_init: &Init) -> Result<LayerSpec, NnError> {
    let bad = |why: &str| NnError::Spec(format!("{name}({}): {why}", args.join(",")));
    let count = |min: usize, max: usize| {
        if (min..=max).contains(&args.len()) {
            Ok(())
        } else if min == max {
            Err(bad(&format!("takes {min} argument(s)")))
        } else {
            Err(bad(&format!("takes {min} to {max} arguments")))
        }
    };
    let int = |i: usize| -> Result<usize, NnError> {
        args[i]
            .parse()
            .map_err(|_| bad(&format!("{:?} is not a whole number", args[i])))
    };
    let real = |i: usize| -> Result<f32, NnError> {
        args[i]
            .parse()
            .map_err(|_| bad(&format!("{:?} is not a number", args[i])))
    };
    Ok(match name {
        "dense" => {
            count(1, 1)?;
            LayerSpec::Dense {
                units: int(0)?,
                weight_init: *weight_init,
                bias_init: *bias_init,
            }
        }
        "conv2d" | "conv" => {
            count(2, 4)?;
            let padding = match args.get(2).map(|p| p.to_ascii_lowercase()).as_deref() {
                None | Some("same") => Padding::Same,
                Some("valid") => Padding::Valid,
                Some(other) => return Err(bad(&format!("padding {other:?} is not same or valid"))),
            };
            LayerSpec::Conv2d {
                filters: int(0)?,
                kernel: int(1)?,
                stride: if args.len() > 3 { int(3)? } else { 1 },
                padding,
                weight_init: *weight_init,
                bias_init: *bias_init,
            }
        }
        "maxpool" | "max_pool" | "pool" => {
            count(1, 2)?;
            let size = int(0)?;
            LayerSpec::MaxPool {
                size,
                stride: if args.len() > 1 { int(1)? } else { size },
            }
        }
        "flatten" => {
            count(0, 0)?;
            LayerSpec::Flatten
        }
        "relu" => {
            count(0, 0)?;
            LayerSpec::Relu
        }
        "leakyrelu" | "leaky_relu" => {
            count(0, 1)?;
            LayerSpec::LeakyRelu(if args.is_empty() { 0.3 } else { real(0)? })
        }
        "sigmoid" => {
            count(0, 0)?;
            LayerSpec::Sigmoid
        }
        "tanh" => {
            count(0, 0)?;
            LayerSpec::Tanh
        }
        "dropout" => {
            count(1, 1)?;
            LayerSpec::Dropout {
                rate: real(0)?,
                kind: DropoutKind::Inverted,
            }
        }
        "batchnorm" | "batch_norm" => {
            count(0, 0)?;
            LayerSpec::BatchNorm
        }
        other => {
            return Err(NnError::Spec(format!(
                "{other:?} is not a layer: dense, conv2d, maxpool, flatten, relu, leakyrelu, sigmoid, tanh, dropout, batchnorm"
            )));
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
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
}
