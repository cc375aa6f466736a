//! What network to build: a spec that the command line, a model file's
//! metadata and the ladder's TOML all describe, and the builder.

use mnist_io::{CLASSES, IMAGE_PIXELS, IMAGE_SIDE};
use nn::{Builder, LayerSpec};
use nn::{Classifier, DropoutKind, Init, LayerPlan, Padding, Sequential};
use rand_xoshiro::Xoshiro256PlusPlus;
use serde::{Deserialize, Serialize};
use tensor::Shape;

use crate::SpecError;

/// The kinds of network there are.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "kebab-case")]
pub enum ModelKind {
    /// Softmax regression: one affine layer from 784 pixels to 10 logits.
    Softmax,
    /// A multilayer perceptron: hidden layers of the sizes in --hidden.
    Mlp,
    /// The TensorFlow tutorial's CNN: conv 5x5x32 SAME, ReLU, max-pool 2; conv
    /// 5x5x64, ReLU, max-pool 2; dense 1024, ReLU; dropout (--dropout, 0.5 by
    /// default here); dense 10. Its own initialisers: conv weights truncated
    /// N(0, 0.1) and biases 0.1, dense-1024 weights truncated N(0, 1) and bias
    /// 0.1, output weights and bias 0 (--init and --bias-init do not apply).
    Cnn,
}

/// Initialisers, by the names the tutorials' libraries give them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "kebab-case")]
pub enum InitKind {
    /// N(0, s²) with s from --init-std (TensorFlow's random_normal).
    Normal,
    /// Normal with deviation --init-std, redrawn beyond two deviations (TensorFlow's truncated_normal).
    TruncatedNormal,
    /// U(-s, s) with s from --init-std.
    Uniform,
    /// All zeros.
    Zeros,
    /// Every value equal to --init-std (TensorFlow's `tf.constant(0.1)` biases
    /// with --init-std 0.1).
    Constant,
    /// Glorot/Xavier uniform: U(-a, a), a = sqrt(6 / (fan_in + fan_out)).
    Xavier,
    /// Glorot/Xavier normal, truncated (Keras' glorot_normal).
    XavierNormal,
    /// He normal, truncated, std sqrt(2 / fan_in) after truncation (Keras' he_normal).
    He,
    /// He normal, not truncated: N(0, 2 / fan_in) (PyTorch's kaiming_normal_).
    HeNormal,
    /// He uniform: U(-a, a), a = sqrt(6 / fan_in).
    HeUniform,
    /// LeCun normal, truncated (Keras' lecun_normal).
    Lecun,
}

impl InitKind {
    /// The initialiser, with `scale` as the deviation of the normal ones
    /// and the bound of the uniform one.
    pub fn init(self, scale: f32) -> Init {
        match self {
            InitKind::Normal => Init::Normal { mean: 0.0, std: scale },
            InitKind::TruncatedNormal => Init::TruncatedNormal { mean: 0.0, std: scale },
            InitKind::Uniform => Init::Uniform {
                low: -scale,
                high: scale,
            },
            InitKind::Zeros => Init::Zeros,
            InitKind::Constant => Init::Constant(scale),
            InitKind::Xavier => Init::XavierUniform,
            InitKind::XavierNormal => Init::XavierNormal,
            InitKind::He => Init::HeTruncated,
            InitKind::HeNormal => Init::HeNormal,
            InitKind::HeUniform => Init::HeUniform,
            InitKind::Lecun => Init::LeCunNormal,
        }
    }
}

/// Where dropout scales.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "kebab-case")]
pub enum DropoutKindArg {
    /// Kept units times 1/keep in training; identity at test time.
    Inverted,
    /// Kept units unscaled in training; times keep at test time.
    ScaledAtTest,
}

/// The non-linearity of an MLP's hidden layers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "kebab-case")]
pub enum ActivationKind {
    /// max(0, x).
    Relu,
    /// 1 / (1 + e^-x).
    Sigmoid,
}

/// The output layer and its loss.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "kebab-case")]
pub enum OutputKind {
    /// One logit per class, softmax cross-entropy.
    Softmax,
    /// One logit for class 1 against class 0, sigmoid binary cross-entropy
    /// (two classes only: the XOR experiments).
    Sigmoid,
}

/// The network: shared by `mnist train` and `mnist summary`, saved with a
/// model, and a rung's model in the ladder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::Args))]
#[serde(default, deny_unknown_fields)]
pub struct ModelSpec {
    /// The network.
    #[cfg_attr(feature = "clap", arg(long, value_enum, default_value = "mlp"))]
    pub model: ModelKind,
    /// Sizes of the hidden layers of the MLP, comma-separated.
    #[cfg_attr(feature = "clap", arg(long, value_delimiter = ',', default_value = "256,256"))]
    pub hidden: Vec<usize>,
    /// Non-linearity of the MLP's hidden layers.
    #[cfg_attr(feature = "clap", arg(long, value_enum, default_value = "relu"))]
    pub activation: ActivationKind,
    /// Output layer and loss.
    #[cfg_attr(feature = "clap", arg(long, value_enum, default_value = "softmax"))]
    pub output: OutputKind,
    /// Layers, as text, instead of --model: e.g. "conv2d(32,5,same) relu
    /// maxpool(2) flatten dense(128) relu dropout(0.2) dense(10)". Layers:
    /// dense(UNITS), conv2d(FILTERS,KERNEL,PADDING,STRIDE) with padding
    /// same or valid (default same) and stride 1 by default,
    /// maxpool(SIZE,STRIDE) with stride SIZE by default, flatten, relu,
    /// leakyrelu(SLOPE), sigmoid, tanh, dropout(RATE), batchnorm. Images go
    /// in as 28x28x1 when the first layer is a convolution, else as 784
    /// pixels.
    #[cfg_attr(feature = "clap", arg(long))]
    pub arch: Option<String>,
    /// Initialiser of the weights [default: normal (the TensorFlow
    /// tutorial's); xavier (Keras') with --arch].
    #[cfg_attr(feature = "clap", arg(long, value_enum))]
    pub init: Option<InitKind>,
    /// Initialiser of the biases [default: normal (the TensorFlow tutorial
    /// draws them from N(0, 1) too); zeros with --arch].
    #[cfg_attr(feature = "clap", arg(long, value_enum))]
    pub bias_init: Option<InitKind>,
    /// Standard deviation of the normal and truncated-normal initialisers
    /// (the tutorials' tf.random_normal uses 1), bound of the uniform one.
    #[cfg_attr(feature = "clap", arg(long, default_value_t = 1.0))]
    pub init_std: f32,
    /// Fraction of hidden units dropped in training, after each hidden layer
    /// (Keras' rate; TensorFlow's keep_prob 0.7 is --dropout 0.3). 0: no dropout.
    #[cfg_attr(feature = "clap", arg(long, default_value_t = 0.0))]
    pub dropout: f32,
    /// Scale kept units by 1/keep in training (inverted, as TensorFlow and
    /// Keras) or scale by keep at test time (the original paper and the NumPy course).
    #[cfg_attr(feature = "clap", arg(long, value_enum, default_value = "inverted"))]
    pub dropout_kind: DropoutKindArg,
    /// Batch normalisation after each hidden affine layer, before its activation.
    #[cfg_attr(feature = "clap", arg(long))]
    pub batch_norm: bool,
}

impl Default for ModelSpec {
    fn default() -> Self {
        Self {
            model: ModelKind::Mlp,
            hidden: vec![256, 256],
            activation: ActivationKind::Relu,
            output: OutputKind::Softmax,
            arch: None,
            init: None,
            bias_init: None,
            init_std: 1.0,
            dropout: 0.0,
            dropout_kind: DropoutKindArg::Inverted,
            batch_norm: false,
        }
    }
}

impl ModelSpec {
    /// Checks what the types cannot: ranges of the numbers, sizes.
    pub fn validate(&self) -> Result<(), SpecError> {
        if !(0.0..1.0).contains(&self.dropout) {
            return Err(SpecError(format!(
                "dropout is the fraction of units dropped, in [0, 1), got {}",
                self.dropout
            )));
        }
        if !(self.init_std.is_finite() && self.init_std >= 0.0) {
            return Err(SpecError(format!(
                "init-std must be a non-negative number, got {}",
                self.init_std
            )));
        }
        if self.hidden.contains(&0) {
            return Err(SpecError("hidden: a layer needs at least one unit".into()));
        }
        if self.model != ModelKind::Mlp && self.output != OutputKind::Softmax {
            return Err(SpecError("a sigmoid output needs --model mlp".into()));
        }
        Ok(())
    }

    /// Builds the MNIST network the spec describes, drawing its initial
    /// weights (and its dropout layers' seeds) from `rng`. A network whose
    /// parameters and gradients would not fit in this machine's free memory
    /// is refused before anything is allocated ([`ModelSpec::plan`] counts
    /// them).
    pub fn build(&self, rng: &mut Xoshiro256PlusPlus) -> Result<Sequential, SpecError> {
        let (input, layers) = self.layers()?;
        build_checked(input, layers, rng)
    }

    /// The network wrapped with the head its output asks for.
    pub fn classifier(&self, rng: &mut Xoshiro256PlusPlus) -> Result<Classifier, SpecError> {
        Ok(self.head(self.build(rng)?))
    }

    /// An MLP (or softmax regression) on `inputs` values into `classes`
    /// classes, with its head: the XOR rungs use 2 inputs and 2 classes.
    pub fn classifier_for(
        &self,
        inputs: usize,
        classes: usize,
        rng: &mut Xoshiro256PlusPlus,
    ) -> Result<Classifier, SpecError> {
        self.validate()?;
        if self.model == ModelKind::Cnn || self.arch.is_some() {
            return Err(SpecError("the CNN and --arch take MNIST images only".into()));
        }
        let layers = self.mlp_layers(classes)?;
        Ok(self.head(build_checked(Shape::new(&[inputs]), layers, rng)?))
    }

    /// Each layer of the MNIST network with its output shape and parameter
    /// counts, worked out without building it: what `mnist summary` prints,
    /// for a network of any size.
    pub fn plan(&self) -> Result<Vec<LayerPlan>, SpecError> {
        let (input, layers) = self.layers()?;
        Ok(nn::plan::plan(input.dims(), &layers)?)
    }

    /// The MNIST network as a description: its input shape and layers.
    pub fn layers(&self) -> Result<(Shape, Vec<LayerSpec>), SpecError> {
        self.validate()?;
        if let Some(text) = &self.arch {
            return self.arch_layers(text);
        }
        match self.model {
            ModelKind::Cnn => Ok((Shape::new(&[IMAGE_SIDE, IMAGE_SIDE, 1]), self.cnn_layers())),
            ModelKind::Softmax | ModelKind::Mlp => Ok((Shape::new(&[IMAGE_PIXELS]), self.mlp_layers(CLASSES)?)),
        }
    }

    /// The initialisers of weights and biases: the flags, else the
    /// defaults of the tutorial (N(0, 1) both) or, with --arch, Keras'.
    fn inits(&self) -> (Init, Init) {
        let (weight, bias) = match self.arch {
            Some(_) => (InitKind::Xavier, InitKind::Zeros),
            None => (InitKind::Normal, InitKind::Normal),
        };
        (
            self.init.unwrap_or(weight).init(self.init_std),
            self.bias_init.unwrap_or(bias).init(self.init_std),
        )
    }

    /// A network from `--arch` text.
    fn arch_layers(&self, text: &str) -> Result<(Shape, Vec<LayerSpec>), SpecError> {
        let (weight_init, bias_init) = self.inits();
        let layers = nn::layer_spec::parse(text, &weight_init, &bias_init)?;
        let input = match layers.first() {
            Some(LayerSpec::Conv2d { .. }) => Shape::image(1, IMAGE_SIDE, IMAGE_SIDE),
            _ => Shape::new(&[IMAGE_PIXELS]),
        };
        let plan = nn::plan::plan(input.dims(), &layers)?;
        let outputs: usize = plan.last().map_or(IMAGE_PIXELS, |l| l.output.iter().product());
        if outputs != CLASSES {
            return Err(SpecError(format!(
                "--arch: the last layer gives {outputs} outputs; MNIST needs {CLASSES} (end with dense(10))"
            )));
        }
        Ok((input, layers))
    }

    fn head(&self, model: Sequential) -> Classifier {
        match self.output {
            OutputKind::Softmax => Classifier::new(model),
            OutputKind::Sigmoid => Classifier::binary(model),
        }
    }

    fn dropout_kind(&self) -> DropoutKind {
        match self.dropout_kind {
            DropoutKindArg::Inverted => DropoutKind::Inverted,
            DropoutKindArg::ScaledAtTest => DropoutKind::ScaledAtTest,
        }
    }

    /// The MLP's layers (softmax regression's one) into `classes` classes.
    fn mlp_layers(&self, classes: usize) -> Result<Vec<LayerSpec>, SpecError> {
        let outputs = match self.output {
            OutputKind::Softmax => classes,
            OutputKind::Sigmoid if classes == 2 => 1,
            OutputKind::Sigmoid => {
                return Err(SpecError(format!(
                    "a sigmoid output tells two classes apart, not {classes}"
                )));
            }
        };
        let (weight_init, bias_init) = self.inits();
        let dense = |units: usize| LayerSpec::Dense {
            units,
            weight_init,
            bias_init,
        };
        let hidden: &[usize] = match self.model {
            ModelKind::Softmax => &[],
            ModelKind::Mlp | ModelKind::Cnn => &self.hidden,
        };
        let mut layers = Vec::new();
        for &h in hidden {
            layers.push(dense(h));
            if self.batch_norm {
                layers.push(LayerSpec::BatchNorm);
            }
            layers.push(match self.activation {
                ActivationKind::Relu => LayerSpec::Relu,
                ActivationKind::Sigmoid => LayerSpec::Sigmoid,
            });
            if self.dropout > 0.0 {
                layers.push(LayerSpec::Dropout {
                    rate: self.dropout,
                    kind: self.dropout_kind(),
                });
            }
        }
        layers.push(dense(outputs));
        Ok(layers)
    }

    /// The TensorFlow tutorial's CNN (LADDER.md, section F).
    fn cnn_layers(&self) -> Vec<LayerSpec> {
        let conv_w = Init::TruncatedNormal { mean: 0.0, std: 0.1 };
        let dense_w = Init::TruncatedNormal { mean: 0.0, std: 1.0 };
        let bias = Init::Constant(0.1);
        let rate = if self.dropout > 0.0 { self.dropout } else { 0.5 };
        let conv = |filters: usize| LayerSpec::Conv2d {
            filters,
            kernel: 5,
            stride: 1,
            padding: Padding::Same,
            weight_init: conv_w,
            bias_init: bias,
        };
        let pool = LayerSpec::MaxPool { size: 2, stride: 2 };
        // --batch-norm: over the channels after each convolution, and over the
        // features after the hidden dense layer, before each ReLU.
        let norm = || self.batch_norm.then_some(LayerSpec::BatchNorm);
        [Some(conv(32)), norm(), Some(LayerSpec::Relu), Some(pool.clone())]
            .into_iter()
            .chain([
                Some(conv(64)),
                norm(),
                Some(LayerSpec::Relu),
                Some(pool),
                Some(LayerSpec::Flatten),
            ])
            .chain([
                Some(LayerSpec::Dense {
                    units: 1024,
                    weight_init: dense_w,
                    bias_init: bias,
                }),
                norm(),
                Some(LayerSpec::Relu),
                Some(LayerSpec::Dropout {
                    rate,
                    kind: self.dropout_kind(),
                }),
                Some(LayerSpec::Dense {
                    units: CLASSES,
                    weight_init: Init::Zeros,
                    bias_init: Init::Zeros,
                }),
            ])
            .flatten()
            .collect()
    }
}

/// Builds `layers` on inputs of shape `input`, once their plan shows that
/// the parameters and their gradients fit in this machine's free memory.
fn build_checked(input: Shape, layers: Vec<LayerSpec>, rng: &mut Xoshiro256PlusPlus) -> Result<Sequential, SpecError> {
    let plan = nn::plan::plan(input.dims(), &layers)?;
    crate::memory::check_fits(
        &plan,
        &crate::memory::Needs::default(),
        crate::memory::available_memory(),
    )?;
    Ok(Builder::with_layers(input, layers).build(rng)?)
}
